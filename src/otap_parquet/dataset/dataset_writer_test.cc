// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/dataset_writer.h"

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <arrow/filesystem/localfs.h>
#include <arrow/io/file.h>
#include <arrow/io/interfaces.h>
#include <arrow/table.h>
#include <arrow/util/key_value_metadata.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/schema.h>
#include <parquet/statistics.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/generator/test_batches.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/storage/forwarding_file_system.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/util/serial_worker.h"

namespace otap_parquet::dataset {
namespace {

using arrow::Status;
using Clock = std::chrono::system_clock;
using std::chrono::seconds;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

/// An Arrow file system over LocalFileSystem that records what happens to files
/// ("open <path>", "close <path>", "move <dest>", "delete <path>") and can fail an
/// operation on request. The files are real; only the bookkeeping is added.
class RecordingFileSystem final : public ForwardingFileSystem {
 public:
  /// Returns a non-OK status to make operation `op` ("open", "close", "move") on
  /// `path` fail.
  using FailHook = std::function<Status(const std::string& op, const std::string& path)>;

  RecordingFileSystem()
      : ForwardingFileSystem(std::make_shared<arrow::fs::LocalFileSystem>()) {}

  std::vector<std::string> events;
  FailHook fail = [](const std::string&, const std::string&) { return Status::OK(); };

  using ForwardingFileSystem::CreateDir;
  using ForwardingFileSystem::Equals;
  using ForwardingFileSystem::OpenOutputStream;

  std::string type_name() const override { return "recording"; }
  bool Equals(const FileSystem& other) const override { return &other == this; }
  Status CreateDir(const std::string& path, bool recursive) override {
    ARROW_RETURN_NOT_OK(fail("mkdir", path));
    return ForwardingFileSystem::CreateDir(path, recursive);
  }
  Status DeleteFile(const std::string& path) override {
    events.push_back("delete " + path);
    return ForwardingFileSystem::DeleteFile(path);
  }
  Status Move(const std::string& src, const std::string& dest) override {
    ARROW_RETURN_NOT_OK(fail("move", dest));
    events.push_back("move " + dest);
    return ForwardingFileSystem::Move(src, dest);
  }
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenOutputStream(
      const std::string& path,
      const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) override {
    ARROW_RETURN_NOT_OK(fail("open", path));
    ARROW_ASSIGN_OR_RAISE(auto stream,
                          ForwardingFileSystem::OpenOutputStream(path, metadata));
    events.push_back("open " + path);
    return std::make_shared<Stream>(this, path, std::move(stream));
  }

 private:
  class Stream final : public ForwardingOutputStream {
   public:
    Stream(RecordingFileSystem* fs, std::string path,
           std::shared_ptr<arrow::io::OutputStream> inner)
        : ForwardingOutputStream(std::move(inner)), fs_(fs), path_(std::move(path)) {}
    Status Close() override {
      if (closed()) return Status::OK();
      ARROW_RETURN_NOT_OK(fs_->fail("close", path_));
      fs_->events.push_back("close " + path_);
      return ForwardingOutputStream::Close();
    }
    Status Abort() override {
      fs_->events.push_back("abort " + path_);
      return ForwardingOutputStream::Abort();
    }

   private:
    RecordingFileSystem* fs_;
    std::string path_;
  };
};

class DatasetWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("otap-writer-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    fs::create_directories(base_);
    recording_ = std::make_shared<RecordingFileSystem>();
    settings_.filesystem = recording_;
    settings_.base_path = base_.string();
    settings_.publish = PublishMode::kRename;
    settings_.clock = [this] { return now_; };
    settings_.logger = std::make_shared<spdlog::logger>(
        "test", std::make_shared<spdlog::sinks::null_sink_mt>());
    options_.flush_when_older_than = std::chrono::milliseconds(0);
  }
  void TearDown() override { fs::remove_all(base_); }

  std::unique_ptr<DatasetWriter> MakeWriter() {
    auto writer = DatasetWriter::Make(options_, partitioning_, settings_);
    EXPECT_TRUE(writer.ok()) << writer.status().ToString();
    return std::move(writer).ValueOrDie();
  }

  /// Deterministic OTAP batches of one OTLP request each.
  std::vector<OtapBatch> Batches(Signal signal, int requests, int items_per_scope = 5) {
    generator::GeneratorOptions gen;
    gen.seed = 7;
    gen.items_per_scope = items_per_scope;
    return otap_parquet::testing::GeneratedBatches(signal, requests, gen);
  }

