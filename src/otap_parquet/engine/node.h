// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <arrow/status.h>
#include <arrow/util/future.h>
#include <spdlog/logger.h>

#include "otap_parquet/config/urn.h"
#include "otap_parquet/engine/channel.h"
#include "otap_parquet/engine/metrics.h"
#include "otap_parquet/engine/pdata.h"

/// \file
/// The node model: receivers produce pdata, processors transform it, exporters
/// consume it. Every node of a pipeline instance runs on that instance's single
/// thread (share-nothing; `--num-cores N` runs N instances), so node methods are
/// never called concurrently and need no locks. A node that owns threads of its
/// own (a network server, an I/O pool) talks back to the pipeline only through the
/// thread-safe calls marked below.

namespace otap_parquet::engine {

using config::NodeKind;

/// \brief A node's handle on its pipeline instance. Owned by the engine; valid from
/// Start until the node is destroyed (the handle outlives its node, so a node's
/// destructor may still complete contexts and call Wake). Only calls marked
/// thread-safe may be used from threads other than the pipeline's.
class EffectHandler {
 public:
  virtual ~EffectHandler() = default;

  virtual const std::string& node_id() const = 0;
  /// \brief Index of this pipeline instance (0..num_cores-1).
  virtual int core() const = 0;
  /// \brief Logger for the node's lifecycle events (thread-safe).
  virtual spdlog::logger& logger() = 0;
  /// \brief The node's counters (thread-safe).
  virtual NodeMetrics& metrics() = 0;

  /// \brief Sends on an output port ("" = the node's default output). Never blocks:
  /// when the destination is full the message waits in the node's outbox, and the
  /// engine neither feeds the node more input nor polls it until the outbox has
  /// drained (backpressure). Invalid when the port is not connected (the message
  /// is then Nacked permanently).
  virtual arrow::Status Send(PData msg, std::string_view port = {}) = 0;
  /// \brief Whether a Send() now would go straight into the destination channel.
  virtual bool CanSend(std::string_view port = {}) const = 0;

  /// \brief Thread-safe send for threads outside the pipeline: blocks while the
  /// destination channel is full, until `deadline` (pass Clock::now() to never
  /// block). On failure `msg` is left with the caller: CapacityError means
  /// RESOURCE_EXHAUSTED (answer the client so it retries), Cancelled means the
  /// pipeline is shutting down.
  virtual arrow::Status SendFromAnyThread(PData& msg, Clock::time_point deadline,
                                          std::string_view port = {}) = 0;

  /// \brief Subscribes this node to the outcome of `msg`: OnAck/OnNack will be
  /// called with `calldata` on the pipeline thread. Thread-safe.
  virtual void Subscribe(PData& msg, uint64_t calldata) = 0;

  /// \brief Calls OnTimer every `period` from now on (replaces an earlier timer).
  virtual void StartPeriodicTimer(Clock::duration period) = 0;
  virtual void CancelTimer() = 0;

  /// \brief Receivers: nothing more will be produced (e.g. a generator reached its
  /// count). When every receiver of the instance has finished, it drains and ends.
  virtual void ReportFinished() = 0;

  /// \brief Data this node gave up delivering for good (`how`, e.g. "given up" or
  /// "dead-lettered"); `otap-parquet run` prints a summary of it and exits 3.
  /// Thread-safe.
  virtual void ReportUndelivered(std::string_view how, int64_t batches, int64_t items) {
    (void)how;
    (void)batches;
    (void)items;
  }

  /// \brief Wakes the pipeline loop, e.g. after a completion on another thread
  /// changed AcceptsPdata(). Thread-safe.
  virtual void Wake() = 0;

  /// \brief Receivers, on the pipeline thread: call Poll again at the next turn of
  /// the loop instead of at the time the last Poll returned (e.g. an outcome has
  /// made a retry due earlier).
  virtual void RequestPoll() {}
};

/// \brief Common part of all nodes. Every method runs on the pipeline thread.
class Node {
 public:
  virtual ~Node() = default;

