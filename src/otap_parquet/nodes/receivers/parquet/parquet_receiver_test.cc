// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/parquet/parquet_receiver.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <arrow/api.h>
#include <arrow/filesystem/localfs.h>
#include <fmt/format.h>
#include <gmock/gmock.h>

#include "otap_parquet/dataset/compaction.h"
#include "otap_parquet/dataset/dataset_reader_test_util.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/equivalence.h"
#include "otap_parquet/otlp/otlp_json.h"

#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/temp_dir.h"

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

// Scenario: two small log batches appended to a dead letter file opened twice
// (two pipeline instances); then a dead letter on /dev/full.
// Guarantees: one OTLP/JSON line per batch that parses back to the batch's
// records; the second Open shares the first; a failing write is an IOError naming
// the path.
TEST(DeadLetterFileTest, AppendsOneJsonLinePerBatch) {
  const std::string path =
      ::testing::TempDir() + "dead-letter-" + std::to_string(::getpid()) + ".jsonl";
  std::remove(path.c_str());
  ASSERT_OK_AND_ASSIGN(auto request, otlp::ParseOtlpJson(R"({"resourceLogs": [{
      "scopeLogs": [{"logRecords": [{"body": {"stringValue": "a"}},
                                    {"body": {"stringValue": "b"}}]}]}]})"));
  ASSERT_OK_AND_ASSIGN(auto batches,
                       otlp::LogsToOtap(std::get<otlp::LogsRequest>(request)));
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto file, DeadLetterFile::Open(path));
  ASSERT_OK_AND_ASSIGN(auto same, DeadLetterFile::Open(path));
  EXPECT_EQ(file.get(), same.get());
  ASSERT_OK(file->Append(batches[0]));
  ASSERT_OK(same->Append(batches[0]));
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    ASSERT_OK_AND_ASSIGN(auto back, otlp::ParseOtlpJson(line));
    const auto& logs = std::get<otlp::LogsRequest>(back);
    ASSERT_EQ(logs.resource_logs_size(), 1);
    EXPECT_EQ(logs.resource_logs(0).scope_logs(0).log_records_size(), 2);
  }
  EXPECT_EQ(lines, 2);
  std::remove(path.c_str());

  ASSERT_OK_AND_ASSIGN(auto full, DeadLetterFile::Open("/dev/full"));
  auto st = full->Append(batches[0]);
  EXPECT_TRUE(st.IsIOError()) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("/dev/full"));
}

// Run only as the other process of AnotherProcessCannotShareTheFile: opens the dead
// letter file named by OTAP_TEST_DEAD_LETTER and exits 0 (opened), 3 (refused as in
// use) or 1 (another error).
TEST(DeadLetterFileTest, DISABLED_OpenAsAnotherProcess) {
  const char* path = std::getenv("OTAP_TEST_DEAD_LETTER");
  if (path == nullptr) GTEST_SKIP();
  auto file = DeadLetterFile::Open(path);
  if (file.ok()) std::_Exit(0);
  const bool in_use =
      file.status().message().find("in use by another process") != std::string::npos;
  std::_Exit(in_use ? 3 : 1);
}

// Scenario: a dead letter file open in this process; another process (this test
// binary again, running DISABLED_OpenAsAnotherProcess) opens the same path as its
// dead letter file, before and after this process releases it; this process opens
// it under another spelling of the path.
// Guarantees: the other process is refused with an error saying the file is in use
// (two appenders could interleave lines, and one's truncation after a failed append
// would cut the other's line); once released it opens; one process shares one
// instance whatever the spelling. Failed before the fix: the other process opened
// it (and the other spelling made a second, unsynchronized instance).
TEST(DeadLetterFileTest, AnotherProcessCannotShareTheFile) {
  testing::TempDir dir("otap_dead_letter");
  const std::string path = dir.path() + "/dead.jsonl";
  auto other_process = [&] {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setenv("OTAP_TEST_DEAD_LETTER", path.c_str(), 1);
      ::execl("/proc/self/exe", "otap_parquet_tests",
              "--gtest_filter=DeadLetterFileTest.DISABLED_OpenAsAnotherProcess",
              "--gtest_also_run_disabled_tests", static_cast<char*>(nullptr));
      std::_Exit(2);
    }
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  {
    ASSERT_OK_AND_ASSIGN(auto file, DeadLetterFile::Open(path));
    ASSERT_OK_AND_ASSIGN(auto same, DeadLetterFile::Open(dir.path() + "/./dead.jsonl"));
    EXPECT_EQ(file.get(), same.get());
    EXPECT_EQ(other_process(), 3);
  }
  EXPECT_EQ(other_process(), 0);
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
  EXPECT_EQ(c.processing.batch_size, 1000);
  EXPECT_EQ(c.processing.min_file_age, std::chrono::seconds(10));
  EXPECT_TRUE(c.processing.validate_relations);
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
  EXPECT_EQ(c.processing.batch_size, 1000);
  EXPECT_FALSE(c.processing.validate_relations);
}

