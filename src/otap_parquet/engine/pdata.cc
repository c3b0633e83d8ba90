// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/engine/pdata.h"

namespace otap_parquet::engine {

AckContext& AckContext::operator=(AckContext&& other) noexcept {
  if (this != &other) {
    if (!frames_.empty()) Nack({"dropped without completion", false});
    sink_ = std::move(other.sink_);
    frames_ = std::move(other.frames_);
    other.frames_.clear();
  }
  return *this;
}

AckContext::~AckContext() {
  if (!frames_.empty()) Nack({"dropped without completion", false});
}

void AckContext::Subscribe(std::shared_ptr<CompletionSink> sink, AckFrame frame) {
  // All frames of one context belong to one pipeline instance, so one sink.
  sink_ = std::move(sink);
  frames_.push_back(frame);
}

void AckContext::Ack() { Deliver(nullptr); }

void AckContext::Nack(NackInfo nack) { Deliver(&nack); }

void AckContext::Complete(const arrow::Status& status, bool permanent) {
  if (status.ok()) {
    Ack();
  } else {
    Nack({status.message(), permanent});
  }
}

void AckContext::Deliver(const NackInfo* nack) {
  if (frames_.empty()) return;
  const AckFrame top = frames_.back();
  frames_.pop_back();
  AckContext rest;
  rest.sink_ = sink_;
  rest.frames_ = std::move(frames_);
  frames_.clear();
  auto sink = std::move(sink_);
  sink->Deliver(top, nack, std::move(rest));
}

}  // namespace otap_parquet::engine
