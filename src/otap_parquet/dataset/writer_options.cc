// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/writer_options.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include <arrow/memory_pool.h>
#include <arrow/type.h>
#include <arrow/type_traits.h>
#include <arrow/util/compression.h>
#include <fmt/format.h>
#include <parquet/exception.h>
#include <parquet/properties.h>
#include <yaml-cpp/yaml.h>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/config/strict_yaml.h"

namespace otap_parquet::dataset {

using arrow::Status;

namespace {

constexpr std::pair<std::string_view, Compression> kCompressionNames[] = {
    {"none", Compression::kNone},     {"uncompressed", Compression::kNone},
    {"snappy", Compression::kSnappy}, {"gzip", Compression::kGzip},
    {"brotli", Compression::kBrotli}, {"lz4", Compression::kLz4},
    {"lz4_raw", Compression::kLz4},   {"zstd", Compression::kZstd},
};

constexpr std::pair<std::string_view, ColumnEncoding> kEncodingNames[] = {
    {"plain", ColumnEncoding::kPlain},
    {"delta_binary_packed", ColumnEncoding::kDeltaBinaryPacked},
    {"delta_length_byte_array", ColumnEncoding::kDeltaLengthByteArray},
    {"delta_byte_array", ColumnEncoding::kDeltaByteArray},
    {"byte_stream_split", ColumnEncoding::kByteStreamSplit},
};

parquet::Encoding::type ToParquetEncoding(ColumnEncoding encoding) {
  switch (encoding) {
    case ColumnEncoding::kPlain:
      return parquet::Encoding::PLAIN;
    case ColumnEncoding::kDeltaBinaryPacked:
      return parquet::Encoding::DELTA_BINARY_PACKED;
    case ColumnEncoding::kDeltaLengthByteArray:
      return parquet::Encoding::DELTA_LENGTH_BYTE_ARRAY;
    case ColumnEncoding::kDeltaByteArray:
      return parquet::Encoding::DELTA_BYTE_ARRAY;
    case ColumnEncoding::kByteStreamSplit:
      return parquet::Encoding::BYTE_STREAM_SPLIT;
  }
  return parquet::Encoding::PLAIN;
}

// Whether Parquet C++ writes a column of this Arrow type with the encoding (its
// physical type: INT32/INT64 for delta_binary_packed, BYTE_ARRAY for the byte array
// deltas, FLOAT/DOUBLE/INT32/INT64/FIXED_LEN_BYTE_ARRAY for byte_stream_split).
bool EncodingFits(ColumnEncoding encoding, const arrow::DataType& type) {
  if (type.id() == arrow::Type::DICTIONARY) {
    return EncodingFits(encoding,
                        *static_cast<const arrow::DictionaryType&>(type).value_type());
  }
  const bool interval = type.id() == arrow::Type::INTERVAL_MONTHS ||
                        type.id() == arrow::Type::INTERVAL_DAY_TIME ||
                        type.id() == arrow::Type::INTERVAL_MONTH_DAY_NANO;
  const bool integer =
      arrow::is_integer(type.id()) || (arrow::is_temporal(type.id()) && !interval);
  const bool bytes =
      type.id() == arrow::Type::STRING || type.id() == arrow::Type::LARGE_STRING ||
      type.id() == arrow::Type::BINARY || type.id() == arrow::Type::LARGE_BINARY;
  switch (encoding) {
    case ColumnEncoding::kPlain:
      return type.id() != arrow::Type::STRUCT;
    case ColumnEncoding::kDeltaBinaryPacked:
      return integer;
    case ColumnEncoding::kDeltaLengthByteArray:
      return bytes;
    case ColumnEncoding::kDeltaByteArray:
      return bytes || type.id() == arrow::Type::FIXED_SIZE_BINARY;
    case ColumnEncoding::kByteStreamSplit:
      return arrow::is_floating(type.id()) || integer ||
             type.id() == arrow::Type::FIXED_SIZE_BINARY;
  }
  return false;
}

arrow::Compression::type ToArrowCodec(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return arrow::Compression::UNCOMPRESSED;
    case Compression::kSnappy:
      return arrow::Compression::SNAPPY;
    case Compression::kGzip:
      return arrow::Compression::GZIP;
    case Compression::kBrotli:
      return arrow::Compression::BROTLI;
    case Compression::kLz4:
      // Parquet C++ writes Compression::LZ4 as the LZ4_RAW codec of the format
      // (the deprecated Hadoop-framed "LZ4" is LZ4_HADOOP).
      return arrow::Compression::LZ4;
    case Compression::kZstd:
      return arrow::Compression::ZSTD;
  }
  return arrow::Compression::UNCOMPRESSED;
}

// The field at a dot path ("resource.id"), descending through structs; null if absent.
std::shared_ptr<arrow::Field> FieldAtPath(const arrow::Schema& schema,
                                          std::string_view path) {
  std::shared_ptr<arrow::Field> field;
  const arrow::FieldVector* fields = &schema.fields();
  while (true) {
    const size_t dot = path.find('.');
    const std::string_view name = path.substr(0, dot);
    field = nullptr;
    for (const auto& candidate : *fields) {
      if (candidate->name() == name) field = candidate;
    }
    if (field == nullptr || dot == std::string_view::npos) return field;
    if (field->type()->id() != arrow::Type::STRUCT) return nullptr;
    fields = &field->type()->fields();
    path.remove_prefix(dot + 1);
  }
}

// Appends the dot paths of the leaves under `field` (itself when not a struct).
void LeafPaths(const arrow::Field& field, const std::string& prefix,
               std::vector<std::string>* out) {
  const std::string path = prefix.empty() ? field.name() : prefix + "." + field.name();
  if (field.type()->id() != arrow::Type::STRUCT) {
    out->push_back(path);
    return;
  }
  for (const auto& child : field.type()->fields()) LeafPaths(*child, path, out);
}

// Whether min/max of a column of this type is string_statistics' business.
bool IsStringLike(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
    case arrow::Type::BINARY_VIEW:
    case arrow::Type::FIXED_SIZE_BINARY:
      return true;
    case arrow::Type::DICTIONARY:
      return IsStringLike(*static_cast<const arrow::DictionaryType&>(type).value_type());
    default:
      return false;
  }
}

