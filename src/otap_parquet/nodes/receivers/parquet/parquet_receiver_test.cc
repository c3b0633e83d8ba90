// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/parquet/parquet_receiver.h"

#include <gmock/gmock.h>

#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::nodes {
namespace {

using ::testing::HasSubstr;

arrow::Result<ParquetReceiverConfig> Parse(const std::string& yaml) {
  return config::ParseTyped<ParquetReceiverConfig>(YAML::Load(yaml), "nodes.pq.config");
}

std::string ErrorOf(const std::string& yaml) {
  auto result = Parse(yaml);
  return result.ok() ? std::string() : result.status().message();
}

// Scenario: the original design's keys (configs/parquet-receiver-demo.yaml).
// Guarantees: each is read into the config and the reader options.
TEST(ParquetReceiverConfigTest, ReadsLegacyKeys) {
  ASSERT_OK_AND_ASSIGN(auto c, Parse(R"(
base_uri: "output_parquet_files"
signal_types: ["logs", "metrics"]
polling_interval: "5s"
processing_options:
  batch_size: 1000
  min_file_age: "10s"
  validate_relations: true
)"));
  EXPECT_EQ(c.storage.kind, dataset::StorageKind::kFile);
  EXPECT_THAT(c.storage.base_uri, HasSubstr("output_parquet_files"));
  EXPECT_EQ(c.signals, (std::vector<Signal>{Signal::kLogs, Signal::kMetrics}));
  EXPECT_EQ(c.polling_interval, std::chrono::seconds(5));
  EXPECT_EQ(c.batch_size, 1000);
  EXPECT_EQ(c.min_file_age, std::chrono::seconds(10));
  EXPECT_TRUE(c.validate_relations);
  EXPECT_FALSE(c.time_range.has_value());
  const dataset::ReaderOptions o = c.ToReaderOptions();
  EXPECT_EQ(o.batch_size, 1000);
  EXPECT_EQ(o.min_file_age, std::chrono::seconds(10));
  EXPECT_OK(o.Validate());
}

// Scenario: only base_uri.
// Guarantees: one-shot, all signals, default batch size.
TEST(ParquetReceiverConfigTest, Defaults) {
  ASSERT_OK_AND_ASSIGN(auto c, Parse("base_uri: /data/lake"));
  EXPECT_EQ(c.polling_interval.count(), 0);
  EXPECT_EQ(c.signals.size(), 3u);
  EXPECT_EQ(c.batch_size, 1000);
  EXPECT_FALSE(c.validate_relations);
}

// Scenario: exporter:parquet's `storage` block instead of base_uri, and a time range
// in RFC 3339 and Unix nanoseconds.
// Guarantees: the storage is parsed like the exporter's; bounds are converted.
TEST(ParquetReceiverConfigTest, ReadsStorageAndTimeRange) {
  ASSERT_OK_AND_ASSIGN(auto c, Parse(R"(
storage:
  s3: {base_uri: s3://bucket/prefix, region: eu-west-1}
time_range:
  start: "2026-11-23T10:00:00Z"
  end: 1796000000000000000
)"));
  EXPECT_EQ(c.storage.kind, dataset::StorageKind::kS3);
  EXPECT_EQ(c.storage.s3.region, "eu-west-1");
  ASSERT_TRUE(c.time_range.has_value());
  EXPECT_EQ(c.time_range->start_unix_nano, 1795428000000000000LL);
  EXPECT_EQ(c.time_range->end_unix_nano, 1796000000000000000LL);
}

// Scenario: mistakes in every part of the config.
// Guarantees: each is reported with its YAML path and line.
TEST(ParquetReceiverConfigTest, ErrorsHavePathsAndLines) {
  const std::string all = ErrorOf(R"(base_uri: /data
signal_types: [logs, events]
polling_intervall: 5s
processing_options:
  batch_size: 0
  validate_relation: true
time_range: {start: yesterday}
)");
  EXPECT_THAT(all, HasSubstr("nodes.pq.config.signal_types (line 2): unknown signal "
                             "\"events\""));
  EXPECT_THAT(all, HasSubstr("nodes.pq.config.polling_intervall (line 3): unknown key; "
                             "did you mean \"polling_interval\"?"));
  EXPECT_THAT(all, HasSubstr("nodes.pq.config.processing_options.batch_size (line 5)"));
  EXPECT_THAT(all, HasSubstr("nodes.pq.config.processing_options.validate_relation "
                             "(line 6): unknown key"));
  EXPECT_THAT(all, HasSubstr("nodes.pq.config.time_range.start (line 7)"));
}

// Scenario: no dataset, both spellings of it, a bad storage block.
// Guarantees: refused with the path of the receiver's config or of the storage key.
TEST(ParquetReceiverConfigTest, DatasetLocationErrors) {
  EXPECT_THAT(ErrorOf("signal_types: [logs]"),
              HasSubstr("nodes.pq.config (line 1): missing required key \"base_uri\""));
  EXPECT_THAT(ErrorOf("base_uri: /a\nstorage: {file: {base_uri: /b}}"),
              HasSubstr("nodes.pq.config.storage (line 2): give either base_uri or "
                        "storage"));
  EXPECT_THAT(ErrorOf("storage:\n  fil: {base_uri: /b}"),
              HasSubstr("nodes.pq.config.storage.fil (line 2)"));
}

}  // namespace
}  // namespace otap_parquet::nodes
