// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/parquet/parquet_exporter_config.h"

#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "otap_parquet/config/config_reader.h"

#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::dataset {
namespace {

using std::chrono::milliseconds;
using testing::AllOf;
using testing::HasSubstr;

arrow::Result<ParquetExporterConfig> Parse(const std::string& yaml,
                                           const std::string& path = "") {
  return config::ParseTyped<ParquetExporterConfig>(YAML::Load(yaml), path);
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
// Guarantees: one Invalid listing every error with its full path and line, with a
// did-you-mean suggestion for each typo.
TEST(ParquetExporterConfigTest, ReportsEveryErrorWithPathAndSuggestion) {
  auto result = Parse(R"(
storge: {file: {base_uri: /tmp/x}}
writer_options:
  target_rows_per_fil: 10
  row_group_size: 0
  flush_when_older_than: 10
)",
                      "nodes.pq_out.config");
  ASSERT_RAISES(Invalid, result.status());
  EXPECT_THAT(
      result.status().message(),
      AllOf(HasSubstr("invalid configuration (5 errors)"),
            HasSubstr("nodes.pq_out.config.storge (line 2): unknown key; did you mean "
                      "\"storage\"?"),
            HasSubstr("nodes.pq_out.config.storage (line 2): required"),
            HasSubstr("nodes.pq_out.config.writer_options.target_rows_per_fil (line 4): "
                      "unknown key; did you mean \"target_rows_per_file\"?"),
            HasSubstr("nodes.pq_out.config.writer_options.row_group_size (line 5): must "
                      "be > 0"),
            HasSubstr("writer_options.flush_when_older_than (line 6): invalid duration "
                      "\"10\"")));
}

// Scenario: gcs and azure storage blocks with every key, then with bad ones.
// Guarantees: each value lands in its field; an unknown auth type, a key of another
// auth type, a missing secret and a URI of another store are each reported.
TEST(ParquetExporterConfigTest, GcsAndAzureStorage) {
  ASSERT_OK_AND_ASSIGN(auto gcs, Parse(R"(
storage:
  gcs:
    base_uri: gs://bucket/lake
    endpoint: http://127.0.0.1:4443
    project_id: proj
    auth: {type: service_account, credentials_file: /etc/key.json}
)"));
  EXPECT_EQ(gcs.storage.kind, StorageKind::kGcs);
  EXPECT_EQ(gcs.storage.gcs.endpoint, "http://127.0.0.1:4443");
  EXPECT_EQ(gcs.storage.gcs.project_id, "proj");
  EXPECT_EQ(gcs.storage.gcs.auth, GcsAuthKind::kServiceAccount);
  EXPECT_EQ(gcs.storage.gcs.credentials_file, "/etc/key.json");
  ASSERT_OK_AND_ASSIGN(gcs, Parse("storage: {gcs: {base_uri: gs://b, auth: anonymous}}"));
  EXPECT_EQ(gcs.storage.gcs.auth, GcsAuthKind::kAnonymous);

  ASSERT_OK_AND_ASSIGN(auto azure, Parse(R"(
storage:
  azure:
    base_uri: az://logs/lake
    account_name: acct
    endpoint: http://127.0.0.1:10000
    auth: {type: account_key, account_key: a2V5}
)"));
  EXPECT_EQ(azure.storage.kind, StorageKind::kAzure);
  EXPECT_EQ(azure.storage.azure.account_name, "acct");
  EXPECT_EQ(azure.storage.azure.endpoint, "http://127.0.0.1:10000");
  EXPECT_EQ(azure.storage.azure.auth, AzureAuthKind::kAccountKey);
  EXPECT_EQ(azure.storage.azure.account_key, "a2V5");
  ASSERT_OK_AND_ASSIGN(
      azure,
      Parse(R"(storage: {azure: {base_uri: "https://acct.blob.core.windows.net/c"}})"));
  EXPECT_EQ(azure.storage.azure.auth, AzureAuthKind::kDefault);
  auto bad = Parse(R"(
storage: {azure: {base_uri: "s3://bucket", auth: {type: magic, credentials_file: x}}}
)");
  ASSERT_RAISES(Invalid, bad.status());
  EXPECT_THAT(
      bad.status().message(),
      AllOf(HasSubstr("storage.azure.auth.type (line 2): must be one of default, "
                      "account_key, sas_token, anonymous, got \"magic\""),
            HasSubstr("storage.azure.auth.credentials_file (line 2): unknown key"),
            HasSubstr(
                "storage.azure.base_uri (line 2): 's3://bucket' is not an Azure URI")));
  bad = Parse("storage: {azure: {base_uri: az://logs, auth: sas_token}}");
  EXPECT_RAISES_WITH_MESSAGE_THAT(
      Invalid, HasSubstr("storage.azure.auth (line 1): sas_token needs auth.sas_token"),
      bad.status());
  bad = Parse("storage: {gcs: {base_uri: gs://b, auth: access_token}}");
  EXPECT_RAISES_WITH_MESSAGE_THAT(
      Invalid,
      HasSubstr("storage.gcs.auth (line 1): access_token needs auth.access_token"),
      bad.status());
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
// Guarantees: each is reported under its key and line, below the node's path
// (`retry` and `storage.s3.base_uri` errors had neither before).
TEST(ParquetExporterConfigTest, RejectsBadValues) {
  auto result = Parse(R"(
storage: {s3: {base_uri: "http://bucket", auth: {type: magic}}}
partitioning_strategies:
  - schema_metadata: ["service.name"]
  - event_time: minute
writer_options: {compression: lzo, compression_level: 99, target_rows_per_file: many}
retry: {backoff_base: 1.0}
)",
                      "pq");
  ASSERT_RAISES(Invalid, result.status());
  EXPECT_THAT(
      result.status().message(),
      AllOf(HasSubstr("pq.storage.s3.auth.type (line 2): must be one of default, "
                      "static_credentials, got \"magic\""),
            HasSubstr("pq.partitioning_strategies[0].schema_metadata[0] (line 4): "
                      "unsupported key 'service.name'"),
            HasSubstr("pq.partitioning_strategies[1].event_time (line 5): must be one "
                      "of hour, day, got \"minute\""),
            HasSubstr("pq.writer_options.compression (line 6): unknown compression "
                      "'lzo'"),
            HasSubstr("pq.writer_options.target_rows_per_file (line 6): expected an "
                      "integer, got many"),
            HasSubstr("pq.retry.backoff_base (line 7): must be > 1.0"),
            HasSubstr("pq.storage.s3.base_uri (line 2): expected s3://bucket/prefix")));
}

// Scenario: the storage block alone, as exporter:parquet and receiver:parquet
// read it: two backends, a typo in a backend key, static credentials without keys.
// Guarantees: each error names its key and line, with a suggestion for the typo.
TEST(ParquetExporterConfigTest, StorageReadsItself) {
  auto read = [](const std::string& yaml) {
    config::ConfigErrors errors;
    config::ConfigReader reader(YAML::Load(yaml), "x.storage", &errors);
    (void)StorageConfig::Read(reader);
    reader.Finish();
    return errors.Join("\n");
  };
  EXPECT_EQ(read("file: {base_uri: /a}\ns3: {base_uri: s3://b/c}"),
            "x.storage (line 1): exactly one of file, s3, gcs, azure must be set, got 2");
  EXPECT_EQ(read("s3:\n  base_uri: s3://b/c\n  regoin: eu"),
            "x.storage.s3.regoin (line 3): unknown key; did you mean \"region\"?");
  EXPECT_EQ(read("s3:\n  base_uri: s3://b/c\n  auth: static_credentials"),
            "x.storage.s3.auth (line 3): static_credentials need access_key_id and "
            "secret_access_key");
  EXPECT_EQ(read("gcs: {base_uri: s3://b}"),
            "x.storage.gcs.base_uri (line 1): expected gs://bucket/prefix, got 's3://b'");
  EXPECT_EQ(read("file: {}"), "x.storage.file.base_uri (line 1): required");
}

// Scenario: settings built in code (not from YAML) with invalid fields.
// Guarantees: Validate() names each key, without a line.
TEST(ParquetExporterConfigTest, ValidateNamesKeysWithoutLines) {
  WriterOptions options;
  options.row_group_size = 0;
  EXPECT_RAISES_WITH_MESSAGE_THAT(
      Invalid,
      ::testing::Eq("invalid writer options: writer_options.row_group_size: must be > 0, "
                    "got 0"),
      options.Validate());
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
      Invalid,
      HasSubstr("writer_options.compression_level (line 3): snappy has no compression"),
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
  EXPECT_THAT(
      bad.status().message(),
      AllOf(HasSubstr("writer_options.dictionary_columns[0] (line 3): must not be empty"),
            HasSubstr("writer_options.max_open_partitions (line 3): must be >= 0")));
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
      AllOf(
          HasSubstr("writer_options.flush_when_older_than (line 3): invalid duration"),
          HasSubstr("writer_options.target_bytes_per_file (line 3): invalid byte size")));
}

}  // namespace
}  // namespace otap_parquet::dataset
