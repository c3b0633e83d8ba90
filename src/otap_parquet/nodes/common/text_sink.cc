// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/common/text_sink.h"

#include <cstdio>

namespace otap_parquet::nodes {

namespace {
std::mutex& StdoutMutex() {
  static std::mutex mutex;
  return mutex;
}
}  // namespace

arrow::Result<std::shared_ptr<TextSink>> TextSink::Open(const std::string& path) {
  std::shared_ptr<TextSink> sink(new TextSink());
  if (path.empty()) {
    sink->mutex_ = &StdoutMutex();
    return sink;
  }
  sink->stdout_ = false;
  sink->mutex_ = &sink->own_mutex_;
  sink->file_.open(path, std::ios::app);
  if (!sink->file_) return arrow::Status::IOError("cannot open ", path, " for writing");
  return sink;
}

void TextSink::WriteLine(std::string_view text) {
  std::lock_guard<std::mutex> lock(*mutex_);
  if (stdout_) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  } else {
    file_ << text << '\n';
    file_.flush();
  }
}

}  // namespace otap_parquet::nodes