// Appends the dot paths of the string-like leaves under `field`.
void StringLeafPaths(const arrow::Field& field, const std::string& prefix,
                     std::vector<std::string>* out) {
  const std::string path = prefix.empty() ? field.name() : prefix + "." + field.name();
  if (field.type()->id() == arrow::Type::STRUCT) {
    for (const auto& child : field.type()->fields()) StringLeafPaths(*child, path, out);
  } else if (IsStringLike(*field.type())) {
    out->push_back(path);
  }
}

}  // namespace

std::string_view ColumnEncodingName(ColumnEncoding encoding) {
  for (const auto& [name, candidate] : kEncodingNames) {
    if (candidate == encoding) return name;
  }
  return "?";
}

arrow::Result<ColumnEncoding> ColumnEncodingFromName(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (const auto& [candidate, encoding] : kEncodingNames) {
    if (candidate == lower) return encoding;
  }
  return Status::Invalid(
      "unknown encoding '", name,
      "'; expected plain, delta_binary_packed, "
      "delta_length_byte_array, delta_byte_array or byte_stream_split");
}

std::string_view AttributeOrderName(AttributeOrder order) {
  switch (order) {
    case AttributeOrder::kAsReceived:
      return "as_received";
    case AttributeOrder::kParentIdKey:
      return "parent_id_key";
    case AttributeOrder::kKeyParentId:
      return "key_parent_id";
  }
  return "?";
}

std::vector<std::pair<std::string, ColumnEncoding>> DefaultColumnEncodings() {
  std::vector<std::pair<std::string, ColumnEncoding>> out;
  for (const char* column :
       {"id", "parent_id", "time_unix_nano", "observed_time_unix_nano",
        "start_time_unix_nano", "end_time_unix_nano"}) {
    out.emplace_back(column, ColumnEncoding::kDeltaBinaryPacked);
  }
  return out;
}

