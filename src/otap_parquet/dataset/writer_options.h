// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>
#include <arrow/type_fwd.h>

namespace parquet {
class WriterProperties;
class ArrowWriterProperties;
}  // namespace parquet

namespace otap_parquet::config {
class ConfigReader;
}

/// \file
/// Options of the dataset writer: when files are flushed and how Parquet is written.

namespace otap_parquet::dataset {

/// \brief Parquet compression codec of every column chunk.
enum class Compression { kNone, kSnappy, kGzip, kBrotli, kLz4, kZstd };

/// \brief Config name of a codec: "none", "snappy", "gzip", "brotli", "lz4", "zstd".
std::string_view CompressionName(Compression compression);
/// \brief Parses a codec name (case-insensitive; "uncompressed" = "none",
/// "lz4_raw" = "lz4"). Invalid listing the accepted names otherwise.
arrow::Result<Compression> CompressionFromName(std::string_view name);

/// \brief Parquet encoding of a column's values (when not dictionary encoded: the
/// dictionary is off for the column, or it fell back to plain).
enum class ColumnEncoding {
  kPlain,
  kDeltaBinaryPacked,     ///< integers, times
  kDeltaLengthByteArray,  ///< strings, binaries
  kDeltaByteArray,        ///< strings, binaries, fixed-size binaries
  kByteStreamSplit,       ///< floats, doubles, integers, fixed-size binaries
};

/// \brief Config name of an encoding: "plain", "delta_binary_packed",
/// "delta_length_byte_array", "delta_byte_array", "byte_stream_split".
std::string_view ColumnEncodingName(ColumnEncoding encoding);
/// \brief Parses an encoding name (case-insensitive); Invalid listing the names.
arrow::Result<ColumnEncoding> ColumnEncodingFromName(std::string_view name);

/// \brief Order of the rows of attribute tables (`*_attrs`) within each batch the
/// writer receives. The reader needs each table's ids block-monotone (one id
/// interval per written batch, any order inside it: docs/datasets.md), so rows are
/// ordered within a batch, never across batches of a row group.
enum class AttributeOrder {
  kAsReceived,   ///< as the OTAP batch holds them
  kParentIdKey,  ///< by parent_id, then key (attributes of a parent together)
  kKeyParentId,  ///< by key, then parent_id (long runs of one key and value type)
};

/// \brief Config name: "as_received", "parent_id_key", "key_parent_id".
std::string_view AttributeOrderName(AttributeOrder order);

/// \brief Default WriterOptions::column_encodings: delta_binary_packed for ids,
/// parent ids and times (sorted or nearly so: a few bits per value).
std::vector<std::pair<std::string, ColumnEncoding>> DefaultColumnEncodings();

/// \brief Default WriterOptions::dictionary_columns: attribute keys and string
/// values, and the names, versions, units and schema URLs of records, scopes and
/// resources.
std::vector<std::string> DefaultDictionaryColumns();

/// \brief When the dataset writer publishes its open files, and how it encodes them.
///
/// Every flush rule that is enabled fires on its own (upstream ignores the age rule
/// when a row target is set; we do not). All rules act per partition: when one
/// table file of a partition fires, all open files of that partition are published.
struct WriterOptions {
  /// Publish a partition once any of its table files holds this many rows (checked
  /// after each batch, so files may hold a little more). 0 = no row rule.
  /// Default 100'000'000, upstream's.
  int64_t target_rows_per_file = 100'000'000;
  /// Publish a partition once any of its table files is estimated to reach this
  /// many bytes on storage (bytes written plus the buffered row group, scaled by the
  /// compression ratio of earlier files of that table). 0 = no byte rule.
  int64_t target_bytes_per_file = 128LL << 20;
  /// Publish a partition once its oldest open file is older than this (checked on
  /// each Write() and Tick()). 0 = no age rule. Default 60 s, so that
  /// acknowledgements never wait forever on a quiet stream.
  std::chrono::milliseconds flush_when_older_than{60'000};
  /// Codec of every column chunk; default zstd (upstream writes uncompressed).
  Compression compression = Compression::kZstd;
  /// Codec level; nullopt = the codec's default. Invalid for codecs without levels.
  std::optional<int> compression_level;
  /// Most rows per row group (default 1,048,576, parquet-rs' and upstream's).
  int64_t row_group_size = 1'048'576;
  /// Target size of a data page in bytes (default 1 MiB).
  int64_t data_page_size = 1 << 20;
  /// Most rows per data page; 0 (default) = pages are cut by data_page_size only.
  /// Arrow's own default, 20,000 rows, cuts attribute columns into many small pages,
  /// and Arrow's zstd codec sets up a compression context for every page.
  int64_t max_rows_per_page = 0;
  /// Dictionary encoding on/off (falls back to plain above the dictionary page
  /// limit); when on, it applies to `dictionary_columns`.
  bool dictionary = true;
  /// Columns (dot paths, as bloom_filter_columns) that get dictionary encoding in
  /// every table that has them; `["*"]` = every column. Default: the repetitive
  /// strings (DefaultDictionaryColumns). Dictionary encoding of high-cardinality
  /// columns (ids, times, trace ids, bodies) costs time and, under zstd, space.
  std::vector<std::string> dictionary_columns = DefaultDictionaryColumns();
  /// Open partitions (`_part_id` × event-time directory) at most; opening one more
  /// publishes the partition opened first (flush reason "partitions"), so memory
  /// stays bounded with many hours or `_part_id`s in flight. 0 = no bound.
  int64_t max_open_partitions = 64;
  /// Column chunk and page statistics (min/max/null count) of ids, times and other
  /// fixed-width columns, which readers prune by (time ranges, id joins).
  bool statistics = true;
  /// Statistics of string and binary columns too (bodies, attribute keys and
  /// values, names, trace and span ids). Off by default: their min/max prunes
  /// nothing in telemetry and computing them cost ~10% of the write.
  bool string_statistics = false;
  /// Columns (dot paths, e.g. "trace_id", "resource.id") that get a split-block
  /// bloom filter in every table that has them; tables without such a column, and
  /// boolean columns (Parquet has no bloom filter for them), are skipped.
  std::vector<std::string> bloom_filter_columns;
  /// False-positive probability of each bloom filter, in (0, 1).
  double bloom_filter_fpp = 0.05;
  /// Encoding of the values of these columns (dot paths) in every table that has
  /// them and whose type the encoding fits (others are skipped); for a dictionary
  /// column, the encoding when its dictionary falls back. Columns not listed are
  /// written plain. Default: DefaultColumnEncodings().
  std::vector<std::pair<std::string, ColumnEncoding>> column_encodings =
      DefaultColumnEncodings();
  /// Order of attribute rows within each written batch (AttributeOrder). By key:
  /// scans and attribute filters decode ~20% less, but the writer pays a sort and
  /// a copy of each attribute table (+17-35% CPU, BENCHMARKS.md), so not default.
  AttributeOrder attribute_order = AttributeOrder::kAsReceived;
  /// Parquet page indexes (column and offset index per column chunk), which let
  /// readers that use them skip pages by min/max. On by default (Arrow's default,
  /// so files as before); off saves a few bytes per page.
  bool page_index = true;

  static WriterOptions Defaults() { return {}; }

  /// \brief Reads upstream's `writer_options` block (keys as the fields; sizes in
  /// bytes or with a unit, durations as "10s") and checks it. Keys left out keep
  /// the defaults.
  static WriterOptions Read(config::ConfigReader& reader);
  /// \brief Records one error per invalid field at its key of `reader` (the
  /// `writer_options` block): "writer_options.row_group_size: must be > 0, got 0".
  void Check(config::ConfigReader& reader) const;
  /// \brief Check() of options built in code: Invalid naming every invalid key.
  arrow::Status Validate() const;
};

/// Most values Arrow's column writers take per batch (WriterProperties::
/// write_batch_size), reached with pages of 1 MiB and more.
inline constexpr int64_t kMaxWriteBatchSize = 64 * 1024;
/// \brief write_batch_size for `options`: data_page_size / 16 values, within
/// [Arrow's 1,024, kMaxWriteBatchSize] and at most max_rows_per_page (when that is
/// above 1,024), so that pages stay near data_page_size.
int64_t WriteBatchSize(const WriterOptions& options);

/// \brief Parquet writer properties for one table of the given Arrow schema:
/// format version 2.6, the configured codec and level set explicitly on every
/// column, page size and rows, dictionary on the configured columns that `schema`
/// has, statistics (string and binary columns only with string_statistics), row
/// group size, and bloom filters on the configured columns that
/// `schema` has (others are skipped).
/// `pool` serves the column encoders' buffers (default: Arrow's default pool).
/// `plain_columns`: dictionary columns to write plain in this file (the dataset
/// writer's columns that fell back to plain in the table's previous file).
arrow::Result<std::shared_ptr<parquet::WriterProperties>> MakeWriterProperties(
    const WriterOptions& options, const arrow::Schema& schema,
    arrow::MemoryPool* pool = nullptr,
    const std::vector<std::string>& plain_columns = {});

/// \brief Arrow-side properties: `store_schema()` (ARROW:schema in the footer, so
/// that readers restore `_part_id`, Duration and field metadata).
std::shared_ptr<parquet::ArrowWriterProperties> MakeArrowWriterProperties();

/// \brief The columns of `schema` (dot paths of leaves) that MakeWriterProperties
/// dictionary-encodes; every leaf for `["*"]`, none when dictionary is off.
std::vector<std::string> DictionaryColumnsOf(const WriterOptions& options,
                                             const arrow::Schema& schema);

}  // namespace otap_parquet::dataset
