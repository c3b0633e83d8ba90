// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/parquet/parquet_exporter.h"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/engine/registry.h"
#include "otap_parquet/engine/testing/fake_effect.h"
#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/generator/test_batches.h"
#include "otap_parquet/nodes/builtin_nodes.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::nodes {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using fakes::FakeEffect;
using fakes::Outcomes;

// Counts published and temporary files under `dir`.
std::pair<int, int> CountFiles(const fs::path& dir) {
  int parquet = 0, tmp = 0;
  if (!fs::exists(dir)) return {0, 0};
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name.ends_with(".tmp")) {
      ++tmp;
    } else if (name.ends_with(".parquet")) {
      ++parquet;
    }
  }
  return {parquet, tmp};
}

engine::Exporter& AsExporter(std::unique_ptr<engine::Node>& node) {
  return static_cast<engine::Exporter&>(*node);
}

// Waits until `pred` holds (the WAL's sync thread Acks on its own schedule; no time
// limit that a loaded machine could exceed).
template <typename Pred>
void WaitFor(Pred pred) {
  while (!pred()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// Ticks the exporter's timer every `period` while `pred` holds, at most `max_ticks`
// times (the assertions after it then say what is missing): what the publisher
// thread settles (a publish, a failure) reaches the metrics and the senders at a tick.
template <typename Pred>
arrow::Status TickWhile(engine::Exporter& exporter, FakeEffect& effect, Pred pred,
                        std::chrono::milliseconds period = std::chrono::milliseconds(1),
                        int max_ticks = std::numeric_limits<int>::max()) {
  for (int i = 0; i < max_ticks && pred(); ++i) {
    std::this_thread::sleep_for(period);
    ARROW_RETURN_NOT_OK(exporter.OnTimer(engine::Clock::now(), effect));
  }
  return arrow::Status::OK();
}

// A graceful stop, given `seconds`.
arrow::Status Stop(engine::Exporter& exporter, FakeEffect& effect, int seconds = 60) {
  return exporter.Shutdown(engine::Clock::now() + std::chrono::seconds(seconds), effect)
      .status();
}

constexpr char kByPartId[] = "[{schema_metadata: [_part_id]}]";
constexpr char kHourly[] = "[{event_time: hour}]";

// `items` logs of one resource and scope, alternating between hour 00 and hour 01
// of 2025-11-25.
engine::PData OverTwoHours(const std::shared_ptr<Outcomes>& sink, uint64_t seq,
                           int items) {
  engine::PData msg(testing::LogsOverTwoHours(testing::OneScopeOptions(items, seq + 1)));
  msg.context.Subscribe(sink, {0, seq});
  return msg;
}

class ParquetExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("otap_pqexp_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    sink_ = std::make_shared<Outcomes>();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
    fs::remove_all(base_.string() + "-wal", ec);
  }

  arrow::Result<std::unique_ptr<engine::Node>> MakeNode(
      const std::string& extra, const std::string& partitioning = kByPartId,
      const std::optional<fs::path>& base = std::nullopt) {
    const YAML::Node config =
        YAML::Load("storage: {file: {base_uri: '" + base.value_or(base_).string() +
                   "'}}\n"
                   "partitioning_strategies: " +
                   partitioning + "\n" + extra);
    engine::NodeSettings settings;
    settings.node_id = "pq";
    settings.urn = config::ParseNodeUrn("urn:otel:exporter:parquet").ValueOrDie();
    settings.config_path = "nodes.pq.config";
    settings.logger = spdlog::default_logger();
    return kParquetExporterFactory.create(settings, config);
  }

  // Config of a WAL beside the dataset (`<base>-wal`, so that breaking the dataset's
  // storage leaves the log alone) with `wal_keys` added, rows flushed by age only.
  std::string WalBesideTheDataset(const std::string& flush_age,
                                  const std::string& wal_keys = "") {
    return "wal: {enabled: true, path: '" + base_.string() + "-wal'" + wal_keys +
           "}\nwriter_options: {target_rows_per_file: 1000000, flush_when_older_than: " +
           flush_age + "}\n";
  }

  // A node made by MakeNode, started on `effect` (a restart, after a kill when the
  // last one was destroyed without Shutdown).
  arrow::Result<std::unique_ptr<engine::Node>> StartNode(
      FakeEffect& effect, const std::string& extra,
      const std::string& partitioning = kByPartId,
      const std::optional<fs::path>& base = std::nullopt) {
    ARROW_ASSIGN_OR_RAISE(auto node, MakeNode(extra, partitioning, base));
    ARROW_RETURN_NOT_OK(AsExporter(node).Start(effect));
    return node;
  }

  // The dataset's storage broken (its base directory replaced by a file, refused
  // also to root) and back.
  void BreakStorage() {
    fs::remove_all(base_);
    std::ofstream(base_.string()) << "not a directory";
  }
  void RestoreStorage() {
    fs::remove(base_);
    fs::create_directories(base_);
  }

  // Hour 01 of 2025-11-25 made unwritable (a file where its directory goes): the
  // returned path, to remove to clear the way.
  fs::path BlockHour01() {
    const fs::path blocked = base_ / "logs" / "date=2025-11-25" / "hour=01";
    fs::create_directories(blocked.parent_path());
    std::ofstream(blocked.string()) << "not a directory";
    return blocked;
  }

  // Exports 400 logs over hours 00 and 01 (hour 01 blocked) and ticks until the
  // record's write is reported failed: hour 00 is published, hour 01 is not.
  arrow::Status ExportUntilHour01Fails(engine::Exporter& exporter, FakeEffect& effect) {
    ARROW_RETURN_NOT_OK(exporter.Export(OverTwoHours(sink_, 0, 400), effect));
    WaitFor([&] { return acked() == 1u; });
    return TickWhile(exporter, effect,
                     [&] { return effect.metrics().extra("wal_rewrite_failures") == 0; });
  }

  engine::PData Message(uint64_t seq) {
    engine::PData msg(testing::LogsBatch(10, seq + 1));
    msg.context.Subscribe(sink_, {0, seq});
    return msg;
  }

  size_t acked() {
    std::lock_guard<std::mutex> lock(sink_->mutex);
    return sink_->acked.size();
  }
  size_t nacked() {
    std::lock_guard<std::mutex> lock(sink_->mutex);
    return sink_->nacked.size();
  }

  fs::path base_;
  std::shared_ptr<Outcomes> sink_;
  FakeEffect effect_{"pq"};
};

// Scenario: config errors in the exporter's own keys, in upstream's keys (bad
// value, typo) and in our max_pending_batches.
// Guarantees: every error is reported at once, each with the node's YAML path and
// line, both by validate_config and by the engine's whole-file validation.
TEST_F(ParquetExporterTest, ConfigErrorsCarryTheirPath) {
  const YAML::Node config = YAML::Load(
      "storge: {file: {base_uri: /tmp/x}}\n"
      "writer_options:\n"
      "  target_rows_per_file: -1\n"
      "max_pending_batches: 0\n");
  config::ConfigErrors errors;
  kParquetExporterFactory.validate_config(config, "nodes.pq.config", &errors);
  const std::string text = errors.ToStatus().ToString();
  EXPECT_THAT(text, HasSubstr("nodes.pq.config.storge (line 1): unknown key"));
  EXPECT_THAT(text, HasSubstr("did you mean \"storage\"?"));
  EXPECT_THAT(text, HasSubstr("nodes.pq.config.writer_options.target_rows_per_file "
                              "(line 3): must be >= 0"));
  EXPECT_THAT(text, HasSubstr("nodes.pq.config.max_pending_batches (line 4)"));

  const std::string yaml =
      "version: otel_dataflow/v1\n"
      "groups:\n  g:\n    pipelines:\n      p:\n        nodes:\n"
      "          gen: {type: receiver:traffic_generator, config: {traffic_config: "
      "{log_weight: 1}}}\n"
      "          pq:\n"
      "            type: exporter:parquet\n"
      "            config:\n"
      "              storage: {file: {base_uri: /tmp/x}}\n"
      "              writer_options: {flush_when_older_than: 10parsecs}\n"
      "        connections:\n"
      "          - {from: gen, to: pq}\n";
  auto result = engine::ParseAndValidate(yaml, "t.yaml", BuiltinRegistry());
  ASSERT_RAISES(Invalid, result.status());
  EXPECT_THAT(result.status().message(),
              HasSubstr("groups.g.pipelines.p.nodes.pq.config.writer_options."
                        "flush_when_older_than (line 12)"));
  // A valid config passes, and creating the node opens no storage.
  config::ConfigErrors none;
  kParquetExporterFactory.validate_config(
      YAML::Load("storage: {file: {base_uri: /tmp/x}}\nmax_pending_batches: 3"),
      "n.config", &none);
  EXPECT_TRUE(none.empty()) << none.ToStatus().ToString();
}

// Scenario: target_rows_per_file far above what is written and
// flush_when_older_than 1s; three batches, timer ticks before and after the age.
// Guarantees: no Ack while the rows are only in open files (not even after a tick
// before the age); the tick past flush_when_older_than publishes the files and
// Acks all three; the timer runs at the writer's tick interval; metrics show it.
TEST_F(ParquetExporterTest, AcksOnlyAfterTheFlush) {
  ASSERT_OK_AND_ASSIGN(auto node,
                       MakeNode("writer_options: {target_rows_per_file: 1000000, "
                                "flush_when_older_than: 1s}"));
  auto& exporter = AsExporter(node);
  ASSERT_OK(exporter.Start(effect_));
  ASSERT_TRUE(effect_.timer.has_value());
  EXPECT_EQ(*effect_.timer, std::chrono::seconds(1));
  for (uint64_t i = 0; i < 3; ++i) ASSERT_OK(exporter.Export(Message(i), effect_));
  EXPECT_EQ(acked(), 0u);
  ASSERT_OK(exporter.OnTimer(engine::Clock::now(), effect_));
  EXPECT_EQ(acked(), 0u);
  EXPECT_EQ(CountFiles(base_).first, 0);
  EXPECT_EQ(effect_.metrics().extra("parquet_pending_batches"), 3);

  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  // The age flush runs on the publisher thread; a later tick settles it.
  ASSERT_OK(exporter.OnTimer(engine::Clock::now(), effect_));
  EXPECT_EQ(effect_.metrics().extra("parquet_flushes", "age"), 1);
  ASSERT_OK(TickWhile(exporter, effect_, [&] { return acked() < 3u; }));
  EXPECT_EQ(acked(), 3u);
  EXPECT_EQ(nacked(), 0u);
  EXPECT_GT(CountFiles(base_).first, 0);
  EXPECT_EQ(CountFiles(base_).second, 0);
  EXPECT_EQ(effect_.metrics().extra("parquet_rows_written", "logs"), 30);
  EXPECT_EQ(effect_.metrics().extra("parquet_flushes", "age"), 1);
  EXPECT_GT(effect_.metrics().extra("parquet_files_closed"), 0);
  EXPECT_GT(effect_.metrics().extra("parquet_bytes_written"), 0);
  ASSERT_TRUE(Stop(exporter, effect_, 10).ok());
}

// Scenario: no flush rule can be reached soon (row target far away, age 1 h, no
// timer tick), max_pending_batches 2: two batches, a third, then a graceful shutdown.
// Guarantees: reaching the bound publishes the pending batches at once (flush
// reason "pending") and Acks them, so intake never stops waiting for a timer; the
// third batch is Acked by Shutdown before its future completes.
TEST_F(ParquetExporterTest, PendingBoundFlushesAtOnceAndShutdownAcksTheRest) {
  ASSERT_OK_AND_ASSIGN(auto node, MakeNode("max_pending_batches: 2\n"
                                           "writer_options: {target_rows_per_file: "
                                           "1000000, flush_when_older_than: 1h}"));
  auto& exporter = AsExporter(node);
  ASSERT_OK(exporter.Start(effect_));
  EXPECT_TRUE(exporter.AcceptsPdata());
  ASSERT_OK(exporter.Export(Message(0), effect_));
  EXPECT_TRUE(exporter.AcceptsPdata());
  EXPECT_EQ(acked(), 0u);
  ASSERT_OK(exporter.Export(Message(1), effect_));
  EXPECT_EQ(acked(), 2u);
  EXPECT_TRUE(exporter.AcceptsPdata());
  EXPECT_EQ(effect_.metrics().extra("parquet_flushes", "pending"), 1);
  EXPECT_EQ(effect_.metrics().extra("parquet_pending_batches"), 0);
  ASSERT_OK(exporter.Export(Message(2), effect_));
  EXPECT_EQ(acked(), 2u);
  auto fut = exporter.Shutdown(engine::Clock::now() + std::chrono::seconds(10), effect_);
  ASSERT_TRUE(fut.is_finished());
  ASSERT_OK(fut.status());
  EXPECT_EQ(acked(), 3u);
  EXPECT_EQ(nacked(), 0u);
  EXPECT_TRUE(exporter.AcceptsPdata());
  EXPECT_EQ(effect_.metrics().extra("parquet_flushes", "shutdown"), 1);
  EXPECT_EQ(CountFiles(base_).second, 0);
  EXPECT_GT(CountFiles(base_).first, 0);
}

// Scenario: after Start the base directory is replaced by a regular file (storage
// unwritable, also when running as root), then restored.
// Guarantees: the batch is Nacked retryable with the storage error; the node
// keeps accepting input, and a later batch is written and Acked.
TEST_F(ParquetExporterTest, NacksWhenStorageIsUnwritableAndKeepsRunning) {
  ASSERT_OK_AND_ASSIGN(auto node, MakeNode("writer_options: {target_rows_per_file: 5}"));
  auto& exporter = AsExporter(node);
  ASSERT_OK(exporter.Start(effect_));
  BreakStorage();
  ASSERT_OK(exporter.Export(Message(0), effect_));
  ASSERT_EQ(nacked(), 1u);
  EXPECT_FALSE(sink_->nacks[0].permanent);
  EXPECT_THAT(sink_->nacks[0].reason, HasSubstr("IOError"));
  EXPECT_TRUE(exporter.AcceptsPdata());
  EXPECT_GT(effect_.metrics().extra("parquet_write_errors"), 0);

  RestoreStorage();
  ASSERT_OK(exporter.Export(Message(1), effect_));  // 10 rows >= 5: flushed at once
  // Published on the publisher thread, settled by a tick.
  ASSERT_OK(TickWhile(exporter, effect_, [&] { return acked() < 1u; }));
  EXPECT_EQ(acked(), 1u);
  EXPECT_EQ(sink_->acked[0], 1u);
  ASSERT_TRUE(Stop(exporter, effect_, 10).ok());
  EXPECT_EQ(nacked(), 1u);
}

// Scenario: the storage cannot be opened at all (base_uri below a regular file).
// Guarantees: Start fails naming the node (the engine exits 1 at startup).
TEST_F(ParquetExporterTest, StartFailsWhenStorageCannotBeOpened) {
  fs::create_directories(base_.parent_path());
  std::ofstream(base_.string()) << "x";
  const fs::path saved = base_;
  base_ = base_ / "sub";
  ASSERT_OK_AND_ASSIGN(auto node, MakeNode(""));
  auto st = AsExporter(node).Start(effect_);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("pq"));
  base_ = saved;
}

