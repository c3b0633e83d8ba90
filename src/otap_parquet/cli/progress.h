// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>

#include <arrow/result.h>

/// \file
/// Progress of long CLI work (convert, repair, inspect --check, compact): one status
/// line on stderr, redrawn in place with '\r' at most every 200 ms, showing items,
/// bytes, rate and ETA. No library: Debian packages none for C++ (docs/cli.md).

namespace otap_parquet::cli {

/// --progress: auto = only when stderr is a terminal.
enum class ProgressMode { kAuto, kAlways, kNever };

/// \brief "auto", "always" or "never"; Invalid naming --progress otherwise.
arrow::Result<ProgressMode> ParseProgressMode(std::string_view text);

/// \brief The status line of one piece of work. Thread-safe. Draws nothing when
/// disabled; Finish (or the destructor) draws the last state and ends the line.
class ProgressReporter {
 public:
  using Clock = std::chrono::steady_clock;

  /// \param label what is being done ("convert", "check")
  /// \param unit what items are ("records", "files")
  /// \param out where to draw; std::cerr unless a test passes its own
  /// \param is_terminal whether `out` is a terminal (kAuto); default: isatty(2)
  ProgressReporter(ProgressMode mode, std::string label, std::string unit,
                   std::ostream* out = nullptr, int is_terminal = -1);
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  bool enabled() const { return enabled_; }

  /// \brief Totals, once known (0 = unknown: no ETA by that measure).
  void SetTotal(int64_t items, int64_t bytes);
  /// \brief Work done since the last call.
  void Add(int64_t items, int64_t bytes);
  /// \brief Draws the final state and a newline (once).
  void Finish();

  /// \brief Callbacks for code below the CLI (dataset/repair.h): (items, bytes).
  std::function<void(int64_t, int64_t)> TotalCallback();
  std::function<void(int64_t, int64_t)> AddCallback();

  /// \brief The line for these numbers, e.g. "check: 12/40 files, 1.2 MiB/5.0 MiB,
  /// 3.1 MiB/s, ETA 4s".
  static std::string Line(std::string_view label, std::string_view unit, int64_t items,
                          int64_t total_items, int64_t bytes, int64_t total_bytes,
                          double seconds);

 private:
  void DrawLocked(bool final);

  const bool enabled_;
  const std::string label_, unit_;
  std::ostream* out_;
  std::mutex mutex_;
  const Clock::time_point start_ = Clock::now();
  Clock::time_point last_draw_{};
  int64_t items_ = 0, total_items_ = 0, bytes_ = 0, total_bytes_ = 0;
  size_t last_width_ = 0;
  bool finished_ = false;
};

}  // namespace otap_parquet::cli
