// SPDX-License-Identifier: Apache-2.0
// DatasetReader against what it cannot read as is: storage failures (retried, never
// taken for corruption), upstream's length-prefixed id chunks (Q14), files without a
// required column.
#include "otap_parquet/dataset/dataset_reader.h"

#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <arrow/api.h>
#include <arrow/filesystem/filesystem.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/io/file.h>
#include <gtest/gtest.h>
#include <parquet/arrow/writer.h>
#include <parquet/file_reader.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/dataset/column_recovery.h"
#include "otap_parquet/dataset/dataset_reader_test_util.h"
#include "otap_parquet/dataset/discovery.h"
#include "otap_parquet/dataset/read_errors.h"
#include "otap_parquet/dataset/replay_checkpoint.h"
#include "otap_parquet/otlp/equivalence.h"
#include "otap_parquet/storage/forwarding_file_system.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/temp_dir.h"

namespace otap_parquet::dataset {
namespace {

namespace stdfs = std::filesystem;
using PT = PayloadType;
using testing::TestWriteOptions;
using testing::WriteGeneratedDataset;

// A fresh directory per test, removed afterwards.
class TempDir : public otap_parquet::testing::TempDir {
 public:
  TempDir() : otap_parquet::testing::TempDir("otap_reader_trust") {}
};

// Which reads of one file fail: the reads numbered [first, first + count) over every
// opening of the file (counted from 0), with IOError as a storage service would.
struct FailurePlan {
  std::string path;
  int first = 0;
  int count = 0;
  std::atomic<int> reads{0};
  std::atomic<int> failed{0};

  arrow::Status Check() {
    const int n = reads++;
    if (n >= first && n < first + count) {
      ++failed;
      return arrow::Status::IOError("injected: 503 Slow Down on read ", n);
    }
    return arrow::Status::OK();
  }
};

class FlakyFile : public arrow::io::RandomAccessFile {
 public:
  FlakyFile(std::shared_ptr<arrow::io::RandomAccessFile> inner, FailurePlan* plan)
      : inner_(std::move(inner)), plan_(plan) {}
  arrow::Status Close() override { return inner_->Close(); }
  arrow::Result<int64_t> Tell() const override { return inner_->Tell(); }
  bool closed() const override { return inner_->closed(); }
  arrow::Status Seek(int64_t position) override { return inner_->Seek(position); }
  arrow::Result<int64_t> Read(int64_t nbytes, void* out) override {
    ARROW_RETURN_NOT_OK(plan_->Check());
    return inner_->Read(nbytes, out);
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t nbytes) override {
    ARROW_RETURN_NOT_OK(plan_->Check());
    return inner_->Read(nbytes);
  }
  arrow::Result<int64_t> GetSize() override { return inner_->GetSize(); }
  arrow::Result<int64_t> ReadAt(int64_t position, int64_t nbytes, void* out) override {
    ARROW_RETURN_NOT_OK(plan_->Check());
    return inner_->ReadAt(position, nbytes, out);
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position,
                                                       int64_t nbytes) override {
    ARROW_RETURN_NOT_OK(plan_->Check());
    return inner_->ReadAt(position, nbytes);
  }
  arrow::Result<int64_t> ReadAt(int64_t position, int64_t nbytes, bool allow_short_read,
                                void* out) override {
    ARROW_RETURN_NOT_OK(plan_->Check());
    return inner_->ReadAt(position, nbytes, allow_short_read, out);
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position, int64_t nbytes,
                                                       bool allow_short_read) override {
    ARROW_RETURN_NOT_OK(plan_->Check());
    return inner_->ReadAt(position, nbytes, allow_short_read);
  }

