// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/otlp/protobuf_log_internal.h"

#include <mutex>

#include <google/protobuf/stubs/logging.h>

namespace otap_parquet::otlp::internal {

namespace {

thread_local ProtobufLogCapture* current_capture = nullptr;
google::protobuf::LogHandler* previous_handler = nullptr;
std::once_flag install_once;

void RoutingLogHandler(google::protobuf::LogLevel level, const char* filename, int line,
                       const std::string& message) {
  if (current_capture != nullptr) {
    current_capture->Append(message);
    return;
  }
  if (previous_handler != nullptr) previous_handler(level, filename, line, message);
}

}  // namespace

ProtobufLogCapture::ProtobufLogCapture() : previous_(current_capture) {
  // SetLogHandler is not thread-safe against concurrent protobuf logging; it runs
  // once, the first time any OTLP file or JSON is decoded.
  std::call_once(install_once, [] {
    previous_handler = google::protobuf::SetLogHandler(&RoutingLogHandler);
  });
  current_capture = this;
}

ProtobufLogCapture::~ProtobufLogCapture() { current_capture = previous_; }

void ProtobufLogCapture::Append(const std::string& message) {
  std::string_view m = message;
  while (!m.empty() && (m.back() == ' ' || m.back() == '\n')) m.remove_suffix(1);
  if (!messages_.empty()) messages_ += "; ";
  messages_ += m;
}

}  // namespace otap_parquet::otlp::internal
