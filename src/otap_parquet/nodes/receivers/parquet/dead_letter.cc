// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/parquet/dead_letter.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <string_view>

#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/otlp_json.h"

namespace otap_parquet::nodes {

arrow::Result<std::shared_ptr<DeadLetterFile>> DeadLetterFile::Open(
    const std::string& path) {
  static std::mutex registry_mutex;
  static std::map<std::string, std::weak_ptr<DeadLetterFile>> registry;
  std::lock_guard<std::mutex> lock(registry_mutex);
  const auto dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);  // open reports
  // One instance per file, however the path is spelled: two would cut each other's
  // lines (a failed append truncates to where it started).
  std::string key = std::filesystem::weakly_canonical(path, ec).string();
  if (ec || key.empty()) key = path;
  if (auto existing = registry[key].lock()) return existing;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return arrow::Status::IOError("cannot open dead letter file ", path, ": ",
                                  std::strerror(errno));
  }
  // Another process (another engine) appending to the same file could interleave
  // with our lines and lose its own to our truncation after a failed append: the
  // file is locked for as long as it is open. Devices and pipes are not files one
  // truncates (nor share with a lock: /dev/full, /dev/stdout).
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return arrow::Status::IOError(
          "dead letter file ", path,
          " is in use by another process (locked); give each engine its own "
          "dead_letter.path");
    }
    return arrow::Status::IOError("cannot lock dead letter file ", path, ": ",
                                  std::strerror(err));
  }
  auto file = std::shared_ptr<DeadLetterFile>(new DeadLetterFile(path, fd));
  registry[key] = file;
  return file;
}

DeadLetterFile::~DeadLetterFile() {
  if (fd_ >= 0) ::close(fd_);
}

arrow::Status DeadLetterFile::Append(const OtapBatch& batch) {
  auto request = otlp::FromOtap(batch);
  if (!request.ok()) {
    return request.status().WithMessage(
        "dead letter ", path_,
        ": cannot convert the batch to OTLP: ", request.status().message());
  }
  auto json = otlp::ToOtlpJson(*request);
  if (!json.ok()) {
    return json.status().WithMessage("dead letter ", path_, ": ",
                                     json.status().message());
  }
  json->push_back('\n');
  std::lock_guard<std::mutex> lock(mutex_);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    return arrow::Status::IOError("dead letter ", path_, ": ", std::strerror(errno));
  }
  std::string_view rest(*json);
  int err = 0;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (err == 0 && ::fdatasync(fd_) != 0) err = errno;
  if (err != 0) {
    // No partial line: later appends start on a line of their own.
    (void)::ftruncate(fd_, st.st_size);
    return arrow::Status::IOError("writing dead letter file ", path_, ": ",
                                  std::strerror(err));
  }
  return arrow::Status::OK();
}

}  // namespace otap_parquet::nodes
