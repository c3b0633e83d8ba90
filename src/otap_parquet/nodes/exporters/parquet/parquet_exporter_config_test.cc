// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/parquet/parquet_exporter_config.h"

#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::dataset {
namespace {

using std::chrono::milliseconds;
using testing::AllOf;
using testing::HasSubstr;

arrow::Result<ParquetExporterConfig> Parse(const std::string& yaml) {
  return ParseParquetExporterConfig(YAML::Load(yaml));
}

// Scenario: a config using every key upstream and we accept.
// Guarantees: each value lands in its field; durations and sizes are parsed.
TEST(ParquetExporterConfigTest, ParsesEveryKey) {
  ASSERT_OK_AND_ASSIGN(auto config, Parse(R"(
storage:
  s3:
    base_uri: s3://bucket/prefix
    region: eu-west-1
    endpoint: http://localhost:9000
    allow_http: true
    auth: {type: static_credentials, access_key_id: AK, secret_access_key: SK}
partitioning_strategies:
  - schema_metadata: ["_part_id"]
  - event_time: hour
writer_options:
  target_rows_per_file: 5000
  target_bytes_per_file: 64MiB
  flush_when_older_than: 10s
  compression: snappy
  row_group_size: 1000
  data_page_size: 65536
  max_rows_per_page: 5000
  dictionary: false
  statistics: false
  string_statistics: true
  bloom_filter_columns: [trace_id]
retry: {max_retries: 3, init_backoff: 50ms, max_backoff: 1m, backoff_base: 3.0,
        retry_timeout: 1m30s}
)"));
  EXPECT_EQ(config.storage.kind, StorageKind::kS3);
  EXPECT_EQ(config.storage.base_uri, "s3://bucket/prefix");
  EXPECT_EQ(config.storage.s3.region, "eu-west-1");
  EXPECT_TRUE(config.storage.s3.allow_http);
  EXPECT_EQ(config.storage.s3.auth, S3AuthKind::kStaticCredentials);
  EXPECT_EQ(config.storage.s3.access_key_id, "AK");
  EXPECT_EQ(config.partitioning.event_time, TimeGranularity::kHour);
  const auto& w = config.writer_options;
  EXPECT_EQ(w.target_rows_per_file, 5000);
  EXPECT_EQ(w.target_bytes_per_file, 64 << 20);
  EXPECT_EQ(w.flush_when_older_than, milliseconds(10'000));
  EXPECT_EQ(w.compression, Compression::kSnappy);
  EXPECT_EQ(w.row_group_size, 1000);
  EXPECT_EQ(w.data_page_size, 65536);
  EXPECT_FALSE(w.dictionary);
  EXPECT_FALSE(w.statistics);
  EXPECT_TRUE(w.string_statistics);
  EXPECT_EQ(w.max_rows_per_page, 5000);
  EXPECT_EQ(w.bloom_filter_columns, std::vector<std::string>{"trace_id"});
  EXPECT_EQ(config.storage.retry.max_retries, 3);
  EXPECT_EQ(config.storage.retry.init_backoff, milliseconds(50));
  EXPECT_EQ(config.storage.retry.max_backoff, milliseconds(60'000));
  EXPECT_EQ(config.storage.retry.retry_timeout, milliseconds(90'000));
  EXPECT_DOUBLE_EQ(config.storage.retry.backoff_base, 3.0);
}

// Scenario: the smallest config, upstream's file storage.
// Guarantees: defaults apply: zstd, 1,048,576-row groups, no event-time levels
// (`_part_id` only, which the writer always adds).
TEST(ParquetExporterConfigTest, MinimalFileConfigGetsDefaults) {
  ASSERT_OK_AND_ASSIGN(auto config, Parse("storage: {file: {base_uri: /tmp/x}}"));
  EXPECT_EQ(config.storage.kind, StorageKind::kFile);
  EXPECT_FALSE(config.partitioning.event_time.has_value());
  EXPECT_EQ(config.writer_options.compression, Compression::kZstd);
  EXPECT_EQ(config.writer_options.row_group_size, 1'048'576);
}

// Scenario: typos in keys at two levels and an invalid value.
// Guarantees: one Invalid listing every error with its full path, with a
// did-you-mean suggestion for each typo.
TEST(ParquetExporterConfigTest, ReportsEveryErrorWithPathAndSuggestion) {
  auto result = ParseParquetExporterConfig(YAML::Load(R"(
storge: {file: {base_uri: /tmp/x}}
writer_options:
  target_rows_per_fil: 10
  row_group_size: 0
  flush_when_older_than: 10
)"),
                                           "nodes.pq_out.config");
  ASSERT_RAISES(Invalid, result.status());
  EXPECT_THAT(
      result.status().message(),
      AllOf(
          HasSubstr("invalid configuration (5 errors)"),
          HasSubstr("nodes.pq_out.config.storge: unknown key; did you mean \"storage\"?"),
          HasSubstr("nodes.pq_out.config.storage: required"),
          HasSubstr("nodes.pq_out.config.writer_options.target_rows_per_fil: unknown "
                    "key; did you mean \"target_rows_per_file\"?"),
          HasSubstr("nodes.pq_out.config.writer_options.row_group_size: must be > 0"),
          HasSubstr("writer_options.flush_when_older_than: invalid duration \"10\"")));
}

// Scenario: the partitioning forms that name no level or only `_part_id`.
// Guarantees: all are accepted and mean `_part_id` only (the writer always adds it:
// no config gives an unpartitioned layout); upstream's form with event time keeps
// the time level.
TEST(ParquetExporterConfigTest, PartIdOnlyForms) {
  for (const char* strategies :
       {"[]", "[{schema_metadata: [_part_id]}]", "[{schema_metadata: []}]"}) {
    ASSERT_OK_AND_ASSIGN(auto config,
                         Parse(std::string("storage: {file: {base_uri: /tmp/x}}\n"
                                           "partitioning_strategies: ") +
                               strategies));
    EXPECT_FALSE(config.partitioning.event_time.has_value()) << strategies;
  }
  ASSERT_OK_AND_ASSIGN(auto config, Parse(R"(
storage: {file: {base_uri: /tmp/x}}
partitioning_strategies: [{event_time: day}, {schema_metadata: [_part_id]}]
)"));
  EXPECT_EQ(config.partitioning.event_time, TimeGranularity::kDay);
}

// Scenario: values of the wrong kind or out of range.
// Guarantees: each is reported under its key.
TEST(ParquetExporterConfigTest, RejectsBadValues) {
  auto result = Parse(R"(
storage: {s3: {base_uri: "http://bucket", auth: {type: magic}}}
partitioning_strategies:
  - schema_metadata: ["service.name"]
  - event_time: minute
writer_options: {compression: lzo, compression_level: 99, target_rows_per_file: many}
retry: {backoff_base: 1.0}
)");
  ASSERT_RAISES(Invalid, result.status());
  EXPECT_THAT(
      result.status().message(),
      AllOf(HasSubstr("storage.s3.auth.type: unsupported auth type 'magic'"),
            HasSubstr("partitioning_strategies[0].schema_metadata[0]: unsupported "
                      "key 'service.name'"),
            HasSubstr("partitioning_strategies[1].event_time: expected hour or day"),
            HasSubstr("writer_options.compression: unknown compression 'lzo'"),
            HasSubstr("writer_options.target_rows_per_file: expected a row count, "
                      "got 'many'"),
            HasSubstr("retry.backoff_base: must be > 1.0"),
            HasSubstr("storage.s3.base_uri: expected s3://bucket/prefix")));
}

// Scenario: compression levels for codecs with and without levels.
// Guarantees: a level in range is kept; out of range or levelless codecs are named.
TEST(ParquetExporterConfigTest, CompressionLevel) {
  ASSERT_OK_AND_ASSIGN(auto config, Parse(R"(
storage: {file: {base_uri: /tmp/x}}
writer_options: {compression: zstd, compression_level: 9}
)"));
  EXPECT_EQ(config.writer_options.compression_level, 9);
  auto bad = Parse(R"(
storage: {file: {base_uri: /tmp/x}}
writer_options: {compression: snappy, compression_level: 1}
)");
  EXPECT_RAISES_WITH_MESSAGE_THAT(
      Invalid, HasSubstr("writer_options.compression_level: snappy has no compression"),
      bad.status());
}

// Scenario: dictionary_columns and max_open_partitions, set and invalid.
// Guarantees: a list replaces the default columns; omitted keys keep the defaults;
// a negative bound and an empty column name are reported under their keys.
TEST(ParquetExporterConfigTest, DictionaryColumnsAndOpenPartitions) {
  ASSERT_OK_AND_ASSIGN(auto config, Parse(R"(
storage: {file: {base_uri: /tmp/x}}
writer_options: {dictionary_columns: [key, "scope.name"], max_open_partitions: 8}
)"));
  EXPECT_EQ(config.writer_options.dictionary_columns,
            (std::vector<std::string>{"key", "scope.name"}));
  EXPECT_EQ(config.writer_options.max_open_partitions, 8);
  ASSERT_OK_AND_ASSIGN(config, Parse("storage: {file: {base_uri: /tmp/x}}"));
  EXPECT_EQ(config.writer_options.dictionary_columns, DefaultDictionaryColumns());
  EXPECT_EQ(config.writer_options.max_open_partitions, 64);
  auto bad = Parse(R"(
storage: {file: {base_uri: /tmp/x}}
writer_options: {dictionary_columns: [""], max_open_partitions: -1}
)");
  ASSERT_RAISES(Invalid, bad.status());
  EXPECT_THAT(bad.status().message(),
              AllOf(HasSubstr("writer_options.dictionary_columns[0]: must not be empty"),
                    HasSubstr("writer_options.max_open_partitions: must be >= 0")));
}

// Scenario: humantime-style durations and byte sizes in writer_options and retry.
// Guarantees: they parse with config/units (units combine, decimal and binary
// sizes); a missing or unknown unit is reported under its key.
TEST(ParquetExporterConfigTest, DurationsAndSizes) {
  ASSERT_OK_AND_ASSIGN(auto config, Parse(R"(
storage: {s3: {base_uri: s3://bucket/prefix}}
writer_options:
  flush_when_older_than: 1m30s
  target_bytes_per_file: 128MiB
  data_page_size: 64 KB
retry: {init_backoff: 500ms, retry_timeout: 1h 2m}
)"));
  EXPECT_EQ(config.writer_options.flush_when_older_than, std::chrono::seconds(90));
  EXPECT_EQ(config.writer_options.target_bytes_per_file, 128 << 20);
  EXPECT_EQ(config.writer_options.data_page_size, 64'000);
  EXPECT_EQ(config.storage.retry.init_backoff, milliseconds(500));
  EXPECT_EQ(config.storage.retry.retry_timeout, std::chrono::minutes(62));
  auto bad = Parse(R"(
storage: {file: {base_uri: /tmp/x}}
writer_options: {flush_when_older_than: 10 parsecs, target_bytes_per_file: 12 parsecs}
)");
  ASSERT_RAISES(Invalid, bad.status());
  EXPECT_THAT(
      bad.status().message(),
      AllOf(HasSubstr("writer_options.flush_when_older_than: invalid duration"),
            HasSubstr("writer_options.target_bytes_per_file: invalid byte size")));
}

}  // namespace
}  // namespace otap_parquet::dataset