std::vector<std::string> DefaultDictionaryColumns() {
  return {"key",
          "str",
          "name",
          "severity_text",
          "event_name",
          "description",
          "unit",
          "schema_url",
          "scope.name",
          "scope.version",
          "scope.schema_url",
          "resource.schema_url"};
}

std::vector<std::string> DictionaryColumnsOf(const WriterOptions& options,
                                             const arrow::Schema& schema) {
  std::vector<std::string> out;
  if (!options.dictionary) return out;
  const bool all =
      std::find(options.dictionary_columns.begin(), options.dictionary_columns.end(),
                "*") != options.dictionary_columns.end();
  if (all) {
    for (const auto& field : schema.fields()) LeafPaths(*field, "", &out);
    return out;
  }
  for (const auto& column : options.dictionary_columns) {
    auto field = FieldAtPath(schema, column);
    if (field == nullptr || field->type()->id() == arrow::Type::STRUCT) continue;
    if (std::find(out.begin(), out.end(), column) == out.end()) out.push_back(column);
  }
  return out;
}

std::string_view CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return "none";
    case Compression::kSnappy:
      return "snappy";
    case Compression::kGzip:
      return "gzip";
    case Compression::kBrotli:
      return "brotli";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return "?";
}

arrow::Result<Compression> CompressionFromName(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (const auto& [candidate, compression] : kCompressionNames) {
    if (candidate == lower) return compression;
  }
  return Status::Invalid("unknown compression '", name,
                         "'; expected zstd, snappy, lz4, gzip, brotli or none");
}

WriterOptions WriterOptions::Read(config::ConfigReader& reader) {
  WriterOptions c;
  // Options upstream: null turns the rule off.
  reader.AllowNull({"target_rows_per_file", "flush_when_older_than"});
  if (reader.IsNull("target_rows_per_file")) c.target_rows_per_file = 0;
  if (auto v = reader.Int("target_rows_per_file")) c.target_rows_per_file = *v;
  if (auto v = reader.Bytes("target_bytes_per_file")) c.target_bytes_per_file = *v;
  if (reader.IsNull("flush_when_older_than")) c.flush_when_older_than = {};
  if (auto v = config::ReadMillis(reader, "flush_when_older_than"))
    c.flush_when_older_than = *v;
  // Case-insensitive with aliases ("uncompressed", "lz4_raw"), as the CLI's flag.
  if (auto v = reader.String("compression")) {
    auto compression = CompressionFromName(*v);
    if (compression.ok()) {
      c.compression = *compression;
    } else {
      reader.Error("compression", compression.status().message());
    }
  }
  if (auto v = reader.Int("compression_level", INT32_MIN, INT32_MAX)) {
    c.compression_level = static_cast<int>(*v);
  }
  if (auto v = reader.Int("row_group_size")) c.row_group_size = *v;
  if (auto v = reader.Bytes("data_page_size")) c.data_page_size = *v;
  if (auto v = reader.Int("max_rows_per_page")) c.max_rows_per_page = *v;
  if (auto v = reader.Bool("dictionary")) c.dictionary = *v;
  if (auto v = reader.StringList("dictionary_columns")) c.dictionary_columns = *v;
  if (auto v = reader.Int("max_open_partitions")) c.max_open_partitions = *v;
  if (auto v = reader.Bool("statistics")) c.statistics = *v;
  if (auto v = reader.Bool("string_statistics")) c.string_statistics = *v;
  if (auto v = reader.StringList("bloom_filter_columns")) c.bloom_filter_columns = *v;
  if (auto v = reader.Double("bloom_filter_fpp")) c.bloom_filter_fpp = *v;
  if (reader.Has("column_encodings")) {
    // A mapping column -> encoding; it replaces the defaults as a whole.
    const YAML::Node node = reader.Raw("column_encodings");
    c.column_encodings.clear();
    if (!node.IsMap()) {
      reader.Error("column_encodings",
                   "must be a mapping of column to encoding, e.g. {parent_id: "
                   "delta_binary_packed}");
    } else {
      for (const auto& entry : node) {
        const std::string column = entry.first.as<std::string>("");
        const std::string key = fmt::format("column_encodings.{}", column);
        if (!entry.second.IsScalar()) {
          reader.Error(key, "must be an encoding name");
          continue;
        }
        auto encoding = ColumnEncodingFromName(entry.second.Scalar());
        if (!encoding.ok()) {
          reader.Error(key, encoding.status().message());
          continue;
        }
        c.column_encodings.emplace_back(column, *encoding);
      }
    }
  }
  if (auto v = reader.Enum<AttributeOrder>(
          "attribute_order", {{"as_received", AttributeOrder::kAsReceived},
                              {"parent_id_key", AttributeOrder::kParentIdKey},
                              {"key_parent_id", AttributeOrder::kKeyParentId}})) {
    c.attribute_order = *v;
  }
  if (auto v = reader.Bool("page_index")) c.page_index = *v;
  c.Check(reader);
  return c;
}