 private:
  std::shared_ptr<arrow::io::RandomAccessFile> inner_;
  FailurePlan* plan_;
};

// The local filesystem, except that reads of plan->path fail as planned. As "local"
// the reader streams column chunks through buffered reads; otherwise it pre-buffers
// each row group in coalesced reads, as for object stores.
class FlakyFileSystem : public ForwardingFileSystem {
 public:
  explicit FlakyFileSystem(FailurePlan* plan, bool local = false)
      : ForwardingFileSystem(std::make_shared<arrow::fs::LocalFileSystem>()),
        plan_(plan),
        local_(local) {}
  std::string type_name() const override { return local_ ? "local" : "flaky"; }
  using ForwardingFileSystem::OpenInputFile;
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(
      const std::string& path) override {
    ARROW_ASSIGN_OR_RAISE(auto file, ForwardingFileSystem::OpenInputFile(path));
    if (path != plan_->path) return file;
    return std::make_shared<FlakyFile>(std::move(file), plan_);
  }
  // The readers open listed files with their size (OpenListedFile).
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(
      const arrow::fs::FileInfo& info) override {
    return OpenInputFile(info.path());
  }

 private:
  FailurePlan* plan_;
  bool local_;
};

struct Replay {
  std::vector<otlp::OtlpRequest> requests;
  ReaderStats stats;
  arrow::Status error;  // of Next(), when it failed
};

Replay ReadWith(std::shared_ptr<arrow::fs::FileSystem> fs, const std::string& base,
                ReaderOptions options) {
  Replay replay;
  auto reader = DatasetReader::Make(std::move(fs), base, options);
  if (!reader.ok()) {
    replay.error = reader.status();
    return replay;
  }
  while (true) {
    auto batch = (*reader)->Next();
    if (!batch.ok()) {
      replay.error = batch.status();
      break;
    }
    if (!*batch) break;
    auto request = otlp::FromOtap(**batch);
    if (!request.ok()) {
      replay.error = request.status();
      break;
    }
    replay.requests.push_back(std::move(*request));
  }
  replay.stats = (*reader)->stats();
  return replay;
}

TestWriteOptions SmallFiles() {
  TestWriteOptions options;
  options.rotate_rows = {{PT::kLogs, 30}, {PT::kLogAttrs, 90}};
  options.default_rotate_rows = 20;
  options.row_group_rows = 8;
  return options;
}

ReaderOptions FastRetries(int attempts) {
  ReaderOptions options;
  options.batch_size = 16;
  options.io_attempts = attempts;
  options.io_retry_backoff = std::chrono::milliseconds(0);
  return options;
}

// A file of `table` in the middle of the dataset's plan.
std::string MiddleFile(const std::string& base, PT table) {
  auto plan = Discover(std::make_shared<arrow::fs::LocalFileSystem>(), base, {});
  EXPECT_TRUE(plan.ok());
  const auto& files = plan->partitions.at(0).FilesOf(table);
  EXPECT_GE(files.size(), 3u);
  return files[files.size() / 2].path;
}

// A file that is not Parquet among the logs files; returns its path.
std::string WriteGarbageLogsFile(const std::string& base) {
  const std::string garbage =
      stdfs::path(MiddleFile(base, PT::kLogs)).parent_path().string() +
      "/part-9999999999-garbage.parquet";
  std::ofstream(garbage) << "PAR1 this is not parquet PAR1";
  return garbage;
}

// Scenario: reads of one file fail with IOError (a storage blip): the footer read,
// or data reads in the middle of its row groups; fewer failures than attempts.
// Guarantees: retried inside the reader, counted, no row lost or duplicated, no
// file taken for corrupt.
TEST(DatasetReaderTrustTest, TransientStorageErrorsAreRetriedNotSkipped) {
  for (PT table : {PT::kLogs, PT::kLogAttrs}) {
    for (int first : {0, 1, 3}) {
      for (bool local : {false, true}) {
        SCOPED_TRACE(std::string(TableName(table)) + " first failing read " +
                     std::to_string(first) + (local ? " local" : " object store"));
        TempDir dir;
        generator::GeneratorOptions gen;
        gen.seed = 5;
        ASSERT_OK_AND_ASSIGN(
            auto expected,
            WriteGeneratedDataset(dir.path(), {Signal::kLogs}, 4, gen, SmallFiles()));
        FailurePlan plan;
        plan.path = MiddleFile(dir.path(), table);
        plan.first = first;
        plan.count = 2;
        auto replay = ReadWith(std::make_shared<FlakyFileSystem>(&plan, local),
                               dir.path(), FastRetries(3));
        ASSERT_OK(replay.error);
        EXPECT_EQ(plan.failed.load(), 2);
        EXPECT_EQ(replay.stats.io_retries, 2);
        EXPECT_EQ(replay.stats.corrupt_files, 0);
        EXPECT_EQ(replay.stats.orphan_rows, 0);
        ASSERT_OK(otlp::CheckEquivalent(expected, replay.requests));
      }
    }
  }
}

// Scenario: one logs row group of 200,000 rows (slices of 65,535) with an
// incompressible 200-byte body each, streamed in 1 MiB reads; the last read of the
// file, inside its last slice, fails once.
// Guarantees: the group is reopened at its first row not emitted: the replay equals a
// clean one (nothing lost, nothing emitted twice).
TEST(DatasetReaderTrustTest, StorageErrorInsideALargeRowGroupResumesAtTheSlice) {
  TempDir dir;
  constexpr int64_t kRows = 200'000;
  arrow::UInt32Builder ids;
  arrow::TimestampBuilder times(arrow::timestamp(arrow::TimeUnit::NANO),
                                arrow::default_memory_pool());
  arrow::UInt8Builder types;
  arrow::StringBuilder bodies;
  std::mt19937_64 rng(11);
  std::string body(200, 'x');
  for (int64_t i = 0; i < kRows; ++i) {
    ASSERT_OK(ids.Append(static_cast<uint32_t>(i)));
    ASSERT_OK(times.Append(1'700'000'000'000'000'000 + i));
    ASSERT_OK(types.Append(1));
    for (auto& c : body) c = static_cast<char>('a' + rng() % 26);
    ASSERT_OK(bodies.Append(body));
  }
  ASSERT_OK_AND_ASSIGN(auto id_array, ids.Finish());
  ASSERT_OK_AND_ASSIGN(auto time_array, times.Finish());
  ASSERT_OK_AND_ASSIGN(auto type_array, types.Finish());
  ASSERT_OK_AND_ASSIGN(auto body_array, bodies.Finish());
  ASSERT_OK_AND_ASSIGN(auto body_struct,
                       arrow::StructArray::Make({type_array, body_array},
                                                std::vector<std::string>{"type", "str"}));
  auto table = arrow::Table::Make(
      arrow::schema({arrow::field("id", arrow::uint32()),
                     arrow::field("time_unix_nano", time_array->type()),
                     arrow::field("observed_time_unix_nano", time_array->type()),
                     arrow::field("body", body_struct->type())}),
      {id_array, time_array, time_array, body_struct});
  const std::string partition =
      dir.path() + "/logs/_part_id=00000000-0000-4000-8000-000000000001";
  stdfs::create_directories(partition);
  const std::string path = partition + "/part-0000000001-big.parquet";
  {
    ASSERT_OK_AND_ASSIGN(auto out, arrow::io::FileOutputStream::Open(path));
    ASSERT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out,
                                         /*chunk_size=*/kRows));
    ASSERT_OK(out->Close());
  }
  ReaderOptions options = FastRetries(3);
  options.batch_size = 65535;
  // A clean pass: the expected replay, and the number of reads of the file.
  FailurePlan count;
  count.path = path;
  auto clean = ReadWith(std::make_shared<FlakyFileSystem>(&count, /*local=*/true),
                        dir.path(), options);
  ASSERT_OK(clean.error);
  ASSERT_EQ(clean.stats.roots_emitted, kRows);
  ASSERT_GT(count.reads.load(), 10);
  FailurePlan plan;
  plan.path = path;
  plan.first = count.reads.load() - 1;
  plan.count = 1;
  auto replay = ReadWith(std::make_shared<FlakyFileSystem>(&plan, /*local=*/true),
                         dir.path(), options);
  ASSERT_OK(replay.error);
  EXPECT_EQ(plan.failed.load(), 1);
  EXPECT_EQ(replay.stats.io_retries, 1);
  EXPECT_EQ(replay.stats.roots_emitted, kRows);
  ASSERT_OK(otlp::CheckEquivalent(clean.requests, replay.requests));
}

