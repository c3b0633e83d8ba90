// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/parquet/watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <vector>

namespace otap_parquet::nodes {

namespace {

// Files appear by rename (our writers: `.part-….tmp` → `part-….parquet`) or, from
// other writers, by a write that closes; directories by creation or rename.
constexpr uint32_t kMask = IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE;

bool IsPublishedName(std::string_view name) {
  return !name.empty() && name.front() != '.' && name.ends_with(".parquet");
}

}  // namespace

arrow::Result<std::unique_ptr<DatasetWatcher>> DatasetWatcher::Open(
    const std::string& root) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    return arrow::Status::IOError("inotify_init1: ", std::strerror(errno));
  }
  std::unique_ptr<DatasetWatcher> watcher(new DatasetWatcher(fd));
  ARROW_RETURN_NOT_OK(watcher->AddTree(root));
  return watcher;
}

DatasetWatcher::~DatasetWatcher() {
  if (fd_ >= 0) ::close(fd_);
}

arrow::Status DatasetWatcher::AddTree(const std::string& dir) {
  std::vector<std::string> pending = {dir};
  while (!pending.empty()) {
    const std::string path = std::move(pending.back());
    pending.pop_back();
    // Watch first, then list: a directory created in between is seen either way.
    const int wd = ::inotify_add_watch(fd_, path.c_str(), kMask | IN_ONLYDIR);
    if (wd < 0) {
      // A subdirectory removed in between is no error; a missing root is.
      if ((errno == ENOENT || errno == ENOTDIR) && path != dir) continue;
      return arrow::Status::IOError(
          "inotify_add_watch ", path, ": ", std::strerror(errno),
          errno == ENOSPC ? " (fs.inotify.max_user_watches reached)" : "");
    }
    paths_[wd] = path;
    std::error_code error;
    for (std::filesystem::directory_iterator it(path, error), end; !error && it != end;
         it.increment(error)) {
      if (it->is_directory(error) && !it->is_symlink(error)) {
        pending.push_back(it->path().string());
      }
    }
  }
  return arrow::Status::OK();
}

arrow::Result<bool> DatasetWatcher::Changed() {
  bool changed = false;
  alignas(inotify_event) char buffer[64 * 1024];
  while (true) {
    const ssize_t n = ::read(fd_, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      return arrow::Status::IOError("reading inotify events: ", std::strerror(errno));
    }
    if (n == 0) break;
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if (event->mask & IN_Q_OVERFLOW) {
        changed = true;  // events were lost: a pass rediscovers everything
        continue;
      }
      if (event->mask & IN_IGNORED) {
        paths_.erase(event->wd);  // the directory was removed
        continue;
      }
      const std::string_view name = event->len > 0 ? event->name : "";
      if (event->mask & IN_ISDIR) {
        if (event->mask & (IN_CREATE | IN_MOVED_TO)) {
          auto dir = paths_.find(event->wd);
          if (dir != paths_.end()) {
            ARROW_RETURN_NOT_OK(AddTree(dir->second + "/" + std::string(name)));
          }
          changed = true;  // files may have been published before the watch
        }
        continue;
      }
      if ((event->mask & (IN_MOVED_TO | IN_CLOSE_WRITE)) && IsPublishedName(name)) {
        changed = true;
      }
    }
  }
  return changed;
}

}  // namespace otap_parquet::nodes