std::vector<std::string> WalSegments(const fs::path& dir) {
  std::vector<std::string> names;
  if (!fs::exists(dir)) return names;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().extension() == ".wal") names.push_back(e.path().string());
  }
  return names;
}

constexpr char kWalSlowFlush[] =
    "wal: {enabled: true}\n"
    "writer_options: {target_rows_per_file: 1000000, flush_when_older_than: 1h}\n";

// Scenario: `wal` errors: an unknown key, segment_size above max_size, an
// object-store dataset without wal.path.
// Guarantees: each is reported with its YAML path; a valid wal block passes.
TEST_F(ParquetExporterTest, WalConfigErrors) {
  config::ConfigErrors errors;
  kParquetExporterFactory.validate_config(
      YAML::Load("storage: {file: {base_uri: /tmp/x}}\n"
                 "wal: {enabled: true, max_sise: 1GiB, segment_size: 2GiB}\n"),
      "nodes.pq.config", &errors);
  const std::string text = errors.ToStatus().ToString();
  EXPECT_THAT(text, HasSubstr("nodes.pq.config.wal.max_sise (line 2): unknown key"));
  EXPECT_THAT(text, HasSubstr("nodes.pq.config.wal.segment_size (line 2): must be <= "
                              "max_size"));
  config::ConfigErrors s3;
  kParquetExporterFactory.validate_config(
      YAML::Load("storage: {s3: {base_uri: 's3://bucket/x', region: eu-west-1}}\n"
                 "wal: {enabled: true}\n"),
      "nodes.pq.config", &s3);
  EXPECT_THAT(s3.ToStatus().ToString(),
              HasSubstr("nodes.pq.config.wal.path (line 2): required with an "
                        "object-store dataset"));
  config::ConfigErrors none;
  kParquetExporterFactory.validate_config(
      YAML::Load("storage: {file: {base_uri: /tmp/x}}\n"
                 "wal: {enabled: true, path: /tmp/w, max_size: 1GiB, segment_size: "
                 "64MiB}\n"),
      "n.config", &none);
  EXPECT_TRUE(none.empty()) << none.ToStatus().ToString();
}

