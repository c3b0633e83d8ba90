// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/fsync.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace otap_parquet::util {

arrow::Status FsyncPath(const std::string& path, bool directory) {
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
