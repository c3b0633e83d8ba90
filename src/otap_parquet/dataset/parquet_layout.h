// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// The on-disk form of OTAP tables in a Parquet dataset, compatible with upstream
/// otel-arrow's `exporter:parquet` (shared/docs/otap-parquet-format.md §4–§8):
/// column names and order of upstream's templates, ids made unique per `_part_id`
/// by a running offset and widened to UInt32, `_part_id` in the root tables'
/// schema metadata. Better than upstream, backward compatibly:
///  - `resource.id` / `scope.id` are offset and widened to UInt32 as well, so resource
///    and scope attributes join exactly (upstream quirk Q1); a UInt32 `resource.id`
///    marks such files;
///  - `spans.flags`, `span_links.flags`, `univariate_metrics.is_monotonic` and
///    `exp_histogram_data_points.zero_threshold` are kept as extra trailing columns
///    (Q2); upstream-style readers ignore them;
///  - no Int64 exemplar `double_value` (Q4), no un-offset inserted ids (Q5, Q6).

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include "otap_parquet/pdata/otap_batch.h"

namespace otap_parquet::dataset {

/// \brief On-disk Arrow schema of a table: upstream's template columns in template
/// order (with `univariate_metrics.dropped_attributes_count`, always null), then our
/// extra columns; every `id` / `parent_id` (and `resource.id` / `scope.id`) UInt32
/// and nullable; value columns native (no dictionaries). No schema metadata.
const std::shared_ptr<arrow::Schema>& DiskSchema(PayloadType type);

/// \brief One OtapBatch in on-disk form, ready to append to a partition's files.
struct DiskBatch {
  Signal signal = Signal::kLogs;
  /// The `_part_id` (UUID v4, lower-case, hyphenated) whose id space the ids are in.
  std::string part_id;
  /// Tables present in the batch, parents before children (PayloadTypesOf order);
  /// each with DiskSchema(type); roots carry schema metadata `_part_id`.
  std::vector<std::pair<PayloadType, std::shared_ptr<arrow::RecordBatch>>> tables;
  /// \brief Rows over all tables.
  int64_t num_rows() const;
};

/// \brief A random UUID v4, lower case and hyphenated.
std::string RandomUuid();

/// \brief Makes ids unique within a `_part_id` as upstream's
/// PartitionSequenceIdGenerator does (§8.1): per batch, every id and parent_id (here
/// also resource.id / scope.id) is widened to UInt32 and shifted by a running
/// offset; the offset then grows by the batch's largest id + 1. When the next batch
/// would overflow UInt32, a new `_part_id` starts at offset 0.
///
/// One generator serves all three signals of an exporter (they share resource_attrs
/// and scope_attrs tables). Not thread-safe.
class PartitionIdGenerator {
 public:
  /// \param new_uuid source of `_part_id`s (tests inject deterministic ones)
  explicit PartitionIdGenerator(std::function<std::string()> new_uuid = RandomUuid);

  /// \brief Converts a canonical OtapBatch (plain ids) to its on-disk form.
  ///
  /// Columns other than ids are shared with the input, not copied; so are UInt32 id
  /// columns while the offset is 0.
  /// \return the DiskBatch in the `_part_id` current before the call, or a new one
  /// when this batch would overflow; Invalid (naming the table) when a table's
  /// schema is not canonical.
  arrow::Result<DiskBatch> Apply(const OtapBatch& batch);

  /// The `_part_id` the next batch goes to (unless it overflows).
  const std::string& part_id() const { return part_id_; }
  /// The offset the next batch's ids get (unless it overflows).
  uint32_t offset() const { return offset_; }
  /// Starts a new `_part_id` at offset 0 (e.g. after a restart).
  void Reset();
  /// Test only: continues the current `_part_id` at `offset`.
  void set_offset_for_testing(uint32_t offset) { offset_ = offset; }

 private:
  std::function<std::string()> new_uuid_;
  std::string part_id_;
  uint32_t offset_ = 0;
  /// DiskSchema of each signal's root with `_part_id` metadata (null: not built yet
  /// for the current part_id_).
  std::array<std::shared_ptr<arrow::Schema>, 3> root_schemas_;
};

/// \brief Event-time partitioning granularity.
enum class TimeGranularity { kHour, kDay };

/// \brief Splits a canonical OtapBatch by its roots' own event time (logs:
/// time_unix_nano, else observed_time_unix_nano; spans: start_time_unix_nano;
/// metrics: the earliest time_unix_nano of its data points, else the batch's
/// earliest) into hive partition paths `date=YYYY-MM-DD/hour=HH` (kHour) or
/// `date=YYYY-MM-DD` (kDay), UTC. Every child row goes with its root; each part is
/// a valid canonical OtapBatch (ids re-densified). Records with time 0 go to
/// `date=1970-01-01[/hour=00]`. Order of parts: by partition path.
///
/// Times are read as unsigned 64-bit nanoseconds (OTLP fixed64); a null time counts
/// as 0, and for logs and metrics 0 means "unset" (the next rule applies). Resource
/// and scope attribute rows are copied into every part holding a root of that
/// resource / scope; child rows without a parent are dropped. A batch that falls in
/// one partition is returned as is (no copy, ids unchanged); an empty batch gives
/// no parts.
arrow::Result<std::vector<std::pair<std::string, OtapBatch>>> SplitByEventTime(
    const OtapBatch& batch, TimeGranularity granularity);

/// \brief Splits a canonical OtapBatch by the value of its roots' resource attribute
/// `key` into hive levels `<key>=<value>` escaped by PartitionSegment
/// (partition_values.h); roots without the attribute go to the default level
/// (`<key>=__HIVE_DEFAULT_PARTITION__`). String values as they are; int, double and
/// bool values as text; other types count as missing. Children follow their roots
/// exactly as in SplitByEventTime; order of parts: by level.
arrow::Result<std::vector<std::pair<std::string, OtapBatch>>> SplitByResourceAttribute(
    const OtapBatch& batch, const std::string& key);

/// \brief Splits `batch` into `num_groups` batches by `root_group` (the group, 0 to
/// num_groups - 1, of each root row): children follow their roots, resource and
/// scope attribute rows are copied into every group holding a root of theirs,
/// orphan rows are dropped; each part's ids are re-densified.
arrow::Result<std::vector<OtapBatch>> SplitByRootGroup(
    const OtapBatch& batch, const std::vector<int32_t>& root_group, int32_t num_groups);

}  // namespace otap_parquet::dataset