// Scenario: `retention` blocks, valid and not.
// Guarantees: max_age is required, unknown keys and bad durations are errors with
// their paths; a full block is valid.
TEST_F(ParquetExporterTest, RetentionConfigErrors) {
  config::ConfigErrors errors;
  kParquetExporterFactory.validate_config(
      YAML::Load("storage: {file: {base_uri: /tmp/x}}\n"
                 "retention: {interval: soon, max_ages: 1h}\n"),
      "nodes.pq.config", &errors);
  const std::string text = errors.ToStatus().ToString();
  EXPECT_THAT(text, HasSubstr("nodes.pq.config.retention (line 2): missing required key "
                              "\"max_age\""));
  EXPECT_THAT(text, HasSubstr("nodes.pq.config.retention.interval"));
  EXPECT_THAT(text,
              HasSubstr("nodes.pq.config.retention.max_ages (line 2): unknown key"));
  config::ConfigErrors none;
  kParquetExporterFactory.validate_config(
      YAML::Load(
          "storage: {file: {base_uri: /tmp/x}}\n"
          "retention: {max_age: 720h, interval: 10m, checkpoints: [/var/ck.json]}\n"),
      "n.config", &none);
  EXPECT_TRUE(none.empty()) << none.ToStatus().ToString();
}

// Scenario: WAL on, no flush rule reachable (1 h age, 1M rows), three batches.
// Guarantees: all three are Acked (by the WAL's sync thread) while no Parquet file
// exists yet: an Ack waits for the fdatasync, not for a flush; max_pending_batches
// does not force a flush; the log is `<base>/_wal/<node>/core-0`; shutdown
// publishes the rows and leaves nothing unpublished in the log.
TEST_F(ParquetExporterTest, WalAcksAfterTheSyncNotTheFlush) {
  ASSERT_OK_AND_ASSIGN(auto node,
                       MakeNode(std::string(kWalSlowFlush) + "max_pending_batches: 2\n"));
  auto& exporter = AsExporter(node);
  ASSERT_OK(exporter.Start(effect_));
  for (uint64_t i = 0; i < 3; ++i) ASSERT_OK(exporter.Export(Message(i), effect_));
  WaitFor([&] { return acked() == 3u; });
  EXPECT_EQ(nacked(), 0u);
  EXPECT_EQ(CountFiles(base_).first, 0);
  EXPECT_TRUE(exporter.AcceptsPdata());
  ASSERT_EQ(WalSegments(base_ / "_wal" / "pq" / "core-0").size(), 1u);
  ASSERT_OK(exporter.OnTimer(engine::Clock::now(), effect_));
  EXPECT_EQ(effect_.metrics().extra("wal_appends"), 3);
  EXPECT_GE(effect_.metrics().extra("wal_fsyncs"), 1);
  EXPECT_EQ(effect_.metrics().extra("wal_unpublished_records"), 3);
  EXPECT_GT(effect_.metrics().extra("wal_bytes"), 0);
  EXPECT_EQ(effect_.metrics().extra("parquet_flushes", "pending"), 0);
  ASSERT_OK(Stop(exporter, effect_, 10));
  EXPECT_EQ(effect_.metrics().extra("parquet_rows_written", "logs"), 30);
  EXPECT_EQ(effect_.metrics().extra("wal_unpublished_records"), 0);
  EXPECT_EQ(acked(), 3u);
}

