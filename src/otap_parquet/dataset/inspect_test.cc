// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/inspect.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <arrow/filesystem/localfs.h>
#include <arrow/io/file.h>
#include <arrow/table.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <parquet/file_reader.h>

#include "otap_parquet/dataset/dataset_reader_test_util.h"
#include "otap_parquet/storage/forwarding_file_system.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/temp_dir.h"

namespace otap_parquet::dataset {
namespace {

namespace stdfs = std::filesystem;
using Kind = InspectProblem::Kind;
using PT = PayloadType;

class ScopedTempDir : public otap_parquet::testing::TempDir {
 public:
  ScopedTempDir() : otap_parquet::testing::TempDir("otap_inspect_test") {}
};

std::shared_ptr<arrow::fs::FileSystem> LocalFs() {
  return std::make_shared<arrow::fs::LocalFileSystem>();
}

// Parquet files of `table`, sorted.
std::vector<std::string> FilesOf(const std::string& base, std::string_view table) {
  std::vector<std::string> out;
  const auto dir = stdfs::path(base) / std::string(table);
  if (!stdfs::exists(dir)) return out;
  for (const auto& entry : stdfs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".parquet") {
      out.push_back(entry.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Truth {
  int64_t files = 0, rows = 0, row_groups = 0, bytes = 0;
};

// What the footers say, read here with Parquet's reader directly.
Truth TruthOf(const std::string& base, std::string_view table) {
  Truth truth;
  for (const auto& path : FilesOf(base, table)) {
    auto reader = parquet::ParquetFileReader::OpenFile(path);
    ++truth.files;
    truth.rows += reader->metadata()->num_rows();
    truth.row_groups += reader->metadata()->num_row_groups();
    truth.bytes += static_cast<int64_t>(stdfs::file_size(path));
  }
  return truth;
}

const TableInspection* FindTable(const InspectReport& report, PT type) {
  for (const auto& s : report.signals) {
    for (const auto& t : s.tables) {
      if (t.type == type) return &t;
    }
  }
  for (const auto& t : report.shared) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

const SignalInspection* FindSignal(const InspectReport& report, Signal signal) {
  for (const auto& s : report.signals) {
    if (s.signal == signal) return &s;
  }
  return nullptr;
}

std::vector<std::string> ProblemsOf(const InspectReport& report, Kind kind) {
  std::vector<std::string> uris;
  for (const auto& p : report.problems) {
    if (p.kind == kind) uris.push_back(p.uri);
  }
  return uris;
}

// Three partitions of all signals, many small files and row groups.
void WriteLake(const std::string& base, bool statistics = true) {
  ASSERT_OK(testing::WriteSmallLake(base, statistics));
}

// Scenario: a dataset of all three signals in three id spaces, tables rotating into
// many files of many row groups.
// Guarantees: per table the files, row groups, rows and bytes are those of the
// files' own footers and sizes; id spaces are the partitions; codecs, writer and
// schema are what the writer wrote; each signal's records are its root rows and its
// event time is known and exact (statistics written); no problem.
TEST(InspectTest, CountsAreThoseOfTheFiles) {
  ScopedTempDir dir;
  WriteLake(dir.path());
  ASSERT_OK_AND_ASSIGN(auto report, Inspect(LocalFs(), dir.path()));
  EXPECT_EQ(report.id_spaces, 3);
  EXPECT_FALSE(report.has_problems());
  int64_t files = 0;
  for (PT type : {PT::kLogs, PT::kLogAttrs, PT::kSpans, PT::kSpanAttrs,
                  PT::kUnivariateMetrics, PT::kNumberDataPoints, PT::kResourceAttrs}) {
    SCOPED_TRACE(std::string(TableName(type)));
    const Truth truth = TruthOf(dir.path(), TableName(type));
    ASSERT_GT(truth.files, 1);
    const TableInspection* table = FindTable(report, type);
    ASSERT_NE(table, nullptr);
    EXPECT_EQ(table->files, truth.files);
    EXPECT_EQ(table->rows, truth.rows);
    EXPECT_EQ(table->row_groups, truth.row_groups);
    EXPECT_EQ(table->bytes, truth.bytes);
    EXPECT_EQ(table->id_spaces, 3);
    EXPECT_EQ(table->bad_files, 0);
    EXPECT_THAT(table->codecs, ::testing::ElementsAre(::testing::Key("snappy")));
    EXPECT_THAT(table->writers,
                ::testing::ElementsAre(::testing::Pair("ours", truth.files)));
    ASSERT_EQ(table->variants.size(), 1u);
    EXPECT_TRUE(table->variants[0].canonical()) << table->variants[0].ToString();
  }
  for (const auto& s : report.signals) files += s.files;
  for (const auto& t : report.shared) files += t.files;
  EXPECT_EQ(files, report.files());
  EXPECT_EQ(report.footers_read, report.files());

  const SignalInspection* logs = FindSignal(report, Signal::kLogs);
  ASSERT_NE(logs, nullptr);
  EXPECT_EQ(logs->records, TruthOf(dir.path(), "logs").rows);
  EXPECT_EQ(logs->id_spaces, 3);
  for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
    const SignalInspection* s = FindSignal(report, signal);
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE(s->event_time.known()) << SignalName(signal);
    EXPECT_TRUE(s->event_time.exact) << SignalName(signal);
    EXPECT_GT(s->event_time.min, 0);
  }
  EXPECT_EQ(FindTable(report, PT::kLogs)->time_column, "time_unix_nano");
  EXPECT_EQ(FindTable(report, PT::kSpans)->time_column, "start_time_unix_nano");
  EXPECT_TRUE(FindTable(report, PT::kLogAttrs)->time_column.empty());
}

// Scenario: the same dataset written without column statistics.
// Guarantees: the counts are unchanged; event times are not claimed exact.
TEST(InspectTest, WithoutStatisticsTimesAreNotExact) {
  ScopedTempDir dir;
  WriteLake(dir.path(), /*statistics=*/false);
  ASSERT_OK_AND_ASSIGN(auto report, Inspect(LocalFs(), dir.path()));
  const SignalInspection* logs = FindSignal(report, Signal::kLogs);
  ASSERT_NE(logs, nullptr);
  EXPECT_EQ(logs->records, TruthOf(dir.path(), "logs").rows);
  EXPECT_FALSE(logs->event_time.exact);
}

// Scenario: one root file truncated to half, one child file overwritten with text,
// one file of zero bytes.
// Guarantees: Inspect does not fail; each of them is a `corrupt` problem naming its
// path and the error; they count in their tables' files and bad_files, not in rows;
// the other files are counted as before.
TEST(InspectTest, CorruptAndTruncatedFilesAreReportedPerFile) {
  ScopedTempDir dir;
  WriteLake(dir.path());
  const auto logs = FilesOf(dir.path(), "logs");
  const auto attrs = FilesOf(dir.path(), "log_attrs");
  const auto spans = FilesOf(dir.path(), "spans");
  const Truth logs_truth = TruthOf(dir.path(), "logs");
  const int64_t first_rows =
      parquet::ParquetFileReader::OpenFile(logs[0])->metadata()->num_rows();
  stdfs::resize_file(logs[0], stdfs::file_size(logs[0]) / 2);
  std::ofstream(attrs[0], std::ios::trunc) << "not parquet at all";
  stdfs::resize_file(spans[0], 0);

  ASSERT_OK_AND_ASSIGN(auto report, Inspect(LocalFs(), dir.path()));
  EXPECT_TRUE(report.has_problems());
  EXPECT_EQ(report.Count(Kind::kCorrupt), 3);
  const auto corrupt = ProblemsOf(report, Kind::kCorrupt);
  for (const auto& path : {logs[0], attrs[0], spans[0]}) {
    EXPECT_THAT(corrupt, ::testing::Contains(::testing::EndsWith(path)));
  }
  for (const auto& p : report.problems) EXPECT_FALSE(p.detail.empty());
  const TableInspection* table = FindTable(report, PT::kLogs);
  EXPECT_EQ(table->files, logs_truth.files);
  EXPECT_EQ(table->bad_files, 1);
  EXPECT_EQ(table->rows, logs_truth.rows - first_rows);
  EXPECT_EQ(report.footers_read, report.files() - 3);
}

// Scenario: a log_attrs file rewritten without its required `key` column.
// Guarantees: an incompatible problem naming the column and the path (replay skips
// it); its footer was read, its schema variant shows the missing column, its rows
// are not counted.
TEST(InspectTest, IncompatibleFileIsReported) {
  ScopedTempDir dir;
  WriteLake(dir.path());
  const std::string path = FilesOf(dir.path(), "log_attrs")[0];
  const Truth before = TruthOf(dir.path(), "log_attrs");
  std::shared_ptr<arrow::Table> table;
  int64_t rows = 0;
  {
    ASSERT_OK_AND_ASSIGN(auto input, arrow::io::ReadableFile::Open(path));
    ASSERT_OK_AND_ASSIGN(auto reader,
                         parquet::arrow::OpenFile(input, arrow::default_memory_pool()));
    ASSERT_OK_AND_ASSIGN(table, reader->ReadTable());
    rows = table->num_rows();
  }
  ASSERT_OK_AND_ASSIGN(table, table->RemoveColumn(table->schema()->GetFieldIndex("key")));
  ASSERT_OK_AND_ASSIGN(auto output, arrow::io::FileOutputStream::Open(path));
  ASSERT_OK(
      parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), output, 1024));
  ASSERT_OK(output->Close());

  ASSERT_OK_AND_ASSIGN(auto report, Inspect(LocalFs(), dir.path()));
  ASSERT_EQ(report.Count(Kind::kIncompatible), 1);
  const auto& problem = report.problems[0];
  EXPECT_THAT(problem.uri, ::testing::EndsWith(path));
  EXPECT_THAT(problem.detail, ::testing::HasSubstr("key"));
  EXPECT_EQ(report.footers_read, report.files());
  const TableInspection* attrs = FindTable(report, PT::kLogAttrs);
  EXPECT_EQ(attrs->bad_files, 1);
  EXPECT_EQ(attrs->rows, before.rows - rows);
  ASSERT_EQ(attrs->variants.size(), 2u);
  const auto& drift =
      attrs->variants[0].canonical() ? attrs->variants[1] : attrs->variants[0];
  EXPECT_THAT(drift.missing, ::testing::ElementsAre("key"));
  EXPECT_EQ(drift.files, 1);
}

// A file whose bytes the storage never delivers (every read fails).
class FailingFile : public arrow::io::RandomAccessFile {
 public:
  explicit FailingFile(int64_t size) : size_(size) {}
  arrow::Status Close() override {
    closed_ = true;
    return arrow::Status::OK();
  }
  arrow::Result<int64_t> Tell() const override { return 0; }
  bool closed() const override { return closed_; }
  arrow::Status Seek(int64_t) override { return arrow::Status::OK(); }
  arrow::Result<int64_t> Read(int64_t, void*) override { return Fail(); }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t) override { return Fail(); }
  arrow::Result<int64_t> GetSize() override { return size_; }

 private:
  static arrow::Status Fail() {
    return arrow::Status::IOError("injected: 503 Slow Down");
  }
  int64_t size_;
  bool closed_ = false;
};

// The local files, except that reads of `path` fail; a type of its own (not
// "local"), so inspect takes the object-store paths, where such failures happen.
class FailingFileSystem : public ForwardingFileSystem {
 public:
  explicit FailingFileSystem(std::string path)
      : ForwardingFileSystem(std::make_shared<arrow::fs::LocalFileSystem>()),
        path_(std::move(path)) {}
  std::string type_name() const override { return "failing"; }
  using ForwardingFileSystem::OpenInputFile;
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(
      const std::string& path) override {
    if (path != path_) return ForwardingFileSystem::OpenInputFile(path);
    return std::make_shared<FailingFile>(static_cast<int64_t>(stdfs::file_size(path)));
  }
  // Inspect opens listed files with their size (OpenListedFile).
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(
      const arrow::fs::FileInfo& info) override {
    return OpenInputFile(info.path());
  }