// Scenario: a storage failure outlasts the reader's attempts.
// Guarantees: Next() fails with a retryable error naming the file (never a silent
// skip: corrupt_files stays 0); a new reader once the storage answers replays
// everything.
TEST(DatasetReaderTrustTest, PersistentStorageErrorFailsRetryablyThenRereads) {
  TempDir dir;
  generator::GeneratorOptions gen;
  gen.seed = 6;
  ASSERT_OK_AND_ASSIGN(auto expected, WriteGeneratedDataset(dir.path(), {Signal::kLogs},
                                                            4, gen, SmallFiles()));
  FailurePlan plan;
  plan.path = MiddleFile(dir.path(), PT::kLogAttrs);
  plan.first = 2;
  plan.count = 3;
  auto fs = std::make_shared<FlakyFileSystem>(&plan);
  auto failed = ReadWith(fs, dir.path(), FastRetries(2));
  ASSERT_FALSE(failed.error.ok());
  EXPECT_TRUE(IsRetryableReadError(failed.error)) << failed.error.ToString();
  EXPECT_NE(failed.error.message().find(plan.path), std::string::npos);
  EXPECT_EQ(failed.stats.corrupt_files, 0);
  EXPECT_EQ(failed.stats.io_retries, 1);
  // The storage answers again (the third failure is consumed by this read).
  auto again = ReadWith(fs, dir.path(), FastRetries(2));
  ASSERT_OK(again.error);
  EXPECT_EQ(again.stats.corrupt_files, 0);
  ASSERT_OK(otlp::CheckEquivalent(expected, again.requests));
}