// Scenario: three batches Acked from the WAL, then the node dies without
// publishing them (destroyed without Shutdown, as after kill -9); a new node on the
// same dataset starts.
// Guarantees: Start replays the three batches into the writer (counted), the
// shutdown publishes their 30 rows, and a third start finds nothing to replay.
TEST_F(ParquetExporterTest, WalReplaysUnpublishedBatchesOnStart) {
  {
    ASSERT_OK_AND_ASSIGN(auto node, StartNode(effect_, kWalSlowFlush));
    for (uint64_t i = 0; i < 3; ++i) {
      ASSERT_OK(AsExporter(node).Export(Message(i), effect_));
    }
    WaitFor([&] { return acked() == 3u; });
  }
  EXPECT_EQ(CountFiles(base_).first, 0);
  {
    FakeEffect effect{"pq"};
    ASSERT_OK_AND_ASSIGN(auto node, StartNode(effect, kWalSlowFlush));
    EXPECT_EQ(effect.metrics().extra("wal_replayed_records"), 3);
    ASSERT_OK(Stop(AsExporter(node), effect, 10));
    EXPECT_EQ(effect.metrics().extra("parquet_rows_written", "logs"), 30);
  }
  FakeEffect effect{"pq"};
  ASSERT_OK_AND_ASSIGN(auto node, StartNode(effect, kWalSlowFlush));
  EXPECT_EQ(effect.metrics().extra("wal_replayed_records"), 0);
  EXPECT_TRUE(WalSegments(base_ / "_wal").empty());
}

// Scenario: core 1's log holds an unpublished batch; the pipeline restarts with one
// core.
// Guarantees: core 0 adopts the log of the core that no longer exists and replays it.
TEST_F(ParquetExporterTest, WalOfARemovedCoreIsAdoptedByCoreZero) {
  {
    FakeEffect core1{"pq", 1};
    ASSERT_OK_AND_ASSIGN(auto node, StartNode(core1, kWalSlowFlush));
    ASSERT_OK(AsExporter(node).Export(Message(0), core1));
    WaitFor([&] { return acked() == 1u; });
  }
  ASSERT_OK_AND_ASSIGN(auto node, StartNode(effect_, kWalSlowFlush));
  EXPECT_EQ(effect_.metrics().extra("wal_replayed_records"), 1);
  ASSERT_OK(Stop(AsExporter(node), effect_, 10));
  EXPECT_EQ(effect_.metrics().extra("parquet_rows_written", "logs"), 10);
}

// Scenario: WAL on, age rule 1 s; a batch is Acked from the log, then the storage
// breaks (base directory replaced by a file) so the age flush fails; the storage
// comes back.
// Guarantees: the failed flush does not lose the acknowledged batch: it stays in the
// log (no Nack: it was Acked), is re-read and written again by a later timer tick,
// and its rows end up published (counted as a rewrite).
TEST_F(ParquetExporterTest, WalRewritesAfterAFailedFlush) {
  ASSERT_OK_AND_ASSIGN(auto node, MakeNode(WalBesideTheDataset("1s")));
  auto& exporter = AsExporter(node);
  ASSERT_OK(exporter.Start(effect_));
  ASSERT_OK(exporter.Export(Message(0), effect_));
  WaitFor([&] { return acked() == 1u; });
  BreakStorage();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ASSERT_OK(exporter.OnTimer(engine::Clock::now(), effect_));
  // Reported once the failed flush is settled (published behind).
  ASSERT_OK(TickWhile(exporter, effect_, [&] {
    return effect_.metrics().extra("wal_rewrite_failures") == 0;
  }));
  EXPECT_EQ(effect_.metrics().extra("wal_rewrite_failures"), 1);
  EXPECT_EQ(effect_.metrics().extra("wal_unpublished_records"), 1);
  EXPECT_EQ(nacked(), 0u);
  RestoreStorage();
  ASSERT_OK(TickWhile(
      exporter, effect_,
      [&] { return effect_.metrics().extra("parquet_rows_written", "logs") == 0; },
      std::chrono::milliseconds(100), 600));
  EXPECT_EQ(effect_.metrics().extra("parquet_rows_written", "logs"), 10);
  EXPECT_GE(effect_.metrics().extra("wal_rewrites"), 1);
  EXPECT_EQ(effect_.metrics().extra("wal_unpublished_records"), 0);
  ASSERT_OK(Stop(exporter, effect_, 10));
  EXPECT_EQ(acked(), 1u);
  EXPECT_EQ(nacked(), 0u);
}

// Scenario: WAL on; the dataset's storage breaks (base directory replaced by a
// file) before a batch comes, so the writer cannot even open its files; then the
// storage comes back.
// Guarantees: as docs/operations.md says ("new batches are taken until max_size"),
// the batch is logged and Acked from the log, not refused; it is written again
// from the log once the storage works and its rows end up published, nothing left
// in the log. Failed before the fix: Nacked at once (the log took nothing while the
// storage was down).
TEST_F(ParquetExporterTest, WalTakesBatchesWhileTheDatasetStorageIsDown) {
  ASSERT_OK_AND_ASSIGN(auto node, MakeNode(WalBesideTheDataset("1h")));
  auto& exporter = AsExporter(node);
  ASSERT_OK(exporter.Start(effect_));
  BreakStorage();
  ASSERT_OK(exporter.Export(Message(0), effect_));
  ASSERT_EQ(nacked(), 0u) << sink_->nacks[0].reason;
  WaitFor([&] { return acked() == 1u; });
  ASSERT_OK(exporter.OnTimer(engine::Clock::now(), effect_));
  EXPECT_GE(effect_.metrics().extra("wal_rewrite_failures"), 1);
  EXPECT_EQ(effect_.metrics().extra("wal_unpublished_records"), 1);
  const int64_t rewrites = effect_.metrics().extra("wal_rewrites");
  RestoreStorage();
  // The next re-write (after its backoff) succeeds; the shutdown publishes it.
  ASSERT_OK(TickWhile(
      exporter, effect_,
      [&] { return effect_.metrics().extra("wal_rewrites") == rewrites; },
      std::chrono::milliseconds(100), 600));
  ASSERT_OK(Stop(exporter, effect_, 10));
  EXPECT_EQ(effect_.metrics().extra("parquet_rows_written", "logs"), 10);
  EXPECT_EQ(effect_.metrics().extra("wal_unpublished_records"), 0);
  EXPECT_EQ(acked(), 1u);
  EXPECT_EQ(nacked(), 0u);
}

