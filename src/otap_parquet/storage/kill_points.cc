// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/storage/kill_points.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <utility>

#include <arrow/io/interfaces.h>

#include "otap_parquet/storage/forwarding_file_system.h"

namespace otap_parquet::dataset {

namespace {

using arrow::Result;
using arrow::Status;

struct Settings {
  int64_t kill_at = 0;  // 0: never
  const char* log = nullptr;
  bool enabled() const { return kill_at > 0 || log != nullptr; }
};

const Settings& GetSettings() {
  static const Settings settings = [] {
    Settings s;
    if (const char* at = std::getenv("OTAP_PARQUET_TEST_KILL_AT_EVENT")) {
      std::from_chars(at, at + std::strlen(at), s.kill_at);
    }
    s.log = std::getenv("OTAP_PARQUET_TEST_EVENT_LOG");
    return s;
  }();
  return settings;
}

// Counts Close (the end of a write: on object stores the moment the object
// appears) as an event of its own.
class EventOutputStream : public ForwardingOutputStream {
 public:
  EventOutputStream(std::shared_ptr<arrow::io::OutputStream> base, std::string path)
      : ForwardingOutputStream(std::move(base)), path_(std::move(path)) {}
  Status Close() override {
    if (!closed()) StorageEvent("close", path_);
    return ForwardingOutputStream::Close();
  }

 private:
  std::string path_;
};

// Every change is a StorageEvent() before it is made; the rest is forwarded.
class EventFileSystem : public ForwardingFileSystem {
 public:
  using ForwardingFileSystem::CreateDir;
  using ForwardingFileSystem::DeleteDirContents;
  using ForwardingFileSystem::ForwardingFileSystem;
  using ForwardingFileSystem::OpenAppendStream;
  using ForwardingFileSystem::OpenOutputStream;

  Status CreateDir(const std::string& path, bool recursive) override {
    StorageEvent("mkdir", path);
    return ForwardingFileSystem::CreateDir(path, recursive);
  }
  Status DeleteDir(const std::string& path) override {
    StorageEvent("rmdir", path);
    return ForwardingFileSystem::DeleteDir(path);
  }
  Status DeleteDirContents(const std::string& path, bool missing_dir_ok) override {
    StorageEvent("rmdir-contents", path);
    return ForwardingFileSystem::DeleteDirContents(path, missing_dir_ok);
  }
  Status DeleteRootDirContents() override {
    StorageEvent("rmdir-contents", "/");
    return ForwardingFileSystem::DeleteRootDirContents();
  }
  Status DeleteFile(const std::string& path) override {
    StorageEvent("delete", path);
    return ForwardingFileSystem::DeleteFile(path);
  }
  Status Move(const std::string& src, const std::string& dest) override {
    StorageEvent("move", dest);
    return ForwardingFileSystem::Move(src, dest);
  }
  Status CopyFile(const std::string& src, const std::string& dest) override {
    StorageEvent("copy", dest);
    return ForwardingFileSystem::CopyFile(src, dest);
  }
  Result<std::shared_ptr<arrow::io::OutputStream>> OpenOutputStream(
      const std::string& path,
      const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) override {
    StorageEvent("open", path);
    ARROW_ASSIGN_OR_RAISE(auto stream,
                          ForwardingFileSystem::OpenOutputStream(path, metadata));
    return std::make_shared<EventOutputStream>(std::move(stream), path);
  }
  Result<std::shared_ptr<arrow::io::OutputStream>> OpenAppendStream(
      const std::string& path,
      const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) override {
    StorageEvent("open", path);
    ARROW_ASSIGN_OR_RAISE(auto stream,
                          ForwardingFileSystem::OpenAppendStream(path, metadata));
    return std::make_shared<EventOutputStream>(std::move(stream), path);
  }
};

}  // namespace

void StorageEvent(std::string_view what, std::string_view path) {
  const Settings& settings = GetSettings();
  if (!settings.enabled()) return;
  static std::mutex mutex;
  static int64_t count = 0;
  std::lock_guard lock(mutex);
  ++count;
  if (settings.log != nullptr) {
    std::ofstream(settings.log, std::ios::app)
        << count << ' ' << what << ' ' << path << '\n';
  }
  if (count == settings.kill_at) ::kill(::getpid(), SIGKILL);
}

std::shared_ptr<arrow::fs::FileSystem> WithStorageEvents(
    std::shared_ptr<arrow::fs::FileSystem> fs) {
  if (!GetSettings().enabled() || fs == nullptr) return fs;
  return std::make_shared<EventFileSystem>(std::move(fs));
}

}  // namespace otap_parquet::dataset