// Scenario: the reliability keys: retry defaults, checkpoint.max_batches,
// dead_letter.path, processing_options.orphan_grace_period,
// storage_retry.max_elapsed_time.
// Guarantees: retries are on by default (8, 1s..30s); the others are read; a
// dead letter that is not a local file, and max_batches 0, are errors.
TEST(ParquetReceiverConfigTest, ReliabilityKeys) {
  ASSERT_OK_AND_ASSIGN(auto d, Parse("base_uri: /data/lake"));
  EXPECT_EQ(d.retry.max_retries, 8);
  EXPECT_EQ(d.retry.init_backoff, std::chrono::seconds(1));
  EXPECT_EQ(d.retry.max_backoff, std::chrono::seconds(30));
  EXPECT_TRUE(d.dead_letter_path.empty());
  EXPECT_EQ(d.processing.orphan_grace_period, std::chrono::seconds(30));
  EXPECT_EQ(d.storage_max_elapsed_time, std::chrono::minutes(5));
  ASSERT_OK_AND_ASSIGN(auto c, Parse(R"(
base_uri: /data/lake
storage_retry: {max_elapsed_time: 0s}
processing_options: {orphan_grace_period: 2m}
checkpoint: {path: /tmp/ck.json, max_batches: 4}
dead_letter: {path: "file:///var/dead.jsonl"}
)"));
  EXPECT_EQ(c.processing.orphan_grace_period, std::chrono::minutes(2));
  EXPECT_EQ(c.storage_max_elapsed_time.count(), 0);
  EXPECT_THAT(ErrorOf("base_uri: /x\nstorage_retry: {max_elapsed: 1m}"),
              HasSubstr("max_elapsed_time"));
  ASSERT_TRUE(c.checkpoint.has_value());
  EXPECT_EQ(c.checkpoint->max_batches, 4);
  EXPECT_EQ(c.checkpoint->interval, std::chrono::seconds(1));
  EXPECT_EQ(c.dead_letter_path, "/var/dead.jsonl");
  EXPECT_THAT(ErrorOf("base_uri: /x\ndead_letter: {path: s3://b/dead.jsonl}"),
              HasSubstr("dead_letter.path"));
  EXPECT_THAT(ErrorOf("base_uri: /x\ndead_letter: {}"), HasSubstr("dead_letter.path"));
  EXPECT_THAT(ErrorOf("base_uri: /x\ncheckpoint: {path: /c, max_batches: 0}"),
              HasSubstr("checkpoint.max_batches"));
  EXPECT_THAT(ErrorOf("base_uri: /x\nprocessing_options: {min_file_age: 1m, "
                      "orphan_grace_period: 10s}"),
              HasSubstr("must not be shorter than min_file_age"));
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

// Scenario: checkpoint and pacing blocks, valid and invalid.
// Guarantees: keys are read; exactly one of path/object; object stays inside the
// dataset; speed must be positive; mode is fast or original.
TEST(ParquetReceiverConfigTest, CheckpointAndPacing) {
  ASSERT_OK_AND_ASSIGN(auto c, Parse(R"(
base_uri: /data/lake
checkpoint: {path: /var/lib/otap/replay.json, interval: 250ms}
pacing: {mode: original, speed: 60}
)"));
  ASSERT_TRUE(c.checkpoint.has_value());
  EXPECT_EQ(c.checkpoint->path, "/var/lib/otap/replay.json");
  EXPECT_EQ(c.checkpoint->interval, std::chrono::milliseconds(250));
  EXPECT_EQ(c.pacing, ParquetReceiverConfig::Pacing::kOriginal);
  EXPECT_EQ(c.speed, 60.0);
  ASSERT_OK_AND_ASSIGN(auto d, Parse("base_uri: /d\ncheckpoint: {object: _ckpt/r.json}"));
  EXPECT_EQ(d.checkpoint->object, "_ckpt/r.json");
  EXPECT_EQ(d.checkpoint->interval, std::chrono::seconds(1));
  EXPECT_EQ(d.pacing, ParquetReceiverConfig::Pacing::kFast);
  EXPECT_THAT(ErrorOf("base_uri: /d\ncheckpoint: {interval: 1s}"),
              HasSubstr("nodes.pq.config.checkpoint (line 2): give exactly one of"));
  EXPECT_THAT(ErrorOf("base_uri: /d\ncheckpoint: {path: /a, object: b}"),
              HasSubstr("give exactly one of"));
  EXPECT_THAT(ErrorOf("base_uri: /d\ncheckpoint: {object: ../x}"),
              HasSubstr("nodes.pq.config.checkpoint.object (line 2)"));
  EXPECT_THAT(ErrorOf("base_uri: /d\ncheckpoint: {path: /a, intervall: 1s}"),
              HasSubstr("did you mean \"interval\""));
  EXPECT_THAT(ErrorOf("base_uri: /d\npacing: {mode: slow}"),
              HasSubstr("nodes.pq.config.pacing.mode (line 2)"));
  EXPECT_THAT(ErrorOf("base_uri: /d\npacing: {speed: 0}"),
              HasSubstr("nodes.pq.config.pacing.speed (line 2): must be > 0"));
}

// Scenario: `retry` of Nacked batches: defaults, explicit values, bad values.
// Guarantees: off by default (then 1 s doubling up to 30 s); errors name the key and
// line.
TEST(ParquetReceiverConfigTest, Retry) {
  ASSERT_OK_AND_ASSIGN(auto d, Parse("base_uri: /d"));
  EXPECT_EQ(d.retry.max_retries, 8);  // on by default
  EXPECT_EQ(d.retry.init_backoff, std::chrono::seconds(1));
  EXPECT_EQ(d.retry.max_backoff, std::chrono::seconds(30));
  ASSERT_OK_AND_ASSIGN(auto c,
                       Parse("base_uri: /d\nretry: {max_retries: 4, init_backoff: 50ms, "
                             "max_backoff: 2s}"));
  EXPECT_EQ(c.retry.max_retries, 4);
  EXPECT_EQ(c.retry.init_backoff, std::chrono::milliseconds(50));
  EXPECT_EQ(c.retry.max_backoff, std::chrono::seconds(2));
  EXPECT_THAT(ErrorOf("base_uri: /d\nretry: {max_retries: -1}"),
              HasSubstr("nodes.pq.config.retry.max_retries (line 2)"));
  EXPECT_THAT(
      ErrorOf("base_uri: /d\nretry: {init_backoff: 5s, max_backoff: 1s}"),
      HasSubstr("nodes.pq.config.retry.max_backoff (line 2): must not be shorter"));
  EXPECT_THAT(ErrorOf("base_uri: /d\nretry: {max_retry: 2}"),
              HasSubstr("did you mean \"max_retries\""));
}

// Scenario: batches of one stream with event times 0 s, 10 s, 10 s, 40 s, 5 s, one
// without time, then a new stream starting at 5 s, replayed at speed 10 on a fake
// clock (the `now` passed in).
// Guarantees: each is due anchor + gap / speed; equal times are due together; a late
// batch is due in the past (sent at once; the schedule does not shift); an earlier
// time within a stream is due with the latest one; a batch without time is due at
// once (not before the previous one); Restart() anchors the next stream anew.
TEST(PacingScheduleTest, OriginalGapsScaledBySpeed) {
  using engine::Clock;
  using std::chrono::milliseconds;
  constexpr int64_t kSecond = 1'000'000'000;
  const int64_t t0 = 1'795'000'000 * kSecond;
  PacingSchedule schedule(10.0);
  const Clock::time_point w0 = Clock::time_point() + std::chrono::hours(1);
  EXPECT_EQ(schedule.DueAt(t0, w0), w0);
  EXPECT_EQ(schedule.DueAt(t0 + 10 * kSecond, w0 + milliseconds(1)),
            w0 + milliseconds(1000));
  EXPECT_EQ(schedule.DueAt(t0 + 10 * kSecond, w0 + milliseconds(1000)),
            w0 + milliseconds(1000));
  // Offered late (downstream was slow): due in the past.
  EXPECT_EQ(schedule.DueAt(t0 + 40 * kSecond, w0 + milliseconds(9000)),
            w0 + milliseconds(4000));
  EXPECT_EQ(schedule.DueAt(t0 + 5 * kSecond, w0 + milliseconds(9000)),
            w0 + milliseconds(4000));
  EXPECT_EQ(schedule.DueAt(std::nullopt, w0 + milliseconds(3000)),
            w0 + milliseconds(4000));
  // The next stream starts at t0 + 5 s: anchored at the time it is offered.
  schedule.Restart();
  const Clock::time_point w1 = w0 + milliseconds(9500);
  EXPECT_EQ(schedule.DueAt(t0 + 5 * kSecond, w1), w1);
  EXPECT_EQ(schedule.DueAt(t0 + 6 * kSecond, w1), w1 + milliseconds(100));

  PacingSchedule half(0.5);
  EXPECT_EQ(half.DueAt(std::nullopt, w0), w0);
  EXPECT_EQ(half.DueAt(t0, w0), w0);
  EXPECT_EQ(half.DueAt(t0 + 3 * kSecond, w0), w0 + std::chrono::seconds(6));
}

// Scenario: a logs batch whose records have time 0 (observed time used) and set
// times.
// Guarantees: BatchEventTime is the earliest non-zero event time.
TEST(PacingScheduleTest, BatchEventTimeOfLogs) {
  OtapBatch batch(Signal::kLogs);
  auto schema = arrow::schema(
      {arrow::field("id", arrow::uint16()),
       arrow::field("time_unix_nano", arrow::timestamp(arrow::TimeUnit::NANO)),
       arrow::field("observed_time_unix_nano", arrow::timestamp(arrow::TimeUnit::NANO))});
  arrow::TimestampBuilder t(arrow::timestamp(arrow::TimeUnit::NANO),
                            arrow::default_memory_pool());
  ASSERT_OK(t.AppendValues({0, 500, 300}));
  ASSERT_OK_AND_ASSIGN(auto times, t.Finish());
  ASSERT_OK(t.AppendValues({100, 100, 100}));
  ASSERT_OK_AND_ASSIGN(auto observed, t.Finish());
  arrow::UInt16Builder ids;
  ASSERT_OK(ids.AppendValues({0, 1, 2}));
  ASSERT_OK_AND_ASSIGN(auto id, ids.Finish());
  batch.Set(PayloadType::kLogs,
            arrow::RecordBatch::Make(schema, 3, {id, times, observed}));
  EXPECT_EQ(BatchEventTime(batch), 300);
}

// Scenario: `shard` blocks, valid and not.
// Guarantees: index and count are read; a missing key, an index not below count
// and a zero count are errors naming the key.
TEST(ParquetReceiverConfigTest, ShardKeys) {
  ASSERT_OK_AND_ASSIGN(auto d, Parse("base_uri: /data/lake"));
  EXPECT_EQ(d.shard.ToShard(), (dataset::Shard{0, 1}));
  ASSERT_OK_AND_ASSIGN(auto c, Parse("base_uri: /x\nshard: {index: 2, count: 3}"));
  EXPECT_EQ(c.shard.ToShard(), (dataset::Shard{2, 3}));
  EXPECT_THAT(ErrorOf("base_uri: /x\nshard: {index: 3, count: 3}"),
              HasSubstr("shard.index"));
  EXPECT_THAT(ErrorOf("base_uri: /x\nshard: {count: 3}"), HasSubstr("\"index\""));
  EXPECT_THAT(ErrorOf("base_uri: /x\nshard: {index: 0, count: 0}"),
              HasSubstr("shard.count"));
}

// Scenario: `processing_options`, `time_range` and `shard` read as blocks of their
// own (as `checkpoint` and `retry`), through ConfigReader with their own paths.
// Guarantees: each struct reads its keys and reports its errors at its key (an
// unknown key, an empty range, an index not below count); ToReaderOptions carries
// them over.
TEST(ParquetReceiverConfigTest, NestedBlocksReadThemselves) {
  using C = ParquetReceiverConfig;
  ASSERT_OK_AND_ASSIGN(auto p, config::ParseTyped<C::ProcessingOptions>(
                                   YAML::Load("{batch_size: 7, min_file_age: 2s}"),
                                   "pq.processing_options"));
  EXPECT_EQ(p.batch_size, 7);
  EXPECT_EQ(p.min_file_age, std::chrono::seconds(2));
  EXPECT_EQ(p.orphan_grace_period, std::chrono::seconds(30));
  auto bad = config::ParseTyped<C::ProcessingOptions>(YAML::Load("{batch_sizes: 7}"),
                                                      "pq.processing_options");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("pq.processing_options.batch_sizes"));

  ASSERT_OK_AND_ASSIGN(auto r, config::ParseTyped<C::TimeRangeConfig>(
                                   YAML::Load("{start: 5}"), "pq.time_range"));
  EXPECT_EQ(r.ToTimeRange().start_unix_nano, 5);
  EXPECT_EQ(r.ToTimeRange().end_unix_nano, INT64_MAX);
  auto empty = config::ParseTyped<C::TimeRangeConfig>(YAML::Load("{start: 9, end: 9}"),
                                                      "pq.time_range");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("start must be before end"));

  ASSERT_OK_AND_ASSIGN(auto shard, config::ParseTyped<C::ShardConfig>(
                                       YAML::Load("{index: 1, count: 4}"), "pq.shard"));
  EXPECT_EQ(shard.ToShard(), (dataset::Shard{1, 4}));
  auto over =
      config::ParseTyped<C::ShardConfig>(YAML::Load("{index: 4, count: 4}"), "pq.shard");
  ASSERT_FALSE(over.ok());
  EXPECT_THAT(over.status().message(), HasSubstr("pq.shard.index"));
  EXPECT_THAT(over.status().message(), HasSubstr("got index 4 of count 4"));

  ASSERT_OK_AND_ASSIGN(auto c, Parse(R"(
base_uri: /x
processing_options: {batch_size: 9}
time_range: {end: 100}
shard: {index: 0, count: 2}
)"));
  const dataset::ReaderOptions o = c.ToReaderOptions();
  EXPECT_EQ(o.batch_size, 9);
  ASSERT_TRUE(o.time_range.has_value());
  EXPECT_EQ(o.time_range->start_unix_nano, 0);
  EXPECT_EQ(o.time_range->end_unix_nano, 100);
  EXPECT_EQ(c.shard.ToShard(), (dataset::Shard{0, 2}));
}

// Scenario: the receiver's `retry` block on the engine's backoff policy.
// Guarantees: init_backoff doubling up to max_backoff, without jitter (as before).
TEST(ParquetReceiverConfigTest, RetryMapsOntoTheBackoffPolicy) {
  ParquetReceiverConfig::Retry retry;
  util::Backoff backoff(retry.Policy());
  EXPECT_EQ(backoff.Delay(1), std::chrono::nanoseconds(retry.init_backoff));
  EXPECT_EQ(backoff.Delay(2), std::chrono::nanoseconds(retry.init_backoff * 2));
  EXPECT_EQ(backoff.Delay(30), std::chrono::nanoseconds(retry.max_backoff));
}

// The pipeline side of a receiver outside a pipeline: keeps every batch it sends.
class CaptureEffect : public engine::EffectHandler {
 public:
  const std::string& node_id() const override { return id_; }
  int core() const override { return 0; }
  spdlog::logger& logger() override { return *spdlog::default_logger(); }
  engine::NodeMetrics& metrics() override { return metrics_; }
  arrow::Status Send(engine::PData msg, std::string_view) override {
    sent.push_back(std::move(msg.batch));
    return arrow::Status::OK();
  }
  bool CanSend(std::string_view) const override { return true; }
  arrow::Status SendFromAnyThread(engine::PData&, engine::Clock::time_point,
                                  std::string_view) override {
    return arrow::Status::Invalid("not from other threads");
  }
  void Subscribe(engine::PData&, uint64_t) override {}
  void StartPeriodicTimer(engine::Clock::duration) override {}
  void CancelTimer() override {}
  void ReportFinished() override {}
  void ReportUndelivered(std::string_view how, int64_t, int64_t) override {
    undelivered.emplace_back(how);
  }
  void Wake() override {}

  std::vector<OtapBatch> sent;
  std::vector<std::string> undelivered;

 private:
  std::string id_ = "pq";
  engine::NodeMetrics metrics_;
};

// Runs `receiver` on a virtual clock until it has done `passes` more passes.
void PollPasses(engine::Receiver& receiver, CaptureEffect& effect,
                engine::Clock::time_point* now, int passes) {
  for (int i = 0; i < 100'000 && passes > 0; ++i) {
    const auto next = receiver.Poll(*now, effect);
    if (next > *now) {
      *now = next;
      --passes;
    }
  }
}

// Scenario: a polling receiver:parquet (batches of 4 logs) is part-way through a
// pass over three id spaces of small files — its plan lists the old files, it has
// emitted `polls` batches — when `compact` commits every partition; with --grace 0
// the superseded files are deleted at once, under the reader's feet; with a grace
// period they stay. It then polls on for three more passes. Every step is a Poll
// call on a virtual clock: no timing.
// Guarantees: the records emitted equal the dataset's, each exactly once (a
// superseded file that vanished is not skipped: the pass is planned again and
// continues at the same record in the compacted partition); nothing is reported
// undelivered.
class ReceiverDuringCompactionTest
    : public ::testing::TestWithParam<std::tuple<bool, int>> {};

TEST_P(ReceiverDuringCompactionTest, EachRecordOnce) {
  const auto [grace_zero, polls] = GetParam();
  otap_parquet::testing::TempDir dir("receiver_compaction");
  generator::GeneratorOptions gen;
  gen.items_per_scope = 4;
  dataset::testing::TestWriteOptions write;
  write.default_rotate_rows = 9;
  ASSERT_OK_AND_ASSIGN(auto expected, dataset::testing::WriteGeneratedDataset(
                                          dir.path(), {Signal::kLogs}, 9, gen, write,
                                          /*requests_per_partition=*/3));
  engine::NodeSettings settings;
  settings.node_id = "pq";
  settings.logger = spdlog::default_logger();
  ASSERT_OK_AND_ASSIGN(
      auto node, ParquetReceiver::Make(settings, YAML::Load(fmt::format(R"(
base_uri: "{}"
polling_interval: 1h
watch: poll
processing_options: {{batch_size: 4}}
)",
                                                                        dir.path()))));
  auto& receiver = static_cast<engine::Receiver&>(*node);
  CaptureEffect effect;
  ASSERT_OK(receiver.Start(effect));
  auto now = engine::Clock::now();
  for (int i = 0; i < polls; ++i) receiver.Poll(now, effect);
  ASSERT_EQ(effect.sent.size(), static_cast<size_t>(polls));
  dataset::CompactOptions options;
  options.older_than = std::chrono::milliseconds(0);
  options.grace = grace_zero ? std::chrono::milliseconds(0) : std::chrono::hours(1);
  options.fsync = false;
  ASSERT_OK_AND_ASSIGN(auto report,
                       dataset::Compact(std::make_shared<arrow::fs::LocalFileSystem>(),
                                        dir.path(), options));
  ASSERT_EQ(report.compacted, 3);
  PollPasses(receiver, effect, &now, 3);
  std::vector<otlp::OtlpRequest> actual;
  for (const auto& batch : effect.sent) {
    ASSERT_OK_AND_ASSIGN(auto request, otlp::FromOtap(batch));
    actual.push_back(std::move(request));
  }
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
  EXPECT_THAT(effect.undelivered, ::testing::IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(GraceAndPosition, ReceiverDuringCompactionTest,
                         ::testing::Combine(::testing::Bool(),
                                            ::testing::Values(0, 1, 5, 9, 14)),
                         [](const auto& info) {
                           return fmt::format(
                               "{}_after_{}_batches",
                               std::get<0>(info.param) ? "grace0" : "grace1h",
                               std::get<1>(info.param));
                         });

}  // namespace
}  // namespace otap_parquet::nodes