// Scenario: WAL max_size below one batch. Batch 0 fills it; batch 1 finds it full:
// a flush (reason wal_full) publishes batch 0 and frees the log, batch 1 is taken.
// Then the storage breaks and batch 2 finds the log full again.
// Guarantees: a full log is first freed by publishing; when that fails the batch is
// Nacked retryable ("full"), counted, and nothing is lost.
TEST_F(ParquetExporterTest, WalFullFlushesThenRefusesRetryable) {
  ASSERT_OK_AND_ASSIGN(auto node, MakeNode(WalBesideTheDataset(
                                      "1h", ", max_size: 1000, segment_size: 1000")));
  auto& exporter = AsExporter(node);
  ASSERT_OK(exporter.Start(effect_));
  ASSERT_OK(exporter.Export(Message(0), effect_));
  WaitFor([&] { return acked() == 1u; });
  ASSERT_OK(exporter.Export(Message(1), effect_));
  EXPECT_EQ(effect_.metrics().extra("parquet_flushes", "wal_full"), 1);
  WaitFor([&] { return acked() == 2u; });
  EXPECT_EQ(effect_.metrics().extra("parquet_rows_written", "logs"), 10);

  BreakStorage();
  ASSERT_OK(exporter.Export(Message(2), effect_));
  ASSERT_EQ(nacked(), 1u);
  EXPECT_EQ(sink_->nacked[0], 2u);
  EXPECT_FALSE(sink_->nacks[0].permanent);
  EXPECT_THAT(sink_->nacks[0].reason, HasSubstr("is full"));
  EXPECT_EQ(effect_.metrics().extra("wal_refused_full"), 1);
  EXPECT_EQ(effect_.metrics().extra("wal_unpublished_records"), 1);
  RestoreStorage();
  ASSERT_OK(Stop(exporter, effect_, 10));
}

// Scenario: two exporters configured with the same wal.path and node id (two
// processes on one log).
// Guarantees: the second Start fails naming the directory (no shared log).
TEST_F(ParquetExporterTest, WalDirectoryCannotBeShared) {
  ASSERT_OK_AND_ASSIGN(auto first, MakeNode(kWalSlowFlush));
  ASSERT_OK(AsExporter(first).Start(effect_));
  FakeEffect other{"pq"};
  ASSERT_OK_AND_ASSIGN(auto second, MakeNode(kWalSlowFlush));
  auto st = AsExporter(second).Start(other);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("in use"));
  EXPECT_THAT(st.message(), HasSubstr("exporter:parquet pq wal"));
}

// Scenario: the WAL's fdatasync is held (a test hook blocks it) while two batches
// are exported; then it is released; then a sync fails.
// Guarantees: no Ack before the sync covering the batch has returned (checked while
// it cannot have returned, not after a delay); both are Acked once it does; a
// failed sync Nacks its batch retryable ("write-ahead log sync failed").
TEST_F(ParquetExporterTest, WalAcksOnlyAfterTheSyncReturns) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  bool fail = false;
  std::atomic<int> entered{0};
  ParquetExporter::SetWalSyncHookForTesting([&]() -> arrow::Status {
    ++entered;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
    if (fail) return arrow::Status::IOError("injected EIO");
    return arrow::Status::OK();
  });
  ASSERT_OK_AND_ASSIGN(auto node, MakeNode(kWalSlowFlush));
  auto& exporter = AsExporter(node);
  ASSERT_OK(exporter.Start(effect_));
  ParquetExporter::SetWalSyncHookForTesting(nullptr);  // the node has its copy
  ASSERT_OK(exporter.Export(Message(0), effect_));
  ASSERT_OK(exporter.Export(Message(1), effect_));
  WaitFor([&] { return entered.load() >= 1; });
  EXPECT_EQ(acked(), 0u);
  EXPECT_EQ(nacked(), 0u);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  WaitFor([&] { return acked() == 2u; });
  {
    std::lock_guard<std::mutex> lock(mu);
    fail = true;
  }
  ASSERT_OK(exporter.Export(Message(2), effect_));
  WaitFor([&] { return nacked() == 1u; });
  EXPECT_EQ(sink_->nacked[0], 2u);
  EXPECT_FALSE(sink_->nacks[0].permanent);
  EXPECT_THAT(sink_->nacks[0].reason, HasSubstr("write-ahead log sync failed"));
  ASSERT_OK(exporter.OnTimer(engine::Clock::now(), effect_));
  EXPECT_EQ(effect_.metrics().extra("wal_fsync_errors"), 1);
  ASSERT_OK(Stop(exporter, effect_, 10));
  EXPECT_EQ(acked(), 2u);
}

// Holds the publisher thread inside the publish hook until released; with `fail`
// the first publish after the release fails, later ones pass.
class PublishGate {
 public:
  explicit PublishGate(
      arrow::Status failure = arrow::Status::IOError("injected publish failure")) {
    ParquetExporter::SetPublishHookForTesting(
        [this, failure = std::move(failure)](const std::string&) {
          std::unique_lock<std::mutex> lock(mu_);
          ++entered_;
          cv_.notify_all();
          cv_.wait(lock, [&] { return released_; });
          if (!fail_) return arrow::Status::OK();
          fail_ = false;
          return failure;
        });
  }
  ~PublishGate() {
    Release(false);
    ParquetExporter::SetPublishHookForTesting(nullptr);
  }
  void WaitEntered() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entered_ > 0; });
  }
  void Release(bool fail) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!released_) fail_ = fail;
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool released_ = false;
  bool fail_ = false;
};

// Runs exporter calls on a thread of its own (the pipeline thread), so that a call
// blocked behind a publish shows as "not done" instead of hanging the test.
class PipelineThread {
 public:
  ~PipelineThread() { Join(); }
  void Run(std::function<void()> fn) {
    Join();
    done_ = false;
    thread_ = std::thread([this, fn = std::move(fn)] {
      fn();
      done_ = true;
    });
  }
  bool done() const { return done_; }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
  std::atomic<bool> done_{true};
};

// Waits up to a minute for `pred`: only a broken build (the pipeline thread stuck
// behind the publish) takes that long; the test then fails instead of hanging.
template <typename Pred>
bool WaitUpTo(Pred pred) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Files cut at 1,000 rows: a batch of 200 logs (2,000 log_attrs rows) cuts them, one
// of 1 log does not.
constexpr char kWalRowsFlush[] =
    "wal: {enabled: true}\n"
    "writer_options: {target_rows_per_file: 1000, flush_when_older_than: 1h}\n";

engine::PData Sized(const std::shared_ptr<Outcomes>& sink, uint64_t seq, int items) {
  engine::PData msg(testing::LogsBatch(items, seq + 1));
  msg.context.Subscribe(sink, {0, seq});
  return msg;
}

