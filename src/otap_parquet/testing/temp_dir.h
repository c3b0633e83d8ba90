// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace otap_parquet::testing {

/// \brief A fresh directory under the system's temp directory, removed with its
/// contents on destruction. `prefix` names the test in the path.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "otap_test") {
    static int counter = 0;
    path_ =
        (std::filesystem::temp_directory_path() /
         (prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter)))
            .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace otap_parquet::testing
