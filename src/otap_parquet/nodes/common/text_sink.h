// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <arrow/result.h>

/// \file
/// Line output shared by the debug processor and the console exporter: stdout (one
/// process-wide lock, so lines of several pipeline instances never interleave) or
/// a file.

namespace otap_parquet::nodes {

class TextSink {
 public:
  /// \brief Stdout when `path` is empty, else the file (appended to).
  static arrow::Result<std::shared_ptr<TextSink>> Open(const std::string& path);

  /// \brief Writes `text` and a newline, atomically with respect to other lines.
  void WriteLine(std::string_view text);

 private:
  TextSink() = default;
  std::mutex* mutex_ = nullptr;
  std::mutex own_mutex_;
  std::ofstream file_;
  bool stdout_ = true;
};

}  // namespace otap_parquet::nodes
