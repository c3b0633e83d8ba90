// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>

#include "otap_parquet/engine/channel.h"
#include "otap_parquet/pdata/otap_batch.h"

/// \file
/// `pacing: {mode: original, speed: F}` of receiver:parquet: batches are sent with
/// the gaps between their original event times, divided by `speed`.

namespace otap_parquet::nodes {

/// \brief Earliest event time (Unix ns) of the batch's records: logs
/// `time_unix_nano` (else `observed_time_unix_nano`), spans `start_time_unix_nano`,
/// metrics their data points' `time_unix_nano`; nullopt when none is set.
std::optional<int64_t> BatchEventTime(const OtapBatch& batch);

/// \brief When each batch is due. Each stream (the receiver's: one signal of one
/// partition) is replayed with its original gaps: its first batch anchors the
/// schedule at the time it is offered, and a batch of event time t is due at
/// anchor_wall + (max(t, latest time of the stream so far) − anchor_time) / speed.
/// Event time never goes back within a stream (rows of one batch interleave
/// resources; their time order is not the row order), so an earlier batch is due
/// with the latest one. Restart() begins the next stream. A downstream slower than
/// the schedule makes batches late; they are then due at once (the schedule catches
/// up, it does not shift).
class PacingSchedule {
 public:
  explicit PacingSchedule(double speed) : speed_(speed) {}

  /// \brief When a batch of event time `event_time` (nullopt: no time, due at once)
  /// may be sent, offered at `now`.
  engine::Clock::time_point DueAt(std::optional<int64_t> event_time,
                                  engine::Clock::time_point now);
  /// \brief The next batch starts a new stream (anchors again).
  void Restart() { anchored_ = false; }

 private:
  double speed_;
  bool anchored_ = false;
  int64_t anchor_time_ = 0;
  int64_t last_time_ = 0;
  engine::Clock::time_point anchor_wall_{};
  engine::Clock::time_point last_due_{};
};

}  // namespace otap_parquet::nodes