// Scenario: WAL on; on the pipeline thread, batch 0 (200 logs) cuts the files and
// their publish is held by the hook (a slow disk); batches 1 and 2 (1 log each)
// follow; then the publish is released.
// Guarantees: the pipeline thread is not held by the publish: batches 1 and 2 are
// appended and all three Acked while it is still blocked (nothing published yet);
// once released, batch 0's rows are published and done-marked, and the shutdown
// publishes the rest, leaving nothing unpublished in the log.
TEST_F(ParquetExporterTest, WalAcksWhileAPublishIsBlocked) {
  ASSERT_OK_AND_ASSIGN(auto node, MakeNode(kWalRowsFlush));
  auto& exporter = AsExporter(node);
  PublishGate gate;  // before Start (the node takes the hook then), released first
  ASSERT_OK(exporter.Start(effect_));
  PipelineThread pipeline;
  pipeline.Run([&] {
    ASSERT_OK(exporter.Export(Sized(sink_, 0, 200), effect_));
    for (uint64_t i = 1; i < 3; ++i) {
      ASSERT_OK(exporter.Export(Sized(sink_, i, 1), effect_));
    }
  });
  gate.WaitEntered();
  const bool acked_meanwhile = WaitUpTo([&] { return pipeline.done() && acked() == 3u; });
  const int published_meanwhile = CountFiles(base_).first;
  gate.Release(false);
  pipeline.Join();
  ASSERT_TRUE(acked_meanwhile) << "batches not Acked while a publish was blocked";
  EXPECT_EQ(published_meanwhile, 0);
  EXPECT_EQ(effect_.metrics().extra("wal_appends"), 3);
  ASSERT_OK(TickWhile(exporter, effect_, [&] {
    return effect_.metrics().extra("parquet_rows_written", "logs") < 200;
  }));
  EXPECT_EQ(effect_.metrics().extra("parquet_rows_written", "logs"), 200);
  EXPECT_EQ(effect_.metrics().extra("parquet_publishing_partitions"), 0);
  EXPECT_EQ(effect_.metrics().extra("wal_unpublished_records"), 2);
  ASSERT_OK(Stop(exporter, effect_, 10));
  EXPECT_EQ(effect_.metrics().extra("parquet_rows_written", "logs"), 202);
  EXPECT_EQ(effect_.metrics().extra("wal_unpublished_records"), 0);
  EXPECT_EQ(acked(), 3u);
  EXPECT_EQ(nacked(), 0u);
}

// Scenario: batch 0 (200 logs) is being published, held by the hook, when Shutdown
// starts (batch 1, 1 log, still in an open file); the publish is then (a) released,
// (b) failed (disk error); in (b) the node restarts on the same log.
// Guarantees: Shutdown waits for the background publish (drains the publisher)
// before its own flush: (a) every row is published, nothing left in the log;
// (b) Shutdown reports the failure, the Acked batch whose publish failed stays in
// the log (batch 1 is published by the shutdown flush) and the next start replays and
// publishes it: nothing acknowledged is lost either way.
TEST_F(ParquetExporterTest, WalShutdownDrainsABlockedPublish) {
  for (const bool fail : {false, true}) {
    SCOPED_TRACE(fail ? "publish fails" : "publish released");
    fs::remove_all(base_);
    sink_ = std::make_shared<Outcomes>();
    {
      FakeEffect effect{"pq"};
      ASSERT_OK_AND_ASSIGN(auto node, MakeNode(kWalRowsFlush));
      auto& exporter = AsExporter(node);
      PublishGate gate;
      ASSERT_OK(exporter.Start(effect));
      ASSERT_OK(exporter.Export(Sized(sink_, 0, 200), effect));
      ASSERT_OK(exporter.Export(Sized(sink_, 1, 1), effect));
      gate.WaitEntered();
      WaitFor([&] { return acked() == 2u; });
      PipelineThread pipeline;
      arrow::Status shutdown;
      pipeline.Run([&] { shutdown = Stop(exporter, effect); });
      gate.Release(fail);
      pipeline.Join();
      if (!fail) {
        ASSERT_OK(shutdown);
        EXPECT_EQ(effect.metrics().extra("parquet_rows_written", "logs"), 201);
        EXPECT_EQ(effect.metrics().extra("wal_unpublished_records"), 0);
        continue;
      }
      EXPECT_THAT(shutdown.message(), HasSubstr("injected publish failure"));
      EXPECT_EQ(effect.metrics().extra("parquet_rows_written", "logs"), 1);
      EXPECT_EQ(effect.metrics().extra("wal_rewrite_failures"), 1);
      EXPECT_EQ(effect.metrics().extra("wal_unpublished_records"), 1);
    }
    FakeEffect effect{"pq"};
    ASSERT_OK_AND_ASSIGN(auto node, StartNode(effect, kWalRowsFlush));
    EXPECT_EQ(effect.metrics().extra("wal_replayed_records"), 1);
    ASSERT_OK(Stop(AsExporter(node), effect));
    EXPECT_EQ(effect.metrics().extra("wal_unpublished_records"), 0);
    EXPECT_EQ(effect.metrics().extra("parquet_rows_written", "logs"), 200);
  }
  EXPECT_EQ(nacked(), 0u);
}

// Scenario: WAL on; batch 0 (200 logs) cuts the files and is Acked from the log
// while their publish is held; the publish then fails with a status Arrow codes
// Invalid although it is a storage error (Arrow's GCS file system maps
// kInvalidArgument / kOutOfRange to Invalid); shutdown, restart on the same log.
// Guarantees: the acknowledged batch is not given up as invalid data: it stays in
// the log (re-written, or replayed at the next start) and its 200 rows end up
// published. Failed before the fix: wal_invalid_dropped 1, 0 rows.
TEST_F(ParquetExporterTest, WalKeepsAnAckedBatchWhosePublishFailsAsInvalid) {
  int64_t rows = 0;
  {
    FakeEffect effect{"pq"};
    ASSERT_OK_AND_ASSIGN(auto node, MakeNode(kWalRowsFlush));
    auto& exporter = AsExporter(node);
    PublishGate gate(arrow::Status::Invalid("google::cloud::Status(OUT_OF_RANGE)"));
    ASSERT_OK(exporter.Start(effect));
    ASSERT_OK(exporter.Export(Sized(sink_, 0, 200), effect));
    gate.WaitEntered();
    WaitFor([&] { return acked() == 1u; });
    gate.Release(true);
    ASSERT_OK(TickWhile(exporter, effect, [&] {
      return effect.metrics().extra("wal_rewrite_failures") == 0 &&
             effect.metrics().extra("wal_invalid_dropped") == 0;
    }));
    EXPECT_EQ(effect.metrics().extra("wal_invalid_dropped"), 0);
    (void)Stop(exporter, effect);
    rows += effect.metrics().extra("parquet_rows_written", "logs");
  }
  FakeEffect effect{"pq"};
  ASSERT_OK_AND_ASSIGN(auto node, StartNode(effect, kWalRowsFlush));
  ASSERT_OK(Stop(AsExporter(node), effect));
  rows += effect.metrics().extra("parquet_rows_written", "logs");
  EXPECT_EQ(rows, 200);
  EXPECT_EQ(effect.metrics().extra("wal_unpublished_records"), 0);
  EXPECT_EQ(acked(), 1u);
  EXPECT_EQ(nacked(), 0u);
}

