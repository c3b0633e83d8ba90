// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

/// \file
/// Keeps protobuf's own log lines (e.g. "String field ... contains invalid UTF-8
/// data") off stderr and hands them to the caller instead. Not public API.

namespace otap_parquet::otlp::internal {

/// \brief While alive, protobuf log messages emitted on this thread are collected
/// here instead of being printed.
///
/// The first construction installs, once per process, a protobuf log handler that
/// routes messages to the innermost live capture of the logging thread and forwards
/// all other messages to the handler that was installed before it. Captures nest.
/// Not copyable; use on one thread.
class ProtobufLogCapture {
 public:
  ProtobufLogCapture();
  ~ProtobufLogCapture();
  ProtobufLogCapture(const ProtobufLogCapture&) = delete;
  ProtobufLogCapture& operator=(const ProtobufLogCapture&) = delete;

  /// \brief The captured messages, "; "-separated, trailing whitespace trimmed.
  const std::string& messages() const { return messages_; }
  bool empty() const { return messages_.empty(); }
  void Clear() { messages_.clear(); }

  /// \brief Called by the handler; appends one message.
  void Append(const std::string& message);

 private:
  std::string messages_;
  ProtobufLogCapture* previous_;
};

}  // namespace otap_parquet::otlp::internal