// Scenario: a root file's reads fail past the reader's attempts in the middle of a
// replay; the caller then does what receiver:parquet does: discards the reader, opens
// a new one resuming after what it emitted (ReplayProgress), until the end.
// Guarantees: every record is delivered exactly once over the passes: the failing
// file is read again, not skipped, and nothing emitted before is emitted again.
TEST(DatasetReaderTrustTest, RetryableFailureThenResumeDeliversExactlyOnce) {
  for (PT table : {PT::kLogs, PT::kLogAttrs}) {
    SCOPED_TRACE(TableName(table));
    TempDir dir;
    generator::GeneratorOptions gen;
    gen.seed = 9;
    ASSERT_OK_AND_ASSIGN(auto expected, WriteGeneratedDataset(dir.path(), {Signal::kLogs},
                                                              6, gen, SmallFiles()));
    FailurePlan plan;
    plan.path = MiddleFile(dir.path(), table);
    plan.first = 1;
    plan.count = 2;
    auto fs = std::make_shared<FlakyFileSystem>(&plan);
    ReplayProgress progress;
    std::vector<otlp::OtlpRequest> delivered;
    int failures = 0;
    size_t before_failure = 0;
    bool done = false;
    for (int pass = 0; pass < 3 && !done; ++pass) {
      ReaderOptions options = FastRetries(2);
      options.resume = [&progress](const PartitionPlan& p, Signal signal) {
        return progress.ResumeFor(p, signal);
      };
      ASSERT_OK_AND_ASSIGN(auto reader, DatasetReader::Make(fs, dir.path(), options));
      while (true) {
        auto next = reader->Next();
        if (!next.ok()) {
          ASSERT_TRUE(IsRetryableReadError(next.status())) << next.status().ToString();
          ++failures;
          before_failure = delivered.size();
          break;
        }
        if (!*next) {
          done = true;
          break;
        }
        EXPECT_EQ(reader->stats().corrupt_files, 0);
        const ReaderPosition pos = reader->position();
        const auto& partition =
            reader->plan().partitions[static_cast<size_t>(pos.partition_index)];
        progress.Emitted({pos.signal, pos.partition_path},
                         partition.FilesOf(RootPayloadType(pos.signal)), pos.root_file,
                         pos.root_row_in_file, (*next)->num_items());
        ASSERT_OK_AND_ASSIGN(auto request, otlp::FromOtap(**next));
        delivered.push_back(std::move(request));
      }
    }
    EXPECT_TRUE(done);
    EXPECT_EQ(failures, 1);
    // The failure came mid-replay: batches before it, and after it on the next pass.
    EXPECT_GT(before_failure, 0u);
    EXPECT_GT(delivered.size(), before_failure);
    ASSERT_OK(otlp::CheckEquivalent(expected, delivered));
  }
}

