// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "otap_parquet/pdata/otap_batch.h"

/// \file
/// Pipeline data messages and the Ack/Nack return path.
///
/// A producer that wants to learn the outcome of a message *subscribes*: it pushes
/// a frame {node, calldata} onto the message's AckContext. Whoever finishes the
/// work (normally an exporter) completes the context with Ack or Nack; that pops
/// the top frame and delivers the outcome, with the rest of the context, to the
/// frame's node (through its pipeline's CompletionSink, on the pipeline thread).
/// Pass-through nodes neither subscribe nor complete: they forward the message and
/// its context. A node that splits or merges data (processor:batch) subscribes to
/// its outputs and completes the inputs' contexts when all outputs are settled.
///
/// An AckContext that is destroyed with frames left (data dropped by a bug, a
/// failed node, or a shutdown deadline) Nacks itself, so an upstream subscriber is
/// never left waiting.

namespace otap_parquet::engine {

/// \brief Why data was not delivered.
struct NackInfo {
  std::string reason;
  /// Permanent failures must not be retried (bad data); others may be.
  bool permanent = false;
};

/// \brief One subscription on an AckContext.
struct AckFrame {
  int node_index = -1;    ///< subscriber, index in its pipeline instance
  uint64_t calldata = 0;  ///< subscriber's own key (slot, sequence number, ...)
};

class AckContext;

/// \brief Where completed frames go. Implementations must be thread-safe: an
/// exporter may complete from an I/O thread.
class CompletionSink {
 public:
  virtual ~CompletionSink() = default;
  /// \brief `nack` is null for an Ack. `rest` holds the frames below `frame`.
  virtual void Deliver(const AckFrame& frame, const NackInfo* nack, AckContext rest) = 0;
};

/// \brief The subscription stack of one message. Move-only; not thread-safe (one
/// owner at a time), but may be completed from any thread.
class AckContext {
 public:
  AckContext() = default;
  AckContext(AckContext&&) noexcept = default;
  AckContext& operator=(AckContext&& other) noexcept;
  AckContext(const AckContext&) = delete;
  AckContext& operator=(const AckContext&) = delete;
  /// \brief Nacks (retryable, "dropped without completion") if frames are left.
  ~AckContext();

  /// \brief Pushes a subscription; completions of this context go to `sink`.
  void Subscribe(std::shared_ptr<CompletionSink> sink, AckFrame frame);
  /// \brief Whether anyone waits for the outcome.
  bool has_subscribers() const { return !frames_.empty(); }
  size_t depth() const { return frames_.size(); }

  /// \brief Delivers Ack to the top subscriber (no-op without subscribers).
  void Ack();
  /// \brief Delivers Nack to the top subscriber (no-op without subscribers).
  void Nack(NackInfo nack);
  /// \brief Convenience: Ack if ok, else Nack with the status message.
  void Complete(const arrow::Status& status, bool permanent = false);

 private:
  void Deliver(const NackInfo* nack);

  std::shared_ptr<CompletionSink> sink_;
  std::vector<AckFrame> frames_;
};

/// \brief A pdata message: one signal's batch plus its Ack/Nack context.
struct PData {
  OtapBatch batch{Signal::kLogs};
  AckContext context;

  PData() = default;
  explicit PData(OtapBatch b) : batch(std::move(b)) {}
  PData(PData&&) noexcept = default;
  PData& operator=(PData&&) noexcept = default;

  Signal signal() const { return batch.signal(); }
  int64_t num_items() const { return batch.num_items(); }
};

}  // namespace otap_parquet::engine