void WriterOptions::Check(config::ConfigReader& reader) const {
  auto fail = [&](std::string_view key, std::string message) {
    reader.Error(key, std::move(message));
  };
  if (target_rows_per_file < 0) {
    fail("target_rows_per_file",
         fmt::format("must be >= 0 (0 = no row rule), got {}", target_rows_per_file));
  }
  if (target_bytes_per_file < 0) {
    fail("target_bytes_per_file",
         fmt::format("must be >= 0 (0 = no byte rule), got {}", target_bytes_per_file));
  }
  if (flush_when_older_than.count() < 0) {
    fail("flush_when_older_than",
         fmt::format("must be >= 0, got {}ms", flush_when_older_than.count()));
  }
  if (row_group_size <= 0) {
    fail("row_group_size", fmt::format("must be > 0, got {}", row_group_size));
  }
  if (data_page_size <= 0) {
    fail("data_page_size", fmt::format("must be > 0, got {}", data_page_size));
  }
  if (max_rows_per_page < 0) {
    fail("max_rows_per_page",
         fmt::format("must be >= 0 (0 = by data_page_size only), got {}",
                     max_rows_per_page));
  }
  if (compression_level) {
    const auto codec = ToArrowCodec(compression);
    if (!arrow::util::Codec::SupportsCompressionLevel(codec)) {
      fail("compression_level",
           fmt::format("{} has no compression levels", CompressionName(compression)));
    } else {
      auto min = arrow::util::Codec::MinimumCompressionLevel(codec);
      auto max = arrow::util::Codec::MaximumCompressionLevel(codec);
      if (min.ok() && max.ok() &&
          (*compression_level < *min || *compression_level > *max)) {
        fail("compression_level",
             fmt::format("{} levels are {}..{}, got {}", CompressionName(compression),
                         *min, *max, *compression_level));
      }
    }
  }
  if (compression != Compression::kNone &&
      !arrow::util::Codec::IsAvailable(ToArrowCodec(compression))) {
    fail("compression",
         fmt::format("{} is not available in this build", CompressionName(compression)));
  }
  for (size_t i = 0; i < dictionary_columns.size(); ++i) {
    if (dictionary_columns[i].empty()) {
      fail(fmt::format("dictionary_columns[{}]", i), "must not be empty");
    }
  }
  if (max_open_partitions < 0) {
    fail("max_open_partitions",
         fmt::format("must be >= 0 (0 = no bound), got {}", max_open_partitions));
  }
  for (size_t i = 0; i < bloom_filter_columns.size(); ++i) {
    if (bloom_filter_columns[i].empty()) {
      fail(fmt::format("bloom_filter_columns[{}]", i), "must not be empty");
    }
  }
  for (size_t i = 0; i < column_encodings.size(); ++i) {
    if (column_encodings[i].first.empty()) {
      fail(fmt::format("column_encodings[{}]", i), "column must not be empty");
    }
  }
  if (!(bloom_filter_fpp > 0.0 && bloom_filter_fpp < 1.0)) {
    fail("bloom_filter_fpp", fmt::format("must be in (0, 1), got {}", bloom_filter_fpp));
  }
}

