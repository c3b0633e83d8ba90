// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/replanning_reader.h"

#include <thread>
#include <utility>

#include "otap_parquet/dataset/read_errors.h"

namespace otap_parquet::dataset {

std::optional<std::chrono::nanoseconds> Replanner::OnReadError(
    const arrow::Status& status) {
  if (!IsVanishedFileError(status)) return std::nullopt;
  if (policy_.max_consecutive > 0 && consecutive_ >= policy_.max_consecutive) {
    return std::nullopt;
  }
  ++replans_;
  ++consecutive_;
  log_.Info("replan", "{}{}reason=\"{}\"", context_, context_.empty() ? "" : " ",
            status.message());
  if (consecutive_ <= policy_.immediate) return std::chrono::nanoseconds(0);
  return policy_.backoff.BaseDelay(consecutive_ - policy_.immediate);
}

arrow::Result<std::unique_ptr<ReplanningReader>> ReplanningReader::Make(
    Open open, Replanner replanner) {
  std::unique_ptr<ReplanningReader> reader(
      new ReplanningReader(std::move(open), std::move(replanner)));
  ARROW_RETURN_NOT_OK(reader->OpenReader());
  return reader;
}

arrow::Status ReplanningReader::OpenReader() {
  ARROW_ASSIGN_OR_RAISE(reader_,
                        open_([this](const PartitionPlan& partition, Signal signal) {
                          return returned_.ResumeFor(partition, signal);
                        }));
  return arrow::Status::OK();
}

arrow::Result<std::optional<OtapBatch>> ReplanningReader::Next() {
  while (true) {
    auto next = reader_->Next();
    if (!next.ok()) {
      const auto wait = replanner_.OnReadError(next.status());
      if (!wait) return next.status();
      if (wait->count() > 0) std::this_thread::sleep_for(*wait);
      replaced_.Add(reader_->stats());
      ARROW_RETURN_NOT_OK(OpenReader());
      continue;
    }
    replanner_.Progressed();
    if (!next->has_value()) return next;
    const ReaderPosition at = reader_->position();
    const auto& unit =
        reader_->plan().partitions[static_cast<size_t>(at.partition_index)];
    returned_.Acked(returned_.Emitted(
        {at.signal, at.partition_path}, unit.FilesOf(RootPayloadType(at.signal)),
        at.root_file, at.root_row_in_file, (*next)->num_items()));
    return next;
  }
}

ReaderStats ReplanningReader::stats() const {
  ReaderStats total = replaced_;
  total.Add(reader_->stats());
  return total;
}

}  // namespace otap_parquet::dataset