  /// Files under the base, relative, sorted (temporary ones included).
  std::vector<std::string> Files() const {
    std::vector<std::string> out;
    for (const auto& entry : fs::recursive_directory_iterator(base_)) {
      if (entry.is_regular_file())
        out.push_back(fs::relative(entry.path(), base_).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<std::string> ParquetFiles(const std::string& table) const {
    std::vector<std::string> out;
    for (const auto& file : Files()) {
      if (file.starts_with(table + "/") && file.ends_with(".parquet"))
        out.push_back(file);
    }
    return out;
  }
  int64_t RowsIn(const std::string& relative) const {
    auto reader = parquet::ParquetFileReader::OpenFile((base_ / relative).string());
    return reader->metadata()->num_rows();
  }
  int64_t TableRows(const std::string& table) const {
    int64_t rows = 0;
    for (const auto& file : ParquetFiles(table)) rows += RowsIn(file);
    return rows;
  }

  fs::path base_;
  std::shared_ptr<RecordingFileSystem> recording_;
  DatasetWriterSettings settings_;
  WriterOptions options_;
  PartitioningOptions partitioning_;
  Clock::time_point now_ = Clock::time_point(seconds(1'700'000'000));
};

int64_t Rows(const OtapBatch& batch, PayloadType type) {
  const auto& rb = batch.Get(type);
  return rb == nullptr ? 0 : rb->num_rows();
}

// Scenario: logs written with the default partitioning (none configured), then
// flushed.
// Guarantees: every table's file is at
// `<base>/<table>/_part_id=<uuid>/part-<unix-ms>-<uuid4>.parquet` (`_part_id` is
// always a level: there is no unpartitioned layout), the name's milliseconds come
// from the clock, no temporary file is left, and all rows are there.
TEST_F(DatasetWriterTest, LayoutIsPartIdByDefault) {
  auto writer = MakeWriter();
  auto batches = Batches(Signal::kLogs, 2);
  std::vector<arrow::Future<>> acks;
  for (const auto& batch : batches) acks.push_back(writer->Write(batch));
  ASSERT_OK(writer->Flush());
  for (auto& ack : acks) ASSERT_OK(ack.status());

  const std::regex name(
      R"(([a-z_]+)/_part_id=[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/part-1700000000000-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.parquet)");
  std::set<std::string> tables;
  for (const auto& file : Files()) {
    std::smatch match;
    ASSERT_TRUE(std::regex_match(file, match, name)) << file;
    tables.insert(match[1]);
  }
  std::set<std::string> expected_tables;
  for (const auto& batch : batches) {
    for (PayloadType type : batch.payload_types()) {
      expected_tables.insert(std::string(TableName(type)));
    }
  }
  EXPECT_EQ(tables, expected_tables);
  EXPECT_TRUE(tables.contains("log_attrs"));
  for (PayloadType type : {PayloadType::kLogs, PayloadType::kLogAttrs}) {
    int64_t expected = 0;
    for (const auto& batch : batches) expected += Rows(batch, type);
    EXPECT_EQ(TableRows(std::string(TableName(type))), expected) << TableName(type);
    // One file per (table, partition): both batches went into it.
    EXPECT_EQ(ParquetFiles(std::string(TableName(type))).size(), 1u);
  }
  const auto metrics = writer->metrics();
  EXPECT_EQ(metrics.files_created, static_cast<int64_t>(tables.size()));
  EXPECT_EQ(metrics.files_closed, static_cast<int64_t>(tables.size()));
  EXPECT_EQ(metrics.flushes_for(FlushReason::kExplicit), 1);
  EXPECT_EQ(metrics.batches_acked, 2);
  EXPECT_GT(metrics.bytes_written, 0);
  EXPECT_EQ(metrics.rows_written[static_cast<int>(PayloadType::kLogs)],
            TableRows("logs"));
}

// Scenario: hourly event-time partitioning.
// Guarantees: levels are `date=YYYY-MM-DD/hour=HH/_part_id=<uuid>`, `_part_id`
// innermost.
TEST_F(DatasetWriterTest, LayoutWithEventTimeHasPartIdInnermost) {
  partitioning_.event_time = TimeGranularity::kHour;
  auto writer = MakeWriter();
  for (const auto& batch : Batches(Signal::kLogs, 1)) (void)writer->Write(batch);
  ASSERT_OK(writer->Flush());
  const std::regex name(
      R"([a-z_]+/date=[0-9]{4}-[0-9]{2}-[0-9]{2}/hour=[0-9]{2}/_part_id=[0-9a-f-]{36}/part-[0-9]+-[0-9a-f-]{36}\.parquet)");
  ASSERT_FALSE(Files().empty());
  for (const auto& file : Files()) EXPECT_TRUE(std::regex_match(file, name)) << file;
}

// Scenario: two writers one after the other into one base directory (a restart),
// with every partitioning option.
// Guarantees: each writer's files are in a `_part_id` of its own, so no id space
// holds ids of two writers.
TEST_F(DatasetWriterTest, EveryWriterInstanceHasItsOwnPartId) {
  for (std::optional<TimeGranularity> time :
       {std::optional<TimeGranularity>(), std::optional(TimeGranularity::kHour),
        std::optional(TimeGranularity::kDay)}) {
    fs::remove_all(base_);
    fs::create_directories(base_);
    partitioning_.event_time = time;
    std::set<std::string> part_ids;
    for (int instance = 0; instance < 2; ++instance) {
      auto writer = MakeWriter();
      for (const auto& batch : Batches(Signal::kLogs, 1)) (void)writer->Write(batch);
      ASSERT_OK(writer->Close());
      part_ids.insert(writer->part_id());
    }
    ASSERT_EQ(part_ids.size(), 2u);
    std::set<std::string> seen;
    for (const auto& file : ParquetFiles("logs")) {
      const std::string dir = fs::path(file).parent_path().filename().string();
      ASSERT_TRUE(dir.starts_with("_part_id=")) << file;
      seen.insert(dir.substr(9));
    }
    EXPECT_EQ(seen, part_ids);
  }
}

// Scenario: the id generator is about to overflow UInt32 when the next batch
// arrives (its ids would pass 2^32 - 1).
// Guarantees: that batch goes to a new `_part_id` directory at offset 0; the old
// `_part_id`'s files are published at once (flush reason "rollover") and its batch
// Acked; both directories hold their own rows.
TEST_F(DatasetWriterTest, IdRolloverStartsANewPartIdDirectory) {
  auto writer = MakeWriter();
  auto batches = Batches(Signal::kLogs, 2);
  auto first = writer->Write(batches[0]);
  const std::string old_part_id = writer->part_id();
  writer->set_id_offset_for_testing(std::numeric_limits<uint32_t>::max() - 2);
  auto second = writer->Write(batches[1]);
  ASSERT_TRUE(first.is_finished());
  ASSERT_OK(first.status());
  EXPECT_EQ(writer->metrics().flushes_for(FlushReason::kRollover), 1);
  EXPECT_NE(writer->part_id(), old_part_id);
  ASSERT_OK(writer->Close());
  ASSERT_OK(second.status());
  std::map<std::string, int64_t> rows_per_dir;
  for (const auto& file : ParquetFiles("logs")) {
    rows_per_dir[fs::path(file).parent_path().filename().string()] += RowsIn(file);
  }
  ASSERT_EQ(rows_per_dir.size(), 2u);
  EXPECT_EQ(rows_per_dir["_part_id=" + old_part_id],
            Rows(batches[0], PayloadType::kLogs));
  EXPECT_EQ(rows_per_dir["_part_id=" + writer->part_id()],
            Rows(batches[1], PayloadType::kLogs));
}

// Scenario: a row target smaller than the stream, batches arriving one by one.
// Guarantees: the partition is published as soon as a table reaches the target
// (after the batch that crosses it), those batches' futures complete then and the
// later ones only at the next flush; each file holds several consecutive batches;
// no row is lost or duplicated.
TEST_F(DatasetWriterTest, RotatesByRowsMidStream) {
  auto batches = Batches(Signal::kLogs, 5);
  int64_t largest = 0;  // the largest table of one batch (log_attrs)
  for (PayloadType type : batches[0].payload_types())
    largest = std::max(largest, Rows(batches[0], type));
  options_.target_rows_per_file = largest * 5 / 2;  // crossed by the third batch
  auto writer = MakeWriter();
  std::vector<arrow::Future<>> acks;
  for (int i = 0; i < 3; ++i) acks.push_back(writer->Write(batches[i]));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(acks[i].is_finished()) << i;
  for (int i = 0; i < 3; ++i) ASSERT_OK(acks[i].status());
  EXPECT_EQ(writer->open_files(), 0);
  EXPECT_EQ(ParquetFiles("logs").size(), 1u);
  acks.push_back(writer->Write(batches[3]));
  acks.push_back(writer->Write(batches[4]));
  EXPECT_FALSE(acks[3].is_finished());
  EXPECT_FALSE(acks[4].is_finished());
  EXPECT_EQ(writer->pending_batches(), 2);
  ASSERT_OK(writer->Flush());
  ASSERT_OK(acks[3].status());
  ASSERT_OK(acks[4].status());

  const auto files = ParquetFiles("logs");
  ASSERT_EQ(files.size(), 2u);
  int64_t expected = 0;
  for (const auto& batch : batches) expected += Rows(batch, PayloadType::kLogs);
  EXPECT_EQ(RowsIn(files[0]) + RowsIn(files[1]), expected);
  EXPECT_GT(RowsIn(files[0]), Rows(batches[0], PayloadType::kLogs));
  EXPECT_EQ(writer->metrics().flushes_for(FlushReason::kRows), 1);
}

// Scenario: a byte target far below one batch's size.
// Guarantees: every batch is published on its own by the byte rule.
TEST_F(DatasetWriterTest, RotatesByBytes) {
  options_.target_bytes_per_file = 1;
  auto writer = MakeWriter();
  auto batches = Batches(Signal::kLogs, 3);
  for (const auto& batch : batches) ASSERT_TRUE(writer->Write(batch).is_finished());
  EXPECT_EQ(ParquetFiles("logs").size(), batches.size());
  EXPECT_EQ(writer->metrics().flushes_for(FlushReason::kBytes),
            static_cast<int64_t>(batches.size()));
}

// Scenario: age rule of 10 s with a fake clock; ticks at +5 s and +11 s, and a row
// target that is also set (upstream would then ignore the age).
// Guarantees: nothing is published before the age passes; the tick after it
// publishes the partition and completes the future.
TEST_F(DatasetWriterTest, AgeRuleWithFakeClock) {
  options_.flush_when_older_than = seconds(10);
  options_.target_rows_per_file = 1'000'000;
  auto writer = MakeWriter();
  ASSERT_EQ(writer->tick_interval(), std::chrono::milliseconds(1000));
  auto batch = Batches(Signal::kMetrics, 1)[0];
  auto ack = writer->Write(batch);
  now_ += seconds(5);
  ASSERT_OK(writer->Tick(now_));
  EXPECT_FALSE(ack.is_finished());
  EXPECT_TRUE(ParquetFiles("univariate_metrics").empty());
  now_ += seconds(6);
  ASSERT_OK(writer->Tick(now_));
  ASSERT_TRUE(ack.is_finished());
  ASSERT_OK(ack.status());
  EXPECT_EQ(ParquetFiles("univariate_metrics").size(), 1u);
  EXPECT_EQ(writer->metrics().flushes_for(FlushReason::kAge), 1);
}

// Relative table of an event path ("move /base/log_attrs/x.parquet" → "log_attrs").
std::string TableOf(const std::string& event, const fs::path& base) {
  const std::string path = event.substr(event.find(' ') + 1);
  const std::string relative = fs::relative(path, base).string();
  return relative.substr(0, relative.find('/'));
}

int DepthOf(const std::string& table) {
  static const std::map<std::string, int> kDepth = {
      {"logs", 0},
      {"spans", 0},
      {"univariate_metrics", 0},
      {"span_event_attrs", 2},
      {"span_link_attrs", 2},
      {"number_dp_attrs", 2},
      {"number_dp_exemplars", 2},
      {"histogram_dp_attrs", 2},
      {"histogram_dp_exemplars", 2},
      {"exp_histogram_dp_attrs", 2},
      {"exp_histogram_dp_exemplars", 2},
      {"summary_dp_attrs", 2},
      {"number_dp_exemplar_attrs", 3},
      {"histogram_dp_exemplar_attrs", 3},
      {"exp_histogram_dp_exemplar_attrs", 3},
  };
  auto it = kDepth.find(table);
  return it == kDepth.end() ? 1 : it->second;
}

// Scenario: logs, traces and metrics in one writer, published by rename.
// Guarantees: within the flush, the Move() that makes a file visible happens for
// every child table before any of its ancestors: depth never increases along the
// sequence of moves, and the roots come last.
TEST_F(DatasetWriterTest, PublishesChildrenBeforeParentsByRename) {
  auto writer = MakeWriter();
  for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
    for (const auto& batch : Batches(signal, 1, 10)) (void)writer->Write(batch);
  }
  ASSERT_OK(writer->Flush());
  std::vector<std::string> moves;
  for (const auto& event : recording_->events) {
    if (event.starts_with("move ")) moves.push_back(TableOf(event, base_));
  }
  ASSERT_GE(moves.size(), 10u);
  for (size_t i = 1; i < moves.size(); ++i) {
    EXPECT_GE(DepthOf(moves[i - 1]), DepthOf(moves[i]))
        << moves[i - 1] << " published before " << moves[i];
  }
  std::set<std::string> roots(moves.end() - 3, moves.end());
  EXPECT_EQ(roots, (std::set<std::string>{"logs", "spans", "univariate_metrics"}));
  // Files were written under a temporary, non-.parquet name.
  for (const auto& event : recording_->events) {
    if (event.starts_with("open ")) {
      EXPECT_TRUE(event.ends_with(".parquet.tmp")) << event;
    }
  }
}

// Scenario: the first file of a partition goes to directories that did not exist
// (`<table>/` and `_part_id=<uuid>/`), published with fsync.
// Guarantees: before the batch is acknowledged, the parent of every directory the
// writer created was fsynced (else a power loss can drop the new directory's entry,
// and the acknowledged file with it, although the file and its own directory were
// synced).
TEST_F(DatasetWriterTest, NewDirectoriesAreSyncedInTheirParents) {
  std::vector<std::string> synced_dirs;
  settings_.fsync_for_testing = [&](const std::string& path, bool directory) {
    if (directory) synced_dirs.push_back(fs::path(path).lexically_normal().string());
    return arrow::Status::OK();
  };
  auto writer = MakeWriter();
  auto done = writer->Write(Batches(Signal::kLogs, 1)[0]);
  ASSERT_OK(writer->Flush());
  ASSERT_OK(done.status());
  const auto files = ParquetFiles("logs");
  ASSERT_EQ(files.size(), 1u);
  // Every level from the file's directory up to the base (which existed).
  for (fs::path dir = fs::path(files[0]).parent_path(); !dir.empty();
       dir = dir.parent_path()) {
    const std::string parent = (base_ / dir).parent_path().lexically_normal().string();
    EXPECT_TRUE(std::find(synced_dirs.begin(), synced_dirs.end(), parent) !=
                synced_dirs.end())
        << "parent of new directory " << dir.string() << " not synced";
  }
}

// Scenario: the sync of a new directory's parent fails once (e.g. EIO).
// Guarantees: the batch that created it fails (retryable, naming the file), and the
// next batch into that directory syncs the parent before it can be acknowledged.
TEST_F(DatasetWriterTest, FailedDirectorySyncFailsTheBatchAndIsRetried) {
  int failures = 1;
  std::vector<std::string> synced_dirs;
  settings_.fsync_for_testing = [&](const std::string& path, bool directory) {
    if (!directory) return arrow::Status::OK();
    if (failures > 0) {
      --failures;
      return arrow::Status::IOError("fsync '", path, "': Input/output error");
    }
    synced_dirs.push_back(fs::path(path).lexically_normal().string());
    return arrow::Status::OK();
  };
  auto writer = MakeWriter();
  const auto batches = Batches(Signal::kLogs, 2);
  auto first = writer->Write(batches[0]);
  ASSERT_TRUE(first.is_finished());
  EXPECT_TRUE(first.status().IsIOError()) << first.status().ToString();
  EXPECT_THAT(first.status().message(), ::testing::HasSubstr("opening logs file"));
  auto second = writer->Write(batches[1]);
  ASSERT_OK(writer->Flush());
  ASSERT_OK(second.status());
  const std::string base = base_.lexically_normal().string();
  EXPECT_TRUE(std::find(synced_dirs.begin(), synced_dirs.end(), base) !=
              synced_dirs.end());
  EXPECT_TRUE(std::find(synced_dirs.begin(), synced_dirs.end(),
                        (base_ / "logs").lexically_normal().string()) !=
              synced_dirs.end());
}

// Scenario: object-store style publishing (the upload completes on Close()).
// Guarantees: streams are opened at their final names and closed children first,
// roots last, so an object-store reader never sees a parent before its children.
TEST_F(DatasetWriterTest, PublishesChildrenBeforeParentsByClose) {
  settings_.publish = PublishMode::kDirect;
  auto writer = MakeWriter();
  std::vector<arrow::Future<>> acks;
  for (const auto& batch : Batches(Signal::kTraces, 2, 10)) {
    acks.push_back(writer->Write(batch));
  }
  ASSERT_OK(writer->Flush());
  for (auto& ack : acks) ASSERT_OK(ack.status());
  std::vector<std::string> closes;
  for (const auto& event : recording_->events) {
    EXPECT_FALSE(event.starts_with("move ")) << event;
    if (event.starts_with("close ")) closes.push_back(TableOf(event, base_));
  }
  ASSERT_GE(closes.size(), 5u);
  for (size_t i = 1; i < closes.size(); ++i) {
    EXPECT_GE(DepthOf(closes[i - 1]), DepthOf(closes[i])) << closes[i];
  }
  EXPECT_EQ(closes.back(), "spans");
  for (const auto& file : Files()) EXPECT_TRUE(file.ends_with(".parquet")) << file;
}

// Scenario: a batch written with a WriteProgress whose on_publishing notes the
// intents; published by rename; then the same with kDirect on a file system whose
// files can be seen before they are whole (not S3 or GCS).
// Guarantees: by rename, one intent per partition, given before any of its files is
// visible, naming (relative to the base path) the file renamed last, which exists
// once the publish is done; the others are renamed before it. kDirect on such a
// file system gives no intent (its existence would prove nothing).
TEST_F(DatasetWriterTest, PublishIntentNamesTheFileRenamedLast) {
  std::vector<std::pair<std::string, std::string>> intents;
  int visible_at_intent = 0;
  auto progress = std::make_shared<WriteProgress>();
  progress->on_publishing = [&](const std::string& partition, const std::string& file) {
    intents.emplace_back(partition, file);
    for (const auto& f : Files()) visible_at_intent += f.ends_with(".parquet") ? 1 : 0;
  };
  {
    auto writer = MakeWriter();
    auto written = writer->Write(Batches(Signal::kLogs, 1, 10)[0], progress);
    ASSERT_OK(writer->Flush());
    ASSERT_OK(written.status());
  }
  ASSERT_EQ(intents.size(), 1u);
  EXPECT_EQ(visible_at_intent, 0);
  EXPECT_EQ(intents[0].first, "");
  EXPECT_TRUE(intents[0].second.starts_with("logs/")) << intents[0].second;
  EXPECT_TRUE(fs::exists(base_ / intents[0].second)) << intents[0].second;
  std::string last_move;
  for (const auto& event : recording_->events) {
    if (event.starts_with("move ")) last_move = event;
  }
  EXPECT_EQ(last_move, "move " + (base_ / intents[0].second).string());
  settings_.publish = PublishMode::kDirect;
  intents.clear();
  auto direct = std::make_shared<WriteProgress>();
  {
    auto writer = MakeWriter();
    auto written = writer->Write(Batches(Signal::kLogs, 1, 10)[0], direct);
    ASSERT_OK(writer->Flush());
    ASSERT_OK(written.status());
  }
  EXPECT_TRUE(direct->publishing.empty());
  EXPECT_TRUE(intents.empty());
}

// Scenario: each supported codec, read back through parquet::ParquetFileReader.
// Guarantees: every column chunk of every row group of every file uses the
// configured codec; files are format 2.6 and carry ARROW:schema, from which the
// root's `_part_id` schema metadata is restored.
TEST_F(DatasetWriterTest, CodecOfEveryColumnChunkMatchesConfig) {
  const std::pair<Compression, arrow::Compression::type> kCases[] = {
      {Compression::kZstd, arrow::Compression::ZSTD},
      {Compression::kSnappy, arrow::Compression::SNAPPY},
      {Compression::kGzip, arrow::Compression::GZIP},
      {Compression::kBrotli, arrow::Compression::BROTLI},
      {Compression::kLz4, arrow::Compression::LZ4},
      {Compression::kNone, arrow::Compression::UNCOMPRESSED},
  };
  auto batches = Batches(Signal::kLogs, 1);
  for (const auto& [codec, expected] : kCases) {
    SCOPED_TRACE(std::string(CompressionName(codec)));
    fs::remove_all(base_);
    fs::create_directories(base_);
    options_.compression = codec;
    options_.row_group_size = 64;  // several row groups per file
    auto writer = MakeWriter();
    (void)writer->Write(batches[0]);
    ASSERT_OK(writer->Close());
    ASSERT_FALSE(Files().empty());
    for (const auto& file : Files()) {
      auto reader = parquet::ParquetFileReader::OpenFile((base_ / file).string());
      auto metadata = reader->metadata();
      EXPECT_EQ(metadata->version(), parquet::ParquetVersion::PARQUET_2_6);
      ASSERT_NE(metadata->key_value_metadata(), nullptr);
      EXPECT_TRUE(metadata->key_value_metadata()->Contains("ARROW:schema"));
      ASSERT_GE(metadata->num_row_groups(), 1);
      for (int rg = 0; rg < metadata->num_row_groups(); ++rg) {
        auto row_group = metadata->RowGroup(rg);
        EXPECT_LE(row_group->num_rows(), 64);
        for (int c = 0; c < row_group->num_columns(); ++c) {
          EXPECT_EQ(row_group->ColumnChunk(c)->compression(), expected)
              << file << " column " << c;
        }
      }
      if (file.starts_with("logs/")) {
        ASSERT_OK_AND_ASSIGN(auto input,
                             arrow::io::ReadableFile::Open((base_ / file).string()));
        ASSERT_OK_AND_ASSIGN(auto arrow_reader, parquet::arrow::OpenFile(
                                                    input, arrow::default_memory_pool()));
        std::shared_ptr<arrow::Schema> schema;
        ASSERT_OK(arrow_reader->GetSchema(&schema));
        ASSERT_NE(schema->metadata(), nullptr);
        EXPECT_TRUE(schema->metadata()->Contains("_part_id"));
      }
    }
  }
}

// Scenario: default options, then string_statistics on.
// Guarantees: ids and times carry min/max statistics (readers prune by them);
// string and binary columns (severity_text, trace_id, body.str) carry none unless
// string_statistics is set.
TEST_F(DatasetWriterTest, StatisticsOnFixedWidthColumnsByDefault) {
  auto batches = Batches(Signal::kLogs, 1);
  for (const bool strings : {false, true}) {
    SCOPED_TRACE(strings ? "string_statistics" : "default");
    fs::remove_all(base_);
    fs::create_directories(base_);
    options_.string_statistics = strings;
    auto writer = MakeWriter();
    (void)writer->Write(batches[0]);
    ASSERT_OK(writer->Close());
    int checked = 0;
    for (const auto& file : Files()) {
      if (!file.starts_with("logs/")) continue;
      auto reader = parquet::ParquetFileReader::OpenFile((base_ / file).string());
      auto metadata = reader->metadata();
      const auto& schema = *metadata->schema();
      auto row_group = metadata->RowGroup(0);
      for (int c = 0; c < row_group->num_columns(); ++c) {
        const std::string path = schema.Column(c)->path()->ToDotString();
        const auto stats = row_group->ColumnChunk(c)->statistics();
        const bool has_min_max = stats != nullptr && stats->HasMinMax();
        if (path == "id" || path == "time_unix_nano" || path == "resource.id") {
          EXPECT_TRUE(has_min_max) << path;
          ++checked;
        }
        if (path == "severity_text" || path == "trace_id" || path == "body.str") {
          EXPECT_EQ(has_min_max, strings) << path;
          ++checked;
        }
      }
    }
    EXPECT_EQ(checked, 6);
  }
}

// Scenario: bloom filters requested on trace_id.
// Guarantees: the trace_id column chunks of logs have a bloom filter; others not.
TEST_F(DatasetWriterTest, BloomFilterOnConfiguredColumns) {
  options_.bloom_filter_columns = {"trace_id", "no_such_column"};
  auto writer = MakeWriter();
  (void)writer->Write(Batches(Signal::kLogs, 1)[0]);
  ASSERT_OK(writer->Close());
  auto files = ParquetFiles("logs");
  ASSERT_EQ(files.size(), 1u);
  auto reader = parquet::ParquetFileReader::OpenFile((base_ / files[0]).string());
  auto metadata = reader->metadata();
  auto row_group = metadata->RowGroup(0);
  int with_filter = 0;
  for (int c = 0; c < row_group->num_columns(); ++c) {
    const bool has = row_group->ColumnChunk(c)->bloom_filter_offset().has_value();
    const std::string name = metadata->schema()->Column(c)->path()->ToDotString();
    EXPECT_EQ(has, name == "trace_id") << name;
    with_filter += has;
  }
  EXPECT_EQ(with_filter, 1);
}

// Scenario: the directory of the logs table cannot be created (a regular file is in
// its place), then the obstacle is removed.
// Guarantees: the batch's future fails with IOError naming the path and table, no
// partial or temporary file is left, and the next batch succeeds.
TEST_F(DatasetWriterTest, UnwritableDirectoryFailsBatchAndWriterRecovers) {
  { std::ofstream(base_ / "logs") << "not a directory"; }
  auto writer = MakeWriter();
  auto batches = Batches(Signal::kLogs, 2);
  auto failed = writer->Write(batches[0]);
  ASSERT_TRUE(failed.is_finished());
  EXPECT_RAISES_WITH_MESSAGE_THAT(IOError, HasSubstr((base_ / "logs").string()),
                                  failed.status());
  EXPECT_THAT(failed.status().message(), HasSubstr("opening logs file"));
  EXPECT_EQ(Files(), std::vector<std::string>{"logs"});

  fs::remove(base_ / "logs");
  auto ok = writer->Write(batches[1]);
  ASSERT_OK(writer->Flush());
  ASSERT_OK(ok.status());
  EXPECT_EQ(TableRows("logs"), Rows(batches[1], PayloadType::kLogs));
  const auto metrics = writer->metrics();
  EXPECT_EQ(metrics.write_errors, 1);
  EXPECT_EQ(metrics.batches_failed, 1);
  EXPECT_EQ(metrics.batches_acked, 1);
}

// Scenario: publishing the root file fails (its rename is refused) after the child
// files were renamed into place.
// Guarantees: Flush() and the futures report the error with the file's URI; the
// already visible children are rolled back and temporary files removed, so the
// failed flush leaves nothing; the writer then writes the next batch normally.
TEST_F(DatasetWriterTest, FailedPublishRollsBackAndWriterRecovers) {
  bool fail = true;
  recording_->fail = [&](const std::string& op, const std::string& path) {
    if (fail && op == "move" && path.find("/logs/") != std::string::npos) {
      return Status::IOError("injected failure");
    }
    return Status::OK();
  };
  auto writer = MakeWriter();
  auto batches = Batches(Signal::kLogs, 3);
  auto first = writer->Write(batches[0]);
  auto second = writer->Write(batches[1]);
  Status st = writer->Flush();
  ASSERT_RAISES(IOError, st);
  EXPECT_THAT(st.message(), HasSubstr("injected failure"));
  EXPECT_THAT(st.message(), HasSubstr(base_.string() + "/logs/_part_id="));
  for (auto* ack : {&first, &second}) {
    ASSERT_TRUE(ack->is_finished());
    EXPECT_RAISES_WITH_MESSAGE_THAT(IOError, HasSubstr("flushing logs file"),
                                    ack->status());
  }
  EXPECT_TRUE(Files().empty()) << Files().front();

  fail = false;
  auto third = writer->Write(batches[2]);
  ASSERT_OK(writer->Flush());
  ASSERT_OK(third.status());
  EXPECT_EQ(TableRows("logs"), Rows(batches[2], PayloadType::kLogs));
  EXPECT_EQ(TableRows("log_attrs"), Rows(batches[2], PayloadType::kLogAttrs));
  EXPECT_EQ(writer->metrics().files_discarded,
            static_cast<int64_t>(batches[0].payload_types().size()));
}

// Scenario: a close (upload completion) fails in object-store mode.
// Guarantees: remaining streams are aborted, nothing stays visible, the batch fails.
TEST_F(DatasetWriterTest, FailedUploadAbortsTheRest) {
  settings_.publish = PublishMode::kDirect;
  recording_->fail = [&](const std::string& op, const std::string& path) {
    if (op == "close" && path.find("/log_attrs/") != std::string::npos) {
      return Status::IOError("upload failed");
    }
    return Status::OK();
  };
  auto writer = MakeWriter();
  auto ack = writer->Write(Batches(Signal::kLogs, 1)[0]);
  ASSERT_FALSE(ack.is_finished());
  ASSERT_RAISES(IOError, writer->Flush());
  ASSERT_RAISES(IOError, ack.status());
  EXPECT_TRUE(Files().empty()) << Files().front();
}

// Scenario: object-store mode; the upload of a file fails with a status Arrow codes
// Invalid (its GCS file system maps kInvalidArgument / kOutOfRange to it); then,
// while an earlier batch waits in the partition, a later batch's new file cannot be
// opened, again with Invalid.
// Guarantees: a storage error never reaches a batch as Invalid (callers take that
// as "its data is bad": a permanent Nack, or an acknowledged WAL record given up):
// the failed publish's batch, the batch whose open failed and the other batch held
// by the discarded partition all get a retryable IOError with the store's message.
// Fails before the fix (all three were Invalid).
TEST_F(DatasetWriterTest, StorageErrorsCodedInvalidAreNotInvalidData) {
  settings_.publish = PublishMode::kDirect;
  std::string fail_op = "close";
  std::string fail_table = "/logs/";
  recording_->fail = [&](const std::string& op, const std::string& path) {
    if (op == fail_op && path.find(fail_table) != std::string::npos) {
      return Status::Invalid("google::cloud::Status(OUT_OF_RANGE: injected)");
    }
    return Status::OK();
  };
  auto writer = MakeWriter();
  auto logs = Batches(Signal::kLogs, 2);
  auto first = writer->Write(logs[0]);
  ASSERT_FALSE(writer->Flush().ok());
  ASSERT_TRUE(first.is_finished());
  EXPECT_RAISES_WITH_MESSAGE_THAT(IOError, HasSubstr("OUT_OF_RANGE: injected"),
                                  first.status());

  // Same partition (one `_part_id`): the traces batch opens its spans file there.
  fail_op = "open";
  fail_table = "/spans/";
  auto second = writer->Write(logs[1]);
  auto third = writer->Write(Batches(Signal::kTraces, 1)[0]);
  ASSERT_TRUE(third.is_finished());
  EXPECT_RAISES_WITH_MESSAGE_THAT(IOError, HasSubstr("OUT_OF_RANGE"), third.status());
  ASSERT_TRUE(second.is_finished());
  EXPECT_RAISES_WITH_MESSAGE_THAT(IOError, HasSubstr("OUT_OF_RANGE"), second.status());
}

// Scenario: Close() with a deadline that has already passed, then Write().
// Guarantees: unflushed batches fail with Cancelled and leave no files; writes after
// Close() fail with Invalid; a second Close() is a no-op.
TEST_F(DatasetWriterTest, CloseAfterDeadlineDiscardsAndLaterWritesFail) {
  auto writer = MakeWriter();
  auto ack = writer->Write(Batches(Signal::kLogs, 1)[0]);
  ASSERT_RAISES(Cancelled, writer->Close(now_ - seconds(1)));
  ASSERT_RAISES(Cancelled, ack.status());
  EXPECT_TRUE(Files().empty());
  ASSERT_RAISES(Invalid, writer->Write(Batches(Signal::kLogs, 1)[0]).status());
  ASSERT_OK(writer->Close());
}

// Scenario: the writer is destroyed with unflushed data.
// Guarantees: its batches fail with Cancelled and temporary files are removed.
TEST_F(DatasetWriterTest, DestroyingDiscardsUnflushedFiles) {
  arrow::Future<> ack;
  {
    auto writer = MakeWriter();
    ack = writer->Write(Batches(Signal::kLogs, 1)[0]);
    EXPECT_FALSE(Files().empty());
  }
  ASSERT_RAISES(Cancelled, ack.status());
  EXPECT_TRUE(Files().empty());
}

/// One logs batch per hour: the request's records all get a time in hour `hour`
/// (hours since the epoch), so event-time partitioning puts each in its own
/// partition.
std::vector<OtapBatch> LogsInHours(int hours) {
  generator::GeneratorOptions gen;
  gen.seed = 11;
  gen.items_per_scope = 3;
  generator::OtlpGenerator generator(gen);
  std::vector<OtapBatch> out;
  for (int hour = 0; hour < hours; ++hour) {
    otlp::LogsRequest request = generator.NextLogs();
    const uint64_t t = (490'000ULL + static_cast<uint64_t>(hour)) * 3'600'000'000'000ULL;
    for (auto& rl : *request.mutable_resource_logs()) {
      for (auto& sl : *rl.mutable_scope_logs()) {
        for (auto& record : *sl.mutable_log_records()) record.set_time_unix_nano(t);
      }
    }
    auto batches = otlp::ToOtap(otlp::OtlpRequest(std::move(request)));
    EXPECT_TRUE(batches.ok()) << batches.status().ToString();
    for (auto& batch : *batches) out.push_back(std::move(batch));
  }
  return out;
}

// One batch of logs whose records alternate between hour 00 and hour 01 of a day.
OtapBatch LogsOverTwoHours() {
  generator::GeneratorOptions gen;
  gen.seed = 13;
  gen.items_per_scope = 4;
  return testing::LogsOverTwoHours(gen);
}

// Scenario: event-time partitioning; one batch spread over two hours whose second
// hour's directory cannot be created 3 times (the first hour's is fine); the batch
// is written again with its WriteProgress after each failure, as the parquet
// exporter re-writes a WAL record.
// Guarantees: each try fails (the whole batch is not published) but only once the
// batch's other partition is settled; a try writes only the partitions not yet
// published, so after the 4th try every log is in the dataset exactly once (the
// first hour is not copied again by each try).
TEST_F(DatasetWriterTest, RewriteWithProgressSkipsPublishedPartitions) {
  partitioning_.event_time = TimeGranularity::kHour;
  int failures = 3;
  recording_->fail = [&](const std::string& op, const std::string& path) {
    if (op == "mkdir" && path.find("hour=01") != std::string::npos && failures > 0) {
      --failures;
      return Status::IOError("injected mkdir failure");
    }
    return Status::OK();
  };
  auto writer = MakeWriter();
  const OtapBatch batch = LogsOverTwoHours();
  auto progress = std::make_shared<WriteProgress>();
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto written = writer->Write(batch, progress);
    // The first try waits for hour 00; later ones write hour 01 only.
    EXPECT_EQ(written.is_finished(), attempt > 0) << "attempt " << attempt;
    ASSERT_OK(writer->Flush());
    ASSERT_TRUE(written.is_finished());
    EXPECT_RAISES_WITH_MESSAGE_THAT(IOError, HasSubstr("injected mkdir failure"),
                                    written.status());
    EXPECT_EQ(progress->published.size(), 1u) << "attempt " << attempt;
  }
  auto written = writer->Write(batch, progress);
  ASSERT_OK(writer->Flush());
  ASSERT_OK(written.status());
  EXPECT_EQ(progress->published.size(), 2u);
  EXPECT_EQ(TableRows("logs"), Rows(batch, PayloadType::kLogs));
  EXPECT_EQ(TableRows("log_attrs"), Rows(batch, PayloadType::kLogAttrs));
  std::set<std::string> hours;
  for (const auto& file : ParquetFiles("logs")) {
    hours.insert(fs::path(file).parent_path().parent_path().filename().string());
  }
  EXPECT_EQ(hours, (std::set<std::string>{"hour=00", "hour=01"}));
}

// Scenario: max_open_partitions 3 with event-time partitioning and 8 batches,
// each in a new hour (no other flush rule fires).
// Guarantees: no more than 3 partitions are ever open; opening a 4th publishes the
// one opened first (flush reason "partitions"), completing its batch's future;
// after Close every hour has its files and no row is lost.
TEST_F(DatasetWriterTest, MaxOpenPartitionsPublishesTheOldest) {
  partitioning_.event_time = TimeGranularity::kHour;
  options_.max_open_partitions = 3;
  auto writer = MakeWriter();
  const auto batches = LogsInHours(8);
  ASSERT_EQ(batches.size(), 8u);
  std::vector<arrow::Future<>> acks;
  int64_t logs = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    acks.push_back(writer->Write(batches[i]));
    logs += Rows(batches[i], PayloadType::kLogs);
    std::set<std::string> open;
    for (const auto& event : recording_->events) {
      if (!event.starts_with("open ")) continue;
      const std::string path = event.substr(5);
      if (std::none_of(recording_->events.begin(), recording_->events.end(),
                       [&](const std::string& e) { return e == "close " + path; })) {
        open.insert(fs::path(path).parent_path().string());
      }
    }
    std::set<std::string> open_hours;
    for (const auto& dir : open) {
      open_hours.insert(fs::path(dir).parent_path().filename().string());
    }
    EXPECT_LE(open_hours.size(), 3u) << "after batch " << i;
    // Batches older than the 3 open partitions are published and acknowledged.
    for (size_t j = 0; j < acks.size(); ++j) {
      EXPECT_EQ(acks[j].is_finished(), j + 3 <= i) << "batch " << j << " after " << i;
    }
  }
  EXPECT_EQ(writer->metrics().flushes_for(FlushReason::kPartitions), 5);
  EXPECT_EQ(FlushReasonName(FlushReason::kPartitions), "partitions");
  ASSERT_OK(writer->Close());
  for (auto& ack : acks) ASSERT_OK(ack.status());
  std::set<std::string> hours;
  for (const auto& file : ParquetFiles("logs")) {
    hours.insert(fs::path(file).parent_path().parent_path().string());
  }
  EXPECT_EQ(hours.size(), 8u);
  EXPECT_EQ(TableRows("logs"), logs);
}

// Scenario: the default dictionary columns, `["*"]`, and dictionary off.
// Guarantees: by default only the listed string columns of each table are
// dictionary-encoded (log_attrs.key/str yes; ids, times, bodies no); `*` encodes
// every (non-boolean) column; `dictionary: false` none.
TEST_F(DatasetWriterTest, DictionaryOnConfiguredColumnsOnly) {
  auto dictionary_encoded = [&](const std::string& table) {
    std::map<std::string, bool> out;
    const auto files = ParquetFiles(table);
    EXPECT_FALSE(files.empty());
    if (files.empty()) return out;
    auto reader = parquet::ParquetFileReader::OpenFile((base_ / files[0]).string());
    auto group = reader->metadata()->RowGroup(0);
    for (int c = 0; c < group->num_columns(); ++c) {
      auto column = group->ColumnChunk(c);
      out[column->path_in_schema()->ToDotString()] = column->has_dictionary_page();
    }
    return out;
  };
  auto write = [&] {
    fs::remove_all(base_);
    fs::create_directories(base_);
    auto writer = MakeWriter();
    for (const auto& batch : Batches(Signal::kLogs, 2)) (void)writer->Write(batch);
    ASSERT_OK(writer->Close());
  };
  write();
  auto attrs = dictionary_encoded("log_attrs");
  EXPECT_TRUE(attrs["key"]);
  EXPECT_TRUE(attrs["str"]);
  EXPECT_FALSE(attrs["parent_id"]);
  EXPECT_FALSE(attrs["int"]);
  auto logs = dictionary_encoded("logs");
  EXPECT_TRUE(logs["scope.name"]);
  EXPECT_TRUE(logs["severity_text"]);
  EXPECT_FALSE(logs["id"]);
  EXPECT_FALSE(logs["time_unix_nano"]);
  EXPECT_FALSE(logs["body.str"]);
  EXPECT_EQ(DictionaryColumnsOf(options_, *DiskSchema(PayloadType::kLogAttrs)),
            (std::vector<std::string>{"key", "str"}));

  options_.dictionary_columns = {"*"};
  write();
  for (const auto& [column, encoded] : dictionary_encoded("logs")) {
    if (column == "body.bool") continue;  // Parquet never dictionary-encodes booleans
    EXPECT_TRUE(encoded) << column;
  }
  options_.dictionary = false;
  write();
  for (const auto& [column, encoded] : dictionary_encoded("log_attrs")) {
    EXPECT_FALSE(encoded) << column;
  }
}

// Realistic logs (10 attributes each), `requests` OTAP batches of `logs` logs.
std::vector<OtapBatch> RealisticLogs(int requests, int logs) {
  generator::GeneratorOptions options;
  options.mode = generator::Mode::kRealistic;
  options.items_per_scope = logs / 4;
  return otap_parquet::testing::GeneratedBatches(Signal::kLogs, requests, options);
}

// Scenario: realistic logs written with the default dictionary columns, and again
// with dictionary encoding off.
// Guarantees: attribute keys and the logs' repetitive strings reach Parquet as Arrow
// dictionary arrays (counted), the stored ARROW:schema keeps them utf8 (readers
// see the same types), `key` is dictionary encoded without falling back, and the
// files read back the same as those written without dictionaries.
TEST_F(DatasetWriterTest, RepetitiveStringsReachParquetAsDictionaries) {
  const auto batches = RealisticLogs(3, 2'000);
  auto write = [&](const std::string& dir) {
    settings_.base_path = (base_ / dir).string();
    auto writer = MakeWriter();
    for (const auto& batch : batches) (void)writer->Write(batch);
    EXPECT_OK(writer->Close());
    return writer->metrics();
  };
  auto read = [&](const std::string& dir, const std::string& table) {
    std::vector<std::string> files;
    for (const auto& file : ParquetFiles(dir + "/" + table)) files.push_back(file);
    EXPECT_EQ(files.size(), 1u) << dir << "/" << table;
    auto input =
        arrow::io::ReadableFile::Open((base_ / files.at(0)).string()).ValueOrDie();
    auto reader =
        parquet::arrow::OpenFile(input, arrow::default_memory_pool()).ValueOrDie();
    auto out = reader->ReadTable().ValueOrDie();
    return std::make_pair(out, reader->parquet_reader()->metadata());
  };
  const WriterMetrics with = write("with");
  options_.dictionary = false;
  const WriterMetrics without = write("without");
  // key and str of log_attrs and resource_attrs; severity_text,
  // event_name, schema_url and the scope and resource strings of logs.
  EXPECT_GE(with.dictionary_arrays, static_cast<int64_t>(batches.size()) * 2);
  EXPECT_EQ(without.dictionary_arrays, 0);
  for (const std::string table : {"logs", "log_attrs", "resource_attrs"}) {
    auto [encoded, metadata] = read("with", table);
    auto [plain, unused] = read("without", table);
    EXPECT_TRUE(encoded->Equals(*plain)) << table;
    EXPECT_TRUE(encoded->schema()->Equals(*DiskSchema(*PayloadTypeFromTableName(table)),
                                          /*check_metadata=*/false))
        << table << ": " << encoded->schema()->ToString();
    if (table == "logs") continue;
    auto key = metadata->RowGroup(0)->ColumnChunk(1);
    ASSERT_EQ(key->path_in_schema()->ToDotString(), "key");
    EXPECT_TRUE(key->has_dictionary_page()) << table;
    for (const auto& stats : key->encoding_stats()) {
      if (stats.page_type == parquet::PageType::DATA_PAGE) {
        EXPECT_EQ(stats.encoding, parquet::Encoding::RLE_DICTIONARY) << table;
      }
    }
  }
}

// The same 40,000 realistic logs written kDictionaryProbeFiles + 1 times, a file
// of each table per time (files rotate at 400,000 rows), with `columns` as
// dictionary columns: one probe cycle of the writer's dictionary history.
class DictionaryProbeTest : public DatasetWriterTest {
 protected:
  std::unique_ptr<DatasetWriter> WriteProbeCycle(std::vector<std::string> columns) {
    batches_ = RealisticLogs(4, 10'000);
    options_.dictionary_columns = std::move(columns);
    options_.target_rows_per_file = 400'000;
    auto writer = MakeWriter();
    for (int file = 0; file <= kDictionaryProbeFiles; ++file) {
      now_ += seconds(1);  // file names in order
      for (const auto& batch : batches_) (void)writer->Write(batch);
    }
    EXPECT_OK(writer->Close());
    return writer;
  }

  std::vector<OtapBatch> batches_;
};

// Scenario: log attribute `str` values of realistic logs (url paths, addresses:
// far more than ColumnDictionary::kMaxEntries distinct values per file) with `key`
// and `str` as dictionary columns, files rotating by rows.
// Guarantees: the first file learns `str` and gives up; the next files hand it to
// Parquet dense from the first row (counted), `key` keeps its dictionary arrays;
// file kDictionaryProbeFiles + 1 learns it again; every file reads back the rows
// written, `str` still dictionary encoded by Parquet.
TEST_F(DictionaryProbeTest, ColumnThatGaveUpIsDenseInTheNextFiles) {
  auto writer = WriteProbeCycle({"key", "str"});
  EXPECT_EQ(writer->metrics().dictionary_columns_dense, kDictionaryProbeFiles - 1);
  EXPECT_GT(writer->metrics().dictionary_arrays, 0);
  const auto files = ParquetFiles("log_attrs");
  ASSERT_EQ(files.size(), static_cast<size_t>(kDictionaryProbeFiles + 1));
  int64_t rows = 0;
  for (const auto& batch : batches_)
    rows += batch.Get(PayloadType::kLogAttrs)->num_rows();
  for (const auto& file : files) {
    auto reader = parquet::ParquetFileReader::OpenFile((base_ / file).string());
    EXPECT_EQ(reader->metadata()->num_rows(), rows) << file;
    auto group = reader->metadata()->RowGroup(0);
    for (int c = 0; c < group->num_columns(); ++c) {
      auto chunk = group->ColumnChunk(c);
      if (chunk->path_in_schema()->ToDotString() == "str") {
        EXPECT_TRUE(chunk->has_dictionary_page()) << file;
      }
    }
  }
}

// Scenario: a dictionary column whose dictionary outgrows Parquet's page limit in
// every file (log bodies, ~40 bytes, mostly distinct; 40,000 logs per file), files
// rotating by rows (400,000 attribute rows).
// Guarantees: the first file falls back (counted once); the next files write the
// column plain (no dictionary page, no hashing) while `key` keeps its dictionary;
// file kDictionaryProbeFiles + 1 tries the dictionary again.
TEST_F(DictionaryProbeTest, ColumnThatFellBackIsPlainInTheNextFiles) {
  auto writer = WriteProbeCycle({"key", "body.str"});
  EXPECT_EQ(writer->metrics().dictionary_fallbacks, 2);  // first file, probe file
  const auto files = ParquetFiles("logs");
  ASSERT_EQ(files.size(), static_cast<size_t>(kDictionaryProbeFiles + 1));
  for (size_t i = 0; i < files.size(); ++i) {
    auto reader = parquet::ParquetFileReader::OpenFile((base_ / files[i]).string());
    auto group = reader->metadata()->RowGroup(0);
    std::optional<bool> body;
    for (int c = 0; c < group->num_columns(); ++c) {
      auto chunk = group->ColumnChunk(c);
      if (chunk->path_in_schema()->ToDotString() == "body.str") {
        body = chunk->has_dictionary_page();
      }
    }
    ASSERT_TRUE(body.has_value());
    const bool tried = i == 0 || i == files.size() - 1;
    EXPECT_EQ(*body, tried) << files[i];
  }
  auto attrs = parquet::ParquetFileReader::OpenFile(
      (base_ / ParquetFiles("log_attrs")[1]).string());
  EXPECT_TRUE(attrs->metadata()->RowGroup(0)->ColumnChunk(1)->has_dictionary_page());
}

// Scenario: invalid writer options.
// Guarantees: Make() fails with Invalid naming each offending key.
TEST_F(DatasetWriterTest, InvalidOptionsNameTheKey) {
  options_.row_group_size = 0;
  options_.compression = Compression::kSnappy;
  options_.compression_level = 3;
  auto writer = DatasetWriter::Make(options_, partitioning_, settings_);
  ASSERT_RAISES(Invalid, writer.status());
  EXPECT_THAT(writer.status().message(), HasSubstr("writer_options.row_group_size"));
  EXPECT_THAT(writer.status().message(), HasSubstr("writer_options.compression_level"));
}

// Scenario: a writer with a publisher (util::SerialWorker); the rows rule cuts the
// files of batch 0 and the publish is held by before_publish_for_testing; batch 1
// is written meanwhile; then the publish is released; then Flush().
// Guarantees: Write() returns while the cut files are being published (they are
// detached: batch 1 goes to new files), batch 0's future is not completed before
// its files are published (batch 1's, cut as well, may follow them at once: not
// asserted), Poll() completes it once they are, and Flush() waits for
// the publisher before publishing the rest, so everything is settled on return.
TEST_F(DatasetWriterTest, RuleFlushesArePublishedOnThePublisher) {
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  settings_.before_publish_for_testing = [&](const std::string&) {
    std::unique_lock<std::mutex> lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    return arrow::Status::OK();
  };
  util::SerialWorker publisher("test-publish", 2);
  settings_.publisher = &publisher;
  auto batches = Batches(Signal::kLogs, 2);
  options_.target_rows_per_file = Rows(batches[0], PayloadType::kLogs);
  auto writer = MakeWriter();
  auto first = writer->Write(batches[0]);  // reaches the rows rule: cut
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return entered; });
  }
  EXPECT_EQ(writer->publishing(), 1);
  EXPECT_EQ(writer->open_files(), 0);       // detached
  auto second = writer->Write(batches[1]);  // on this thread, while blocked
  EXPECT_FALSE(first.is_finished());
  EXPECT_TRUE(ParquetFiles("logs").empty());
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  while (!first.is_finished()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    writer->Poll();
  }
  ASSERT_OK(first.status());
  // Batch 1 reached the rows rule too: its cut files may be published by now.
  EXPECT_GE(TableRows("logs"), Rows(batches[0], PayloadType::kLogs));
  ASSERT_OK(writer->Flush());
  EXPECT_EQ(writer->publishing(), 0);
  ASSERT_TRUE(second.is_finished());
  ASSERT_OK(second.status());
  EXPECT_EQ(TableRows("logs"),
            Rows(batches[0], PayloadType::kLogs) + Rows(batches[1], PayloadType::kLogs));
  EXPECT_GE(writer->metrics().flushes_for(FlushReason::kRows), 1);
  EXPECT_EQ(writer->metrics().batches_acked, 2);
  for (const auto& file : Files()) EXPECT_FALSE(file.ends_with(".tmp")) << file;
}

}  // namespace
}  // namespace otap_parquet::dataset