Status WriterOptions::Validate() const {
  config::ConfigErrors errors;
  config::ConfigReader reader(YAML::Node(), "writer_options", &errors);
  Check(reader);
  if (errors.empty()) return Status::OK();
  return Status::Invalid("invalid writer options: ", errors.Join("; "));
}

int64_t WriteBatchSize(const WriterOptions& options) {
  // Arrow's column writers work in batches of this many values (its default 1,024):
  // each slices the array, scans the definition levels, updates statistics and checks
  // the page size. At 1 MiB pages the per-batch work was ~2% of the write; a page
  // now overshoots data_page_size by at most one batch (data_page_size / 16 values).
  const int64_t rows_per_page =
      options.max_rows_per_page > 0 ? options.max_rows_per_page : options.row_group_size;
  const int64_t batch =
      std::min({kMaxWriteBatchSize, options.data_page_size / 16, rows_per_page});
  return std::max(parquet::DEFAULT_WRITE_BATCH_SIZE, batch);
}

arrow::Result<std::shared_ptr<parquet::WriterProperties>> MakeWriterProperties(
    const WriterOptions& options, const arrow::Schema& schema, arrow::MemoryPool* pool,
    const std::vector<std::string>& plain_columns) {
  ARROW_RETURN_NOT_OK(options.Validate());
  BEGIN_PARQUET_CATCH_EXCEPTIONS
  parquet::WriterProperties::Builder builder;
  if (pool != nullptr) builder.memory_pool(pool);
  builder.version(parquet::ParquetVersion::PARQUET_2_6)
      ->compression(ToArrowCodec(options.compression))
      ->max_row_group_length(options.row_group_size)
      ->data_pagesize(options.data_page_size)
      // A page never spans row groups, so the row group size is "no row limit".
      ->max_rows_per_page(options.max_rows_per_page > 0 ? options.max_rows_per_page
                                                        : options.row_group_size);
  if (options.compression_level) builder.compression_level(*options.compression_level);
  builder.write_batch_size(WriteBatchSize(options));
  builder.disable_dictionary();
  for (const auto& column : DictionaryColumnsOf(options, schema)) {
    if (std::find(plain_columns.begin(), plain_columns.end(), column) !=
        plain_columns.end()) {
      continue;
    }
    builder.enable_dictionary(column);
  }
  if (!options.statistics) {
    builder.disable_statistics();
  } else if (!options.string_statistics) {
    std::vector<std::string> strings;
    for (const auto& field : schema.fields()) StringLeafPaths(*field, "", &strings);
    for (const auto& column : strings) builder.disable_statistics(column);
  }
  for (const auto& column : options.bloom_filter_columns) {
    auto field = FieldAtPath(schema, column);
    if (field == nullptr || field->type()->id() == arrow::Type::BOOL ||
        field->type()->id() == arrow::Type::STRUCT) {
      continue;
    }
    parquet::BloomFilterOptions bloom;
    bloom.fpp = options.bloom_filter_fpp;
    builder.enable_bloom_filter(column, bloom);
  }
  for (const auto& [column, encoding] : options.column_encodings) {
    auto field = FieldAtPath(schema, column);
    if (field == nullptr || !EncodingFits(encoding, *field->type())) continue;
    builder.encoding(column, ToParquetEncoding(encoding));
  }
  if (options.page_index) {
    builder.enable_write_page_index();
  } else {
    builder.disable_write_page_index();
  }
  return builder.build();
  END_PARQUET_CATCH_EXCEPTIONS
}

std::shared_ptr<parquet::ArrowWriterProperties> MakeArrowWriterProperties() {
  return parquet::ArrowWriterProperties::Builder().store_schema()->build();
}

}  // namespace otap_parquet::dataset