// Scenario: a truncated file and a non-Parquet file, read through the tracking path.
// Guarantees: bad data is still skipped at once (not retried, not a read failure).
TEST(DatasetReaderTrustTest, CorruptFilesAreSkippedNotRetried) {
  TempDir dir;
  generator::GeneratorOptions gen;
  gen.seed = 7;
  ASSERT_OK_AND_ASSIGN(auto expected, WriteGeneratedDataset(dir.path(), {Signal::kLogs},
                                                            4, gen, SmallFiles()));
  const std::string truncated = MiddleFile(dir.path(), PT::kLogAttrs);
  stdfs::resize_file(truncated, stdfs::file_size(truncated) / 2);
  const std::string garbage = WriteGarbageLogsFile(dir.path());
  FailurePlan plan;  // no failures
  auto replay =
      ReadWith(std::make_shared<FlakyFileSystem>(&plan), dir.path(), FastRetries(3));
  ASSERT_OK(replay.error);
  EXPECT_EQ(replay.stats.corrupt_files, 2);
  EXPECT_EQ(replay.stats.io_retries, 0);
  EXPECT_EQ(otlp::CanonicalItems(replay.requests, Signal::kLogs).size(),
            otlp::CanonicalItems(expected, Signal::kLogs).size());
}

// Scenario: a non-Parquet file read with an injected util::EventLog (scope
// "receiver.test"), as the parquet receiver injects its own.
// Guarantees: the drop is logged under that scope (dataset code names no node), and
// its reason, the converted Parquet exception, names the file.
TEST(DatasetReaderTrustTest, CorruptFileErrorNamesTheFileInTheInjectedLog) {
  TempDir dir;
  generator::GeneratorOptions gen;
  gen.seed = 7;
  ASSERT_OK(
      WriteGeneratedDataset(dir.path(), {Signal::kLogs}, 4, gen, SmallFiles()).status());
  const std::string garbage = WriteGarbageLogsFile(dir.path());
  std::ostringstream lines;
  auto logger = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines));
  logger->set_pattern("%v");
  ReaderOptions options = FastRetries(3);
  options.log = util::EventLog(logger, "receiver.test");
  FailurePlan plan;  // no failures
  auto replay = ReadWith(std::make_shared<FlakyFileSystem>(&plan), dir.path(), options);
  ASSERT_OK(replay.error);
  EXPECT_EQ(replay.stats.corrupt_files, 1);
  EXPECT_THAT(lines.str(),
              ::testing::HasSubstr("receiver.test.file.drop table=logs uri=" + garbage +
                                   " reason=\"" + garbage + ": "));
}