// Scenario: WAL on; batch 0 (200 logs) cuts the files and is Acked; their publish
// fails once (a storage error), so the record waits for its re-write backoff
// (1 s); the storage works again and the engine is stopped gracefully at once.
// Guarantees: the graceful stop writes the waiting record again and publishes it:
// its 200 rows are in the dataset and nothing is left in the log (no restart
// needed). Failed before the fix: 0 rows published, the record left in the log.
TEST_F(ParquetExporterTest, WalShutdownRewritesRecordsWaitingForTheirBackoff) {
  ASSERT_OK_AND_ASSIGN(auto node, MakeNode(kWalRowsFlush));
  auto& exporter = AsExporter(node);
  PublishGate gate;
  ASSERT_OK(exporter.Start(effect_));
  ASSERT_OK(exporter.Export(Sized(sink_, 0, 200), effect_));
  gate.WaitEntered();
  WaitFor([&] { return acked() == 1u; });
  gate.Release(true);
  // The failure is settled by a timer tick, which schedules the re-write 1 s later.
  ASSERT_OK(TickWhile(exporter, effect_, [&] {
    return effect_.metrics().extra("wal_rewrite_failures") == 0;
  }));
  ASSERT_OK(Stop(exporter, effect_));
  EXPECT_EQ(effect_.metrics().extra("parquet_rows_written", "logs"), 200);
  EXPECT_EQ(effect_.metrics().extra("wal_unpublished_records"), 0);
  EXPECT_EQ(nacked(), 0u);
}

// Scenario: WAL on, event-time partitioning; one batch of 400 logs over two hours
// (2,000 log_attrs rows in each, so both cut their files at once); hour 01's
// directory cannot be created (a file is in its way), hour 00 is published. The
// record's write fails, so it waits for its re-write; the way is cleared and the
// engine stopped gracefully (which re-writes at once).
// Guarantees: the re-write writes hour 01 only: every log is in the dataset exactly
// once (400 rows), nothing left in the log. Failed before the fix: 600 rows (each
// re-write copied hour 00 again, for as long as hour 01 kept failing).
TEST_F(ParquetExporterTest, WalRewriteWritesOnlyThePartitionsThatFailed) {
  const fs::path blocked = BlockHour01();
  ASSERT_OK_AND_ASSIGN(auto node, StartNode(effect_, kWalRowsFlush, kHourly));
  auto& exporter = AsExporter(node);
  // The failure is reported once hour 00 is settled (published behind).
  ASSERT_OK(ExportUntilHour01Fails(exporter, effect_));
  EXPECT_EQ(effect_.metrics().extra("parquet_rows_written", "logs"), 200);
  fs::remove(blocked);
  ASSERT_OK(Stop(exporter, effect_));
  EXPECT_EQ(effect_.metrics().extra("parquet_rows_written", "logs"), 400);
  EXPECT_EQ(effect_.metrics().extra("wal_rewrite_failures"), 1);
  EXPECT_EQ(effect_.metrics().extra("wal_unpublished_records"), 0);
  EXPECT_EQ(acked(), 1u);
  EXPECT_EQ(nacked(), 0u);
}

// Rows of the published files under `dir` (a table's partition).
int64_t RowsUnder(const fs::path& dir) {
  int64_t rows = 0;
  if (!fs::exists(dir)) return 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().extension() != ".parquet") continue;
    rows +=
        parquet::ParquetFileReader::OpenFile(e.path().string())->metadata()->num_rows();
  }
  return rows;
}

// Scenario: as WalRewriteWritesOnlyThePartitionsThatFailed, hour 00 of the record is
// published and hour 01 fails; then, before the re-write succeeds, the engine is
// stopped gracefully (hour 01 still failing), started again (the replay fails
// again in hour 01) and killed (destroyed without Shutdown); the way is cleared
// and it starts a third time.
// Guarantees: no restart writes hour 00 again (the WAL's `.parts` marks say it is
// published): the lake holds each of the 400 logs exactly once, nothing is left in
// the log. Failed before the fix: hour 00 held 400 rows (the replays wrote the
// record whole: WriteProgress was in memory only).
TEST_F(ParquetExporterTest, WalRestartsDoNotRewriteThePartitionsAlreadyPublished) {
  const fs::path blocked = BlockHour01();
  const fs::path hours = blocked.parent_path();
  {
    ASSERT_OK_AND_ASSIGN(auto node, StartNode(effect_, kWalRowsFlush, kHourly));
    auto& exporter = AsExporter(node);
    ASSERT_OK(ExportUntilHour01Fails(exporter, effect_));
    EXPECT_EQ(RowsUnder(hours / "hour=00"), 200);
    // Graceful stop: hour 01 fails once more, the record stays in the log.
    (void)Stop(exporter, effect_);
    EXPECT_EQ(effect_.metrics().extra("wal_unpublished_records"), 1);
  }
  {
    FakeEffect effect{"pq"};
    ASSERT_OK_AND_ASSIGN(auto node, StartNode(effect, kWalRowsFlush, kHourly));
    EXPECT_EQ(effect.metrics().extra("wal_replayed_records"), 1);
    EXPECT_EQ(effect.metrics().extra("wal_rewrite_failures"), 1);  // hour 01 only
  }                                                                // killed: no Shutdown
  EXPECT_EQ(RowsUnder(hours / "hour=00"), 200);
  fs::remove(blocked);
  FakeEffect effect{"pq"};
  ASSERT_OK_AND_ASSIGN(auto node, StartNode(effect, kWalRowsFlush, kHourly));
  EXPECT_EQ(effect.metrics().extra("wal_replayed_records"), 1);
  ASSERT_OK(Stop(AsExporter(node), effect));
  EXPECT_EQ(effect.metrics().extra("parquet_rows_written", "logs"), 200);
  EXPECT_EQ(effect.metrics().extra("wal_unpublished_records"), 0);
  EXPECT_EQ(RowsUnder(hours / "hour=00"), 200);
  EXPECT_EQ(RowsUnder(hours / "hour=01"), 200);
  EXPECT_TRUE(WalSegments(base_ / "_wal").empty());
  EXPECT_EQ(nacked(), 0u);
}

// Drops the WAL's done and published-partition marks of the nodes started while it
// lives (as a kill just before them would).
class DropWalMarks {
 public:
  DropWalMarks() {
    ParquetExporter::SetWalMarkHookForTesting([](std::string_view) { return false; });
  }
  ~DropWalMarks() { ParquetExporter::SetWalMarkHookForTesting(nullptr); }
};

