// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cli/progress.h"

#include <unistd.h>

#include <cmath>
#include <iostream>

#include <fmt/format.h>

namespace otap_parquet::cli {

namespace {

// Redraws at most this often: a status line, not a log.
constexpr auto kRedrawInterval = std::chrono::milliseconds(200);

std::string Bytes(double bytes) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} B", bytes)
                   : fmt::format("{:.1f} {}", bytes, kUnits[unit]);
}

std::string Duration(double seconds) {
  if (seconds < 10) return fmt::format("{:.1f}s", seconds);
  const auto s = static_cast<int64_t>(std::ceil(seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

}  // namespace

arrow::Result<ProgressMode> ParseProgressMode(std::string_view text) {
  if (text == "auto") return ProgressMode::kAuto;
  if (text == "always") return ProgressMode::kAlways;
  if (text == "never") return ProgressMode::kNever;
  return arrow::Status::Invalid("--progress: expected auto, always or never, got '", text,
                                "'");
}

ProgressReporter::ProgressReporter(ProgressMode mode, std::string label, std::string unit,
                                   std::ostream* out, int is_terminal)
    : enabled_(mode == ProgressMode::kAlways ||
               (mode == ProgressMode::kAuto &&
                (is_terminal >= 0 ? is_terminal != 0 : ::isatty(STDERR_FILENO) != 0))),
      label_(std::move(label)),
      unit_(std::move(unit)),
      out_(out != nullptr ? out : &std::cerr) {}

ProgressReporter::~ProgressReporter() { Finish(); }

void ProgressReporter::SetTotal(int64_t items, int64_t bytes) {
  if (!enabled_) return;
  std::lock_guard lock(mutex_);
  total_items_ = items;
  total_bytes_ = bytes;
  DrawLocked(false);
}

void ProgressReporter::Add(int64_t items, int64_t bytes) {
  if (!enabled_) return;
  std::lock_guard lock(mutex_);
  items_ += items;
  bytes_ += bytes;
  DrawLocked(false);
}

void ProgressReporter::Finish() {
  if (!enabled_) return;
  std::lock_guard lock(mutex_);
  if (finished_) return;
  DrawLocked(true);
  finished_ = true;
}

std::function<void(int64_t, int64_t)> ProgressReporter::TotalCallback() {
  if (!enabled_) return {};
  return [this](int64_t items, int64_t bytes) { SetTotal(items, bytes); };
}

std::function<void(int64_t, int64_t)> ProgressReporter::AddCallback() {
  if (!enabled_) return {};
  return [this](int64_t items, int64_t bytes) { Add(items, bytes); };
}

std::string ProgressReporter::Line(std::string_view label, std::string_view unit,
                                   int64_t items, int64_t total_items, int64_t bytes,
                                   int64_t total_bytes, double seconds) {
  std::string line = fmt::format("{}: {}", label, items);
  if (total_items > 0) line += fmt::format("/{}", total_items);
  line += fmt::format(" {}", unit);
  if (bytes > 0 || total_bytes > 0) {
    line += ", " + Bytes(static_cast<double>(bytes));
    if (total_bytes > 0) line += "/" + Bytes(static_cast<double>(total_bytes));
  }
  if (seconds > 0) {
    line += bytes > 0 ? fmt::format(", {}/s", Bytes(bytes / seconds))
                      : fmt::format(", {:.0f} {}/s", items / seconds, unit);
  }
  // ETA by bytes when both totals are known (items differ in size), else by items.
  double fraction = -1;
  if (total_bytes > 0 && bytes > 0) {
    fraction = static_cast<double>(bytes) / static_cast<double>(total_bytes);
  } else if (total_items > 0 && items > 0) {
    fraction = static_cast<double>(items) / static_cast<double>(total_items);
  }
  if (fraction > 0 && fraction < 1 && seconds > 0) {
    line += ", ETA " + Duration(seconds / fraction - seconds);
  } else if (fraction >= 1) {
    line += fmt::format(", done in {}", Duration(seconds));
  }
  return line;
}

void ProgressReporter::DrawLocked(bool final) {
  const auto now = Clock::now();
  if (!final && now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  std::string line =
      Line(label_, unit_, items_, total_items_, bytes_, total_bytes_, seconds);
  const size_t width = line.size();
  // Blank out the rest of a longer previous line.
  if (width < last_width_) line.append(last_width_ - width, ' ');
  last_width_ = width;
  *out_ << '\r' << line << (final ? "\n" : "") << std::flush;
}

}  // namespace otap_parquet::cli