// Scenario: the data of one optional column (logs.severity_text) of one file is
// corrupt (the second half of its first chunk overwritten), the rest intact.
// Guarantees: that column reads as nulls (logged with file and column, counted) and
// every log of the file still replays with its other columns; the file is not
// dropped.
TEST(DatasetReaderTrustTest, CorruptOptionalColumnReadsAsNulls) {
  TempDir dir;
  generator::GeneratorOptions gen;
  gen.seed = 8;
  ASSERT_OK_AND_ASSIGN(auto expected, WriteGeneratedDataset(dir.path(), {Signal::kLogs},
                                                            4, gen, SmallFiles()));
  const std::string path = MiddleFile(dir.path(), PT::kLogs);
  arrow::fs::LocalFileSystem local;
  int64_t start = 0, size = 0;
  {
    ASSERT_OK_AND_ASSIGN(auto input, local.OpenInputFile(path));
    auto metadata = parquet::ReadMetaData(input);
    const int leaf = metadata->schema()->ColumnIndex("severity_text");
    ASSERT_GE(leaf, 0);
    auto chunk = metadata->RowGroup(0)->ColumnChunk(leaf);
    start = chunk->has_dictionary_page() ? chunk->dictionary_page_offset()
                                         : chunk->data_page_offset();
    size = chunk->total_compressed_size();
  }
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(start + size / 2);
    const std::string junk(static_cast<size_t>(size - size / 2), '\xff');
    file.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  FailurePlan plan;  // no storage failures
  auto replay =
      ReadWith(std::make_shared<FlakyFileSystem>(&plan), dir.path(), FastRetries(3));
  ASSERT_OK(replay.error);
  EXPECT_EQ(replay.stats.corrupt_files, 0);
  EXPECT_EQ(replay.stats.unreadable_columns, 1);
  EXPECT_EQ(replay.stats.io_retries, 0);
  EXPECT_EQ(replay.stats.orphan_rows, 0);
  EXPECT_EQ(otlp::CanonicalItems(replay.requests, Signal::kLogs).size(),
            otlp::CanonicalItems(expected, Signal::kLogs).size());
}

// Scenario: upstream's logs file (Q14: trace_id / span_id written with 4-byte length
// prefixes; Arrow refuses the chunk metadata).
// Guarantees: the footer is repaired, both columns are recovered with every value
// (no shifted bytes: each dictionary value's prefix was 16 / 8) and the file's rows
// are all there.
TEST(DatasetReaderTrustTest, UpstreamLengthPrefixedIdsAreRecovered) {
  const std::string dir =
      std::string(OTAP_TEST_DATA_DIR) + "/upstream/otlp-realistic-logs/dataset/logs";
  std::string path;
  for (const auto& entry : stdfs::recursive_directory_iterator(dir)) {
    if (entry.path().extension() == ".parquet") path = entry.path().string();
  }
  ASSERT_FALSE(path.empty());
  arrow::fs::LocalFileSystem fs;
  ASSERT_OK_AND_ASSIGN(auto input, fs.OpenInputFile(path));
  ASSERT_OK_AND_ASSIGN(auto repaired, RepairFooter(input.get()));
  const auto& schema = *repaired.metadata->schema();
  std::vector<int> expected_leaves = {schema.ColumnIndex("trace_id"),
                                      schema.ColumnIndex("span_id")};
  EXPECT_EQ(repaired.length_prefixed_leaves, expected_leaves);
  auto reader = parquet::ParquetFileReader::Open(
      input, parquet::default_reader_properties(), repaired.metadata);
  auto row_group = reader->RowGroup(0);
  for (int leaf : expected_leaves) {
    ASSERT_OK_AND_ASSIGN(
        auto column,
        ReadLengthPrefixedFixed(row_group.get(), leaf, arrow::default_memory_pool()));
    EXPECT_EQ(column->length(), 900);
    EXPECT_GT(column->length() - column->null_count(), 0);
    ASSERT_OK(column->ValidateFull());
  }
  // Our own files have nothing to repair.
  TempDir ours;
  generator::GeneratorOptions gen;
  ASSERT_OK(
      WriteGeneratedDataset(ours.path(), {Signal::kLogs}, 4, gen, SmallFiles()).status());
  ASSERT_OK_AND_ASSIGN(auto own, fs.OpenInputFile(MiddleFile(ours.path(), PT::kLogs)));
  EXPECT_FALSE(RepairFooter(own.get()).ok());
}

}  // namespace
}  // namespace otap_parquet::dataset
