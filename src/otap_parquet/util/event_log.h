// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <spdlog/logger.h>
#include <spdlog/spdlog.h>

/// \file
/// How dataset code reports what it skipped, retried or dropped without knowing who
/// runs it: the caller injects an EventLog whose scope prefixes every event name.

namespace otap_parquet::util {

/// \brief A logger and the scope of its events. A node passes its own logger and
/// scope ("receiver.parquet" makes `file.drop` log as `receiver.parquet.file.drop`);
/// the default logs through spdlog's default logger under "dataset" (CLI tools,
/// tests). Cheap to copy.
class EventLog {
 public:
  /// \brief spdlog's default logger (looked up at each event), scope "dataset".
  EventLog() = default;
  /// \brief `logger` (null: spdlog's default), events named `<scope>.<event>`.
  EventLog(std::shared_ptr<spdlog::logger> logger, std::string scope)
      : logger_(std::move(logger)), scope_(std::move(scope)) {}
  /// \brief Discards every event.
  static EventLog Null() {
    EventLog log;
    log.null_ = true;
    return log;
  }

  const std::string& scope() const { return scope_; }

  /// \brief Logs `<scope>.<event> <fields>`; the fields are formatted only when the
  /// level is enabled.
  template <typename... Args>
  void Log(spdlog::level::level_enum level, std::string_view event,
           fmt::format_string<Args...> fields, Args&&... args) const {
    if (null_) return;
    spdlog::logger& logger = logger_ ? *logger_ : *spdlog::default_logger_raw();
    if (!logger.should_log(level)) return;
    logger.log(level, "{}.{} {}", scope_, event,
               fmt::format(fields, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void Debug(std::string_view event, fmt::format_string<Args...> fields,
             Args&&... args) const {
    Log(spdlog::level::debug, event, fields, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void Info(std::string_view event, fmt::format_string<Args...> fields,
            Args&&... args) const {
    Log(spdlog::level::info, event, fields, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void Warn(std::string_view event, fmt::format_string<Args...> fields,
            Args&&... args) const {
    Log(spdlog::level::warn, event, fields, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void Error(std::string_view event, fmt::format_string<Args...> fields,
             Args&&... args) const {
    Log(spdlog::level::err, event, fields, std::forward<Args>(args)...);
  }

 private:
  std::shared_ptr<spdlog::logger> logger_;
  std::string scope_ = "dataset";
  bool null_ = false;
};

}  // namespace otap_parquet::util
