// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Reading a dataset across listings. A reader's plan names files; compaction,
/// retention or repair may delete one before the reader gets to it
/// (VanishedFileError). The plan is stale, the progress is not: list the dataset
/// again and resume after what was emitted (ReplayProgress::ResumeFor), in the
/// compacted partition when the file was superseded. Replanner decides when (at
/// once, then backing off while it keeps happening without progress), counts and
/// logs; receiver:parquet uses it from its poll loop. ReplanningReader is the
/// blocking read loop built on it (`convert DATASET`).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/dataset/replay_checkpoint.h"
#include "otap_parquet/util/backoff.h"
#include "otap_parquet/util/event_log.h"

namespace otap_parquet::dataset {

/// \brief When to list again after a VanishedFileError.
struct ReplanPolicy {
  /// Replans in a row without progress that list again at once; later ones wait
  /// `backoff` (retry 1 after the `immediate`-th): files are deleted faster than
  /// they are listed.
  int immediate = 3;
  util::BackoffPolicy backoff{.initial_interval = std::chrono::seconds(1),
                              .max_interval = std::chrono::seconds(30)};
  /// Most replans in a row without progress; then the error stands. 0 = no limit.
  int max_consecutive = 0;
};

/// \brief Decides, counts and logs the replans of one reading loop.
class Replanner {
 public:
  /// \param log where event `replan` goes (e.g. scope "receiver.parquet")
  /// \param context fields leading each event, e.g. "node=replay"
  Replanner(ReplanPolicy policy, util::EventLog log, std::string context)
      : policy_(policy), log_(std::move(log)), context_(std::move(context)) {}

  /// \brief When `status` is a VanishedFileError within the policy's limit: counts a
  /// replan, logs event `replan`, and returns how long to wait before listing again
  /// (zero: at once). nullopt otherwise: `status` is the caller's to handle.
  std::optional<std::chrono::nanoseconds> OnReadError(const arrow::Status& status);
  /// \brief A batch, or the end of a pass, was read: the next replan is at once again.
  void Progressed() { consecutive_ = 0; }

  int64_t replans() const { return replans_; }

 private:
  ReplanPolicy policy_;
  util::EventLog log_;
  std::string context_;
  int64_t replans_ = 0;
  int consecutive_ = 0;
};

/// \brief A DatasetReader that lists the dataset again when a listed file vanished
/// and resumes after the last batch Next() returned (see the file comment). Waits
/// (sleeps) as ReplanPolicy says. Not thread-safe.
class ReplanningReader {
 public:
  /// Opens a reader over the dataset as listed now, with `resume` as its
  /// ReaderOptions::resume.
  using Open = std::function<arrow::Result<std::unique_ptr<DatasetReader>>(
      std::function<ResumePoint(const PartitionPlan&, Signal)> resume)>;

  /// \brief Opens the first reader.
  static arrow::Result<std::unique_ptr<ReplanningReader>> Make(Open open,
                                                               Replanner replanner);

  /// \brief As DatasetReader::Next(); a VanishedFileError lists again and goes on,
  /// unless the policy's limit is reached (then the error is returned).
  arrow::Result<std::optional<OtapBatch>> Next();

  /// \brief The current reader (replaced by each replan).
  const DatasetReader& reader() const { return *reader_; }
  /// \brief Counts of every reader so far.
  ReaderStats stats() const;
  int64_t replans() const { return replanner_.replans(); }

 private:
  ReplanningReader(Open open, Replanner replanner)
      : open_(std::move(open)), replanner_(std::move(replanner)) {}
  arrow::Status OpenReader();

  Open open_;
  Replanner replanner_;
  std::unique_ptr<DatasetReader> reader_;
  /// What Next() returned: where a new listing resumes.
  ReplayProgress returned_;
  /// Counts of the readers replaced by a new listing.
  ReaderStats replaced_;
};

}  // namespace otap_parquet::dataset