  virtual NodeKind kind() const = 0;

  /// \brief Called once before any data flows (exporters first, receivers last).
  /// Failure stops the engine before it runs (exit code 1).
  virtual arrow::Status Start(EffectHandler& effect) {
    (void)effect;
    return arrow::Status::OK();
  }

  /// \brief Periodic tick requested with EffectHandler::StartPeriodicTimer.
  virtual arrow::Status OnTimer(Clock::time_point now, EffectHandler& effect) {
    (void)now;
    (void)effect;
    return arrow::Status::OK();
  }

  /// \brief Outcome of a message this node subscribed to. `rest` is the context
  /// below this node's frame: a node that forwarded the same message completes it
  /// (the default passes the outcome on); a node that merged or split data keeps
  /// the inbound contexts itself and `rest` is empty.
  virtual void OnAck(uint64_t calldata, AckContext rest, EffectHandler& effect) {
    (void)calldata;
    (void)effect;
    rest.Ack();
  }
  virtual void OnNack(uint64_t calldata, const NackInfo& nack, AckContext rest,
                      EffectHandler& effect) {
    (void)calldata;
    (void)effect;
    rest.Nack(nack);
  }

  /// \brief Graceful end, called once after all of the node's inputs have ended
  /// (receivers: after Drain() and drained()). Flush buffered data with Send();
  /// the returned future completes when the node's work is done (an exporter:
  /// durably exported, Acks sent). The engine waits for it until `deadline`.
  /// Also called (with a past deadline) when the deadline forces a stop, and for a
  /// node that was never started.
  virtual arrow::Future<> Shutdown(Clock::time_point deadline, EffectHandler& effect) {
    (void)deadline;
    (void)effect;
    return arrow::Future<>::MakeFinished();
  }
};

/// \brief Produces pdata: from the network (own threads, SendFromAnyThread), from
/// storage or synthetically (Poll on the pipeline thread).
class Receiver : public Node {
 public:
  NodeKind kind() const final { return NodeKind::kReceiver; }

  /// \brief Called on the pipeline thread when the node's outbox is empty, the
  /// pipeline is not draining, and the time it asked for has come. Produce a
  /// little (one batch, or what CanSend allows) and return when to be polled
  /// again; Clock::time_point::max() = not until Wake().
  virtual Clock::time_point Poll(Clock::time_point now, EffectHandler& effect) {
    (void)now;
    (void)effect;
    return Clock::time_point::max();
  }

  /// \brief Stop admitting new data (upstream's DrainIngress). Network receivers
  /// refuse new requests; data already admitted continues.
  virtual void Drain(EffectHandler& effect) { (void)effect; }
  /// \brief Whether ingress has stopped and no SendFromAnyThread is in progress.
  virtual bool drained() const { return true; }
};

/// \brief Consumes pdata and produces pdata.
class Processor : public Node {
 public:
  NodeKind kind() const final { return NodeKind::kProcessor; }

  /// \brief Handles one message: forward it (with its context), or keep it and its
  /// context, or Nack the context. A returned error is counted and logged; a
  /// message neither forwarded nor completed is Nacked automatically.
  virtual arrow::Status Process(PData msg, EffectHandler& effect) = 0;
  /// \brief False pauses intake (the input channel fills up: backpressure).
  virtual bool AcceptsPdata() const { return true; }
};

/// \brief Consumes pdata and completes its context: Ack once the data is durably
/// exported, Nack with a reason otherwise (possibly later, from another thread,
/// e.g. in an arrow::Future callback).
class Exporter : public Node {
 public:
  NodeKind kind() const final { return NodeKind::kExporter; }

  virtual arrow::Status Export(PData msg, EffectHandler& effect) = 0;
  /// \brief False pauses intake, e.g. while max_in_flight exports are pending.
  virtual bool AcceptsPdata() const { return true; }
};

}  // namespace otap_parquet::engine
