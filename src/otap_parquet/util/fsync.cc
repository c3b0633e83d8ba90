// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/fsync.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

namespace otap_parquet::util {

namespace {

std::mutex hook_mu;
std::function<arrow::Status(const std::string&, bool)>& Hook() {
  static std::function<arrow::Status(const std::string&, bool)> hook;
  return hook;
}

}  // namespace

void SetFsyncHookForTesting(
    std::function<arrow::Status(const std::string& path, bool directory)> hook) {
  std::lock_guard<std::mutex> lock(hook_mu);
  Hook() = std::move(hook);
}

arrow::Status FsyncPath(const std::string& path, bool directory) {
  {
    std::lock_guard<std::mutex> lock(hook_mu);
    if (Hook()) return Hook()(path, directory);
  }
  const int fd =
      ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) {
    return arrow::Status::IOError("cannot open '", path,
                                  "' for fsync: ", std::strerror(errno));
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return arrow::Status::IOError("fsync '", path, "': ", std::strerror(err));
  return arrow::Status::OK();
}

}  // namespace otap_parquet::util