 private:
  std::string path_;
};

// Scenario: the storage fails every read of one intact file.
// Guarantees: that file is a read-error problem (not corrupt: it may read fine next
// time), named by path; the others are counted.
TEST(InspectTest, StorageFailureIsAReadErrorNotCorrupt) {
  ScopedTempDir dir;
  WriteLake(dir.path());
  const auto attrs = FilesOf(dir.path(), "log_attrs");
  auto fs = std::make_shared<FailingFileSystem>(attrs[0]);
  ASSERT_OK_AND_ASSIGN(auto report, Inspect(fs, dir.path()));
  EXPECT_EQ(report.Count(Kind::kCorrupt), 0);
  EXPECT_THAT(ProblemsOf(report, Kind::kReadError),
              ::testing::ElementsAre(::testing::EndsWith(attrs[0])));
  EXPECT_EQ(report.footers_read, report.files() - 1);
}

// Scenario: a copy of a root file under another name in its id space (two writers'
// files with the same ids), a root file of another id space deleted (its children
// orphaned), and a stale temporary file; all older than the grace period.
// Guarantees: from the footers alone the overlapping id ranges are an id-collision
// and the orphaned files are counted as unmatched; --check adds duplicate-ids for
// the copy, orphan-child for every child file of the deleted root and stale-temp,
// each by path, while a clean dataset checks clean.
TEST(InspectTest, CheckFindsDuplicateIdsOrphansAndStaleTemps) {
  ScopedTempDir dir;
  generator::GeneratorOptions gen;
  gen.items_per_scope = 4;
  testing::TestWriteOptions write;
  write.default_rotate_rows = 1'000'000;  // one file per table and partition
  ASSERT_OK(testing::WriteGeneratedDataset(dir.path(), {Signal::kLogs}, 4, gen, write,
                                           /*requests_per_partition=*/2)
                .status());
  InspectOptions check;
  check.check = true;
  check.grace_period = std::chrono::milliseconds(0);
  ASSERT_OK_AND_ASSIGN(auto clean, Inspect(LocalFs(), dir.path(), check));
  EXPECT_FALSE(clean.has_problems());
  EXPECT_EQ(clean.partitions_checked, 2);

  const auto logs = FilesOf(dir.path(), "logs");
  ASSERT_EQ(logs.size(), 2u);
  const std::string copy = stdfs::path(logs[0]).parent_path() / "part-zz-copy.parquet";
  stdfs::copy_file(logs[0], copy);
  const std::string orphaned_partition = stdfs::path(logs[1]).parent_path().filename();
  stdfs::remove(logs[1]);
  const std::string temp =
      stdfs::path(logs[0]).parent_path() / ".part-1795000000000-dead.parquet.tmp";
  std::ofstream(temp) << "PAR1";

  ASSERT_OK_AND_ASSIGN(auto footers, Inspect(LocalFs(), dir.path()));
  EXPECT_THAT(ProblemsOf(footers, Kind::kIdCollision),
              ::testing::ElementsAre(::testing::EndsWith("part-zz-copy.parquet")));
  EXPECT_GT(footers.unmatched_files, 0);
  EXPECT_FALSE(footers.checked);

  ASSERT_OK_AND_ASSIGN(auto checked, Inspect(LocalFs(), dir.path(), check));
  EXPECT_TRUE(checked.checked);
  EXPECT_THAT(ProblemsOf(checked, Kind::kDuplicateIds),
              ::testing::ElementsAre(::testing::EndsWith("part-zz-copy.parquet")));
  EXPECT_THAT(ProblemsOf(checked, Kind::kStaleTemp),
              ::testing::ElementsAre(::testing::EndsWith(temp)));
  const auto orphans = ProblemsOf(checked, Kind::kOrphanChild);
  std::vector<std::string> expected;
  for (const auto& table : {"log_attrs", "resource_attrs", "scope_attrs"}) {
    for (const auto& path : FilesOf(dir.path(), table)) {
      if (path.find(orphaned_partition) != std::string::npos) expected.push_back(path);
    }
  }
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(orphans.size(), expected.size());
  for (const auto& path : expected) {
    EXPECT_THAT(orphans, ::testing::Contains(::testing::EndsWith(path)));
  }

  // Young leftovers may be a flush in progress: counted, not problems.
  check.grace_period = std::chrono::hours(1);
  ASSERT_OK_AND_ASSIGN(auto young, Inspect(LocalFs(), dir.path(), check));
  EXPECT_TRUE(ProblemsOf(young, Kind::kStaleTemp).empty());
  EXPECT_TRUE(ProblemsOf(young, Kind::kOrphanChild).empty());
  EXPECT_GT(young.in_flight, 0);
  EXPECT_EQ(ProblemsOf(young, Kind::kDuplicateIds).size(), 1u);
}

// Scenario: the three datasets of upstream's Rust exporter in tests/data/upstream,
// with length-prefixed id columns (Q14) in logs, span_links and exemplars.
// Guarantees: inspected (and checked) without error or problem; every file is
// upstream's; the malformed columns are reported as recovered-column notes by path
// and column; dictionary columns and the UInt16 resource.id show as schema drift.
TEST(InspectTest, UpstreamDatasetsAreReported) {
  const std::string root = std::string(OTAP_TEST_DATA_DIR) + "/upstream/";
  int64_t recovered = 0;
  for (const char* name :
       {"otlp-realistic-logs", "otlp-realistic-traces", "otlp-realistic-metrics"}) {
    SCOPED_TRACE(name);
    const std::string base = root + name + "/dataset";
    InspectOptions options;
    options.check = true;
    options.grace_period = std::chrono::milliseconds(0);
    ASSERT_OK_AND_ASSIGN(auto report, Inspect(LocalFs(), base, options));
    EXPECT_FALSE(report.has_problems());
    for (const auto& p : report.problems) {
      EXPECT_EQ(p.kind, Kind::kRecoveredColumn) << p.uri << ": " << p.detail;
    }
    recovered += report.Count(Kind::kRecoveredColumn);
    ASSERT_EQ(report.signals.size(), 1u);
    EXPECT_GT(report.signals[0].records, 0);
    for (const auto& t : report.signals[0].tables) {
      EXPECT_THAT(t.writers, ::testing::ElementsAre(::testing::Pair("upstream", t.files)))
          << TableName(t.type);
      EXPECT_THAT(t.codecs, ::testing::ElementsAre(::testing::Key("uncompressed")));
    }
    const TableInspection& root_table = report.signals[0].tables[0];
    ASSERT_TRUE(IsRoot(root_table.type));
    ASSERT_EQ(root_table.variants.size(), 1u);
    EXPECT_THAT(root_table.variants[0].retyped,
                ::testing::Contains("resource.id:uint16"));
  }
  // logs: trace_id, span_id; span_links: both; histogram exemplars: both.
  EXPECT_EQ(recovered, 6);
}

}  // namespace
}  // namespace otap_parquet::dataset