// Scenario: the crash window: hour 00 of a record is published, hour 01 fails, and
// the process dies before hour 00's `.parts` mark is written: (a) killed just
// before it (the mark hook drops the marks); (b) an OS crash loses the unsynced
// `.parts` file, its publish intent with it (simulated: removed after the kill).
// The way is cleared and the engine starts again.
// Guarantees: (a) the intent written before the publish names hour 00's file, which
// exists: hour 00 is not written again, every log is in the lake once; (b) the lost
// marks cost a duplicate of that partition only, never a loss. Nothing is left in
// the log either way. Failed before the fix: (a) hour 00 held 400 rows.
TEST_F(ParquetExporterTest, WalKillBeforeThePublishedMarkDoesNotDuplicate) {
  for (const bool os_crash : {false, true}) {
    SCOPED_TRACE(os_crash ? "OS crash loses .parts" : "kill before the mark");
    fs::remove_all(base_);
    sink_ = std::make_shared<Outcomes>();
    const fs::path blocked = BlockHour01();
    const fs::path hours = blocked.parent_path();
    {
      std::optional<DropWalMarks> kill;
      if (!os_crash) kill.emplace();
      FakeEffect effect{"pq"};
      ASSERT_OK_AND_ASSIGN(auto node, StartNode(effect, kWalRowsFlush, kHourly));
      ASSERT_OK(ExportUntilHour01Fails(AsExporter(node), effect));
      EXPECT_EQ(RowsUnder(hours / "hour=00"), 200);
    }  // killed: no Shutdown
    int parts = 0;
    for (const auto& e : fs::recursive_directory_iterator(base_ / "_wal")) {
      if (e.path().extension() != ".parts") continue;
      ++parts;
      if (os_crash) fs::remove(e.path());
    }
    EXPECT_EQ(parts, 1);
    fs::remove(blocked);
    FakeEffect effect{"pq"};
    ASSERT_OK_AND_ASSIGN(auto node, StartNode(effect, kWalRowsFlush, kHourly));
    EXPECT_EQ(effect.metrics().extra("wal_replayed_records"), 1);
    ASSERT_OK(Stop(AsExporter(node), effect));
    EXPECT_EQ(RowsUnder(hours / "hour=00"), os_crash ? 400 : 200);
    EXPECT_EQ(RowsUnder(hours / "hour=01"), 200);
    EXPECT_EQ(effect.metrics().extra("wal_unpublished_records"), 0);
  }
  EXPECT_EQ(nacked(), 0u);
}

// Copies `from` (a dataset with its WAL) to `to`: what a kill -9 leaves on disk.
void Snapshot(const fs::path& from, const fs::path& to) {
  fs::remove_all(to);
  fs::copy(from, to, fs::copy_options::recursive);
}

// Scenario: a batch of 200 logs cuts its files and is Acked from the log; the disk
// is copied as a kill -9 would leave it at each point of the publish: (0) its files
// written but none visible (the publisher held before the first is finished), (1)
// every file renamed into place but no done mark yet (the first mark's hook), (2)
// after the done mark, (3) the first (child) file renamed, the others not. Each
// copy is started as the engine after the kill.
// Guarantees: whatever the point, every log and log attribute is in the copy's lake
// exactly once (200 logs, 2,000 log_attrs rows) and nothing is left in its log; at
// (3) the child file renamed before the kill is an orphan (its rows are written
// again with their parents; readers drop orphans, `repair` removes them), the logs
// are there once. Failed before the fix: (1) held 400 logs (the replay wrote the
// record again).
TEST_F(ParquetExporterTest, WalKillAtAnyPointOfAPublishNeitherDuplicatesNorLoses) {
  const fs::path kills[4] = {base_.string() + "_kill0", base_.string() + "_kill1",
                             base_.string() + "_kill2", base_.string() + "_kill3"};
  std::string orphan;  // the file renamed before kill point 3
  {
    bool copied = false;  // the marks are written on this thread (OnTimer)
    int renames = 0;      // on the publisher thread, this thread waiting
    ASSERT_OK_AND_ASSIGN(auto node, MakeNode(kWalRowsFlush));
    auto& exporter = AsExporter(node);
    PublishGate gate;
    ParquetExporter::SetWalMarkHookForTesting([&](std::string_view) {
      if (!copied) Snapshot(base_, kills[1]);
      copied = true;
      return true;
    });
    ParquetExporter::SetRenameHookForTesting([&](const std::string& uri) {
      if (++renames == 2) Snapshot(base_, kills[3]);
      if (renames == 1)
        orphan = uri.substr(uri.find(base_.string()) + base_.string().size());
    });
    ASSERT_OK(exporter.Start(effect_));
    ParquetExporter::SetWalMarkHookForTesting(nullptr);
    ParquetExporter::SetRenameHookForTesting(nullptr);
    ASSERT_OK(exporter.Export(Sized(sink_, 0, 200), effect_));
    gate.WaitEntered();
    WaitFor([&] { return acked() == 1u; });
    Snapshot(base_, kills[0]);  // the publisher is held, this thread idle
    gate.Release(false);
    ASSERT_OK(TickWhile(exporter, effect_, [&] {
      return effect_.metrics().extra("wal_unpublished_records") > 0;
    }));
    EXPECT_TRUE(copied);
    Snapshot(base_, kills[2]);
  }
  ASSERT_FALSE(orphan.empty());
  ASSERT_FALSE(orphan.starts_with("/logs/")) << orphan;  // a child table's
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE("kill point " + std::to_string(i));
    if (i == 3) {
      ASSERT_TRUE(fs::exists(kills[i].string() + orphan)) << orphan;
      fs::remove(kills[i].string() + orphan);  // counted apart: an orphan
    }
    {
      FakeEffect effect{"pq"};
      ASSERT_OK_AND_ASSIGN(auto node,
                           StartNode(effect, kWalRowsFlush, kByPartId, kills[i]));
      ASSERT_OK(Stop(AsExporter(node), effect));
      EXPECT_EQ(effect.metrics().extra("wal_unpublished_records"), 0);
    }
    EXPECT_EQ(RowsUnder(kills[i] / "logs"), 200);
    EXPECT_EQ(RowsUnder(kills[i] / "log_attrs"), 2000);
    fs::remove_all(kills[i]);
  }
}

// Scenario: WAL on; a batch's write fails at once (the logs table's directory is
// a file), so its record waits for its re-write; then its WAL sync fails, so the
// sender gets a retryable Nack; the storage works again and the engine is stopped
// gracefully (which re-writes waiting records at once).
// Guarantees: the Nacked record is not written again (its sender resends it):
// no row is published, nothing is left in the log. Failed before the fix: the
// re-write published its 10 rows, a duplicate of the sender's resend.
TEST_F(ParquetExporterTest, WalDoesNotRewriteARecordNackedForAFailedSync) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  ParquetExporter::SetWalSyncHookForTesting([&]() -> arrow::Status {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
    return arrow::Status::IOError("injected EIO");
  });
  ASSERT_OK_AND_ASSIGN(auto node, MakeNode(kWalSlowFlush));
  auto& exporter = AsExporter(node);
  ASSERT_OK(exporter.Start(effect_));
  ParquetExporter::SetWalSyncHookForTesting(nullptr);  // the node has its copy
  fs::create_directories(base_);
  std::ofstream((base_ / "logs").string()) << "not a directory";
  ASSERT_OK(exporter.Export(Message(0), effect_));
  EXPECT_EQ(effect_.metrics().extra("wal_rewrite_failures"), 1);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  WaitFor([&] { return nacked() == 1u; });
  EXPECT_FALSE(sink_->nacks[0].permanent);
  fs::remove(base_ / "logs");
  ASSERT_OK(Stop(exporter, effect_));
  EXPECT_EQ(effect_.metrics().extra("parquet_rows_written", "logs"), 0);
  EXPECT_EQ(effect_.metrics().extra("wal_rewrites"), 0);
  EXPECT_EQ(effect_.metrics().extra("wal_unpublished_records"), 0);
  EXPECT_EQ(acked(), 0u);
}

}  // namespace
}  // namespace otap_parquet::nodes
