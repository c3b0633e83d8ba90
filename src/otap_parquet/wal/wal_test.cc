// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/wal/wal.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <zlib.h>

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/writer.h>
#include <arrow/json/from_string.h>
#include <arrow/record_batch.h>

#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/generator/test_batches.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/temp_dir.h"

namespace otap_parquet::wal {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

generator::OtlpGenerator Generator(uint64_t seed) {
  generator::GeneratorOptions options;
  options.seed = seed;
  options.resources_per_request = 2;
  options.scopes_per_resource = 1;
  options.items_per_scope = 5;
  return generator::OtlpGenerator(options);
}

OtapBatch Logs(uint64_t seed) {
  auto options = testing::OneScopeOptions(5, seed);
  options.resources_per_request = 2;
  return std::move(testing::GeneratedBatches(Signal::kLogs, 1, options).front());
}

void ExpectSameBatch(const OtapBatch& a, const OtapBatch& b) {
  ASSERT_EQ(a.signal(), b.signal());
  ASSERT_EQ(a.payload_types(), b.payload_types());
  for (PayloadType type : a.payload_types()) {
    EXPECT_TRUE(a.Get(type)->Equals(*b.Get(type), /*check_metadata=*/true))
        << TableName(type);
  }
}

// Waits (without a time limit that could fail a loaded machine's run) until
// `pred` holds; the WAL's sync thread completes callbacks on its own schedule.
template <typename Pred>
void WaitFor(Pred pred) {
  while (!pred()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

WalOptions Options(const std::string& dir) {
  WalOptions o;
  o.dir = dir;
  return o;
}

std::vector<std::string> SegmentFiles(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name.ends_with(".wal")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> CorruptCopies(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name.find(".corrupt-") != std::string::npos) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Appends Logs(1..n) to a new log in `dir`; returns each record's offset in segment
// 1 and, last, the segment's size.
std::vector<int64_t> AppendLogs(const std::string& dir, int n) {
  std::vector<int64_t> offsets;
  auto wal = Wal::Open(Options(dir), nullptr).ValueOrDie();
  for (int i = 1; i <= n; ++i) {
    offsets.push_back(wal->metrics().bytes);
    EXPECT_OK(wal->Append(Logs(i), nullptr).status());
  }
  offsets.push_back(wal->metrics().bytes);
  return offsets;
}

void FlipByte(const std::string& path, int64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(offset);
  const char c = static_cast<char>(f.get());
  f.seekp(offset);
  f.put(static_cast<char>(c ^ 0x5a));
}

struct Replayed {
  std::vector<RecordId> ids;
  std::vector<OtapBatch> batches;
};

Replayed ReplayAll(Wal& wal) {
  Replayed r;
  auto st = wal.Replay([&](RecordId id, OtapBatch batch) {
    r.ids.push_back(id);
    r.batches.push_back(std::move(batch));
    return arrow::Status::OK();
  });
  EXPECT_OK(st);
  return r;
}

// Scenario: one batch of each signal, and a batch with a dictionary-encoded column.
// Guarantees: EncodeBatch/DecodeBatch give back equal batches (schemas, metadata,
// dictionaries).
TEST(WalCodecTest, RoundTripsAllSignalsAndDictionaries) {
  auto gen = Generator(7);
  std::vector<OtapBatch> batches;
  batches.push_back(std::move(otlp::ToOtap(gen.NextLogs()).ValueOrDie().front()));
  batches.push_back(std::move(otlp::ToOtap(gen.NextTraces()).ValueOrDie().front()));
  batches.push_back(std::move(otlp::ToOtap(gen.NextMetrics()).ValueOrDie().front()));
  ASSERT_EQ(batches[1].signal(), Signal::kTraces);
  ASSERT_EQ(batches[2].signal(), Signal::kMetrics);
  for (const auto& batch : batches) {
    ASSERT_GT(batch.payload_types().size(), 1u);
    ASSERT_OK_AND_ASSIGN(auto payload, EncodeBatch(batch));
    ASSERT_OK_AND_ASSIGN(auto back, DecodeBatch(payload));
    ExpectSameBatch(batch, back);
  }
  // Dictionaries travel in the IPC stream.
  ASSERT_OK_AND_ASSIGN(auto dict, arrow::json::DictArrayFromJSONString(
                                      arrow::dictionary(arrow::int8(), arrow::utf8()),
                                      "[0, 1, 0]", R"(["a", "b"])"));
  auto schema = arrow::schema({arrow::field("key", dict->type())});
  OtapBatch with_dict(Signal::kLogs);
  with_dict.Set(PayloadType::kLogs, arrow::RecordBatch::Make(schema, 3, {dict}));
  ASSERT_OK_AND_ASSIGN(auto payload, EncodeBatch(with_dict));
  ASSERT_OK_AND_ASSIGN(auto back, DecodeBatch(payload));
  ExpectSameBatch(with_dict, back);
  EXPECT_EQ(back.Get(PayloadType::kLogs)->column(0)->type_id(), arrow::Type::DICTIONARY);
}

// zlib's CRC-32 of `bytes` continuing `seed` (what segments were framed with before
// ISA-L computed it).
uint32_t ZlibCrc32(const std::string& bytes, uint32_t seed = 0) {
  uLong crc = seed;
  for (size_t at = 0; at < bytes.size(); at += 1 << 20) {
    const size_t n = std::min<size_t>(bytes.size() - at, 1 << 20);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + at),
                static_cast<uInt>(n));
  }
  return static_cast<uint32_t>(crc);
}

// Scenario: buffers of many lengths (empty, odd, around the kernels' 16/64-byte
// blocks, megabytes) and contents, whole and split in two at odd points.
// Guarantees: Crc32 (ISA-L) is zlib's crc32, also when continued from a seed; so
// frames and marks written by either check out under the other.
TEST(WalCodecTest, Crc32IsZlibs) {
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1103515245u + 12345u;
    return static_cast<char>(state >> 16);
  };
  for (size_t size : {0,  1,  2,   3,   7,   15,   16,   17,   31,    63,
                      64, 65, 127, 255, 256, 1000, 4095, 4097, 65537, (3 << 20) + 13}) {
    std::string bytes(size, '\0');
    for (char& c : bytes) c = next();
    EXPECT_EQ(Crc32(bytes.data(), static_cast<int64_t>(size)), ZlibCrc32(bytes)) << size;
    const size_t split = size / 3;
    EXPECT_EQ(Crc32(bytes.data() + split, static_cast<int64_t>(size - split),
                    Crc32(bytes.data(), static_cast<int64_t>(split))),
              ZlibCrc32(bytes.substr(split), ZlibCrc32(bytes.substr(0, split))))
        << size;
  }
  const std::string zeros(100, '\0');
  const std::string ones(100, '\xff');
  EXPECT_EQ(Crc32(zeros.data(), 100), ZlibCrc32(zeros));
  EXPECT_EQ(Crc32(ones.data(), 100), ZlibCrc32(ones));
  EXPECT_EQ(Crc32("123456789", 9), 0xcbf43926u);  // the CRC-32 check value
  EXPECT_EQ(Crc32(nullptr, 0, 0xdeadbeef), 0xdeadbeefu);
}

// Scenario: a batch of each signal encoded by EncodeBatch, and the same tables
// written the way the WAL framed records before (each table's IPC stream written
// by Arrow's stream writer into one growing buffer).
// Guarantees: the bytes are the same: the record format is unchanged, so segments
// of either version are read by the other.
TEST(WalCodecTest, RecordBytesAreOneIpcStreamPerTable) {
  auto gen = Generator(13);
  std::vector<OtapBatch> batches;
  batches.push_back(std::move(otlp::ToOtap(gen.NextLogs()).ValueOrDie().front()));
  batches.push_back(std::move(otlp::ToOtap(gen.NextTraces()).ValueOrDie().front()));
  batches.push_back(std::move(otlp::ToOtap(gen.NextMetrics()).ValueOrDie().front()));
  for (const auto& batch : batches) {
    ASSERT_OK_AND_ASSIGN(auto out, arrow::io::BufferOutputStream::Create());
    const auto types = batch.payload_types();
    const uint8_t head[3] = {1, static_cast<uint8_t>(batch.signal()),
                             static_cast<uint8_t>(types.size())};
    ASSERT_OK(out->Write(head, sizeof(head)));
    for (PayloadType type : types) {
      auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
      auto writer = arrow::ipc::MakeStreamWriter(sink.get(), batch.Get(type)->schema())
                        .ValueOrDie();
      ASSERT_OK(writer->WriteRecordBatch(*batch.Get(type)));
      ASSERT_OK(writer->Close());
      ASSERT_OK_AND_ASSIGN(auto stream, sink->Finish());
      const auto length = static_cast<uint32_t>(stream->size());
      const uint8_t sub[5] = {static_cast<uint8_t>(type), static_cast<uint8_t>(length),
                              static_cast<uint8_t>(length >> 8),
                              static_cast<uint8_t>(length >> 16),
                              static_cast<uint8_t>(length >> 24)};
      ASSERT_OK(out->Write(sub, sizeof(sub)));
      ASSERT_OK(out->Write(stream));
    }
    ASSERT_OK_AND_ASSIGN(auto expected, out->Finish());
    ASSERT_OK_AND_ASSIGN(auto payload, EncodeBatch(batch));
    EXPECT_TRUE(payload->Equals(*expected)) << SignalName(batch.signal());
  }
}

// Every buffer of every array of `array` (children and dictionary included).
void ExpectAligned(const arrow::ArrayData& data, const std::string& where) {
  for (const auto& buffer : data.buffers) {
    if (buffer) {
      EXPECT_EQ(buffer->address() % 8, 0u) << where;
    }
  }
  for (const auto& child : data.child_data) ExpectAligned(*child, where + " child");
  if (data.dictionary) ExpectAligned(*data.dictionary, where + " dictionary");
}

// Scenario: a record's payload at every offset modulo 8 of a buffer (frames are
// packed back to back in a segment, so payloads start anywhere).
// Guarantees: the decoded arrays' buffers are 8-byte aligned all the same (found by
// UBSan: a uint16 id column read from an odd address during replay at start).
TEST(WalCodecTest, DecodedArraysAreAlignedWhereverTheRecordStarts) {
  auto gen = Generator(11);
  auto batch = std::move(otlp::ToOtap(gen.NextLogs()).ValueOrDie().front());
  ASSERT_OK_AND_ASSIGN(auto payload, EncodeBatch(batch));
  for (int64_t shift = 0; shift < 8; ++shift) {
    ASSERT_OK_AND_ASSIGN(auto bytes, arrow::AllocateBuffer(payload->size() + 8));
    std::memcpy(bytes->mutable_data() + shift, payload->data(),
                static_cast<size_t>(payload->size()));
    std::shared_ptr<arrow::Buffer> whole = std::move(bytes);
    ASSERT_OK_AND_ASSIGN(auto back,
                         DecodeBatch(arrow::SliceBuffer(whole, shift, payload->size())));
    ExpectSameBatch(batch, back);
    for (PayloadType type : back.payload_types()) {
      const auto& rb = back.Get(type);
      for (int c = 0; c < rb->num_columns(); ++c) {
        ExpectAligned(*rb->column(c)->data(),
                      rb->schema()->field(c)->name() + " shift " + std::to_string(shift));
      }
    }
  }
}

// Scenario: three appends, their syncs, a close and a reopen (a restart).
// Guarantees: each callback runs once with OK after the sync (counted: syncs <=
// appends, group commit); the reopened log replays the three batches in order;
// Read() gives the same batch back.
TEST(WalTest, AppendSyncAndReplayAfterReopen) {
  testing::TempDir dir("otap_wal");
  std::vector<OtapBatch> batches = {Logs(1), Logs(2), Logs(3)};
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    std::atomic<int> ok{0};
    for (const auto& b : batches) {
      ASSERT_OK(wal->Append(b,
                            [&](const arrow::Status& st) {
                              if (st.ok()) ++ok;
                            })
                    .status());
    }
    WaitFor([&] { return ok.load() == 3; });
    const auto m = wal->metrics();
    EXPECT_EQ(m.appends, 3);
    EXPECT_GE(m.syncs, 1);
    EXPECT_LE(m.syncs, 3);
    EXPECT_EQ(m.live_records, 3);
    EXPECT_EQ(m.segments, 1);
    EXPECT_GT(m.bytes, 0);
    ASSERT_OK_AND_ASSIGN(auto read, wal->Read(RecordId{1, 1}));
    ExpectSameBatch(batches[1], read);
  }
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
  EXPECT_EQ(wal->metrics().recovered_records, 3);
  auto replayed = ReplayAll(*wal);
  ASSERT_EQ(replayed.batches.size(), 3u);
  for (size_t i = 0; i < 3; ++i) ExpectSameBatch(batches[i], replayed.batches[i]);
  EXPECT_EQ(wal->metrics().torn_tails, 0);
}

// The largest buffer that `array`'s buffers are slices of (followed to their roots).
int64_t LargestRootBuffer(const arrow::ArrayData& array) {
  int64_t largest = 0;
  for (const auto& buffer : array.buffers) {
    if (!buffer) continue;
    std::shared_ptr<arrow::Buffer> root = buffer;
    while (root->parent()) root = root->parent();
    largest = std::max(largest, root->size());
  }
  for (const auto& child : array.child_data) {
    largest = std::max(largest, LargestRootBuffer(*child));
  }
  if (array.dictionary) largest = std::max(largest, LargestRootBuffer(*array.dictionary));
  return largest;
}

// Scenario: three records replayed after a restart.
// Guarantees: each replayed batch's arrays point into a buffer of its own record,
// not into the segment read at once, so a writer holding one batch (until its row
// group is full) does not keep the whole segment in memory.
TEST(WalTest, ReplayedBatchesDoNotHoldTheSegment) {
  testing::TempDir dir("otap_wal");
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    std::atomic<int> ok{0};
    for (uint64_t seed : {1, 2, 3}) {
      ASSERT_OK(wal->Append(Logs(seed),
                            [&](const arrow::Status& st) {
                              if (st.ok()) ++ok;
                            })
                    .status());
    }
    WaitFor([&] { return ok.load() == 3; });
  }
  const auto segments = SegmentFiles(dir.path());
  ASSERT_EQ(segments.size(), 1u);
  const auto segment_bytes =
      static_cast<int64_t>(fs::file_size(fs::path(dir.path()) / segments[0]));
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
  auto replayed = ReplayAll(*wal);
  ASSERT_EQ(replayed.batches.size(), 3u);
  for (const auto& batch : replayed.batches) {
    for (PayloadType type : batch.payload_types()) {
      for (const auto& column : batch.Get(type)->columns()) {
        EXPECT_LT(LargestRootBuffer(*column->data()), segment_bytes / 2)
            << TableName(type);
      }
    }
  }
}

// Scenario: three records, the middle one marked done, then a restart.
// Guarantees: the done record is not replayed; once all are done after the
// restart, the (sealed) segment and its .done file are deleted.
TEST(WalTest, DoneMarksSkipReplayAndFreeTheSegment) {
  testing::TempDir dir("otap_wal");
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    for (uint64_t i = 0; i < 3; ++i) {
      ASSERT_OK(wal->Append(Logs(i), nullptr).status());
    }
    wal->MarkDone(RecordId{1, 1});
    EXPECT_EQ(wal->metrics().live_records, 2);
  }
  EXPECT_TRUE(fs::exists(dir.path() + "/0000000000000001.done"));
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
  auto replayed = ReplayAll(*wal);
  ASSERT_EQ(replayed.ids.size(), 2u);
  EXPECT_EQ(replayed.ids[0], (RecordId{1, 0}));
  EXPECT_EQ(replayed.ids[1], (RecordId{1, 2}));
  ExpectSameBatch(Logs(2), replayed.batches[1]);
  wal->MarkDone(replayed.ids[0]);
  EXPECT_EQ(SegmentFiles(dir.path()).size(), 1u);
  wal->MarkDone(replayed.ids[1]);
  EXPECT_TRUE(SegmentFiles(dir.path()).empty());
  EXPECT_FALSE(fs::exists(dir.path() + "/0000000000000001.done"));
  EXPECT_EQ(wal->metrics().bytes, 0);
  EXPECT_EQ(wal->metrics().segments_deleted, 1);
}

// Scenario: an OS crash after done marks were appended but before the page cache
// wrote them: some file systems then show the unsynced bytes as zeros.
// Guarantees: a zeroed mark marks nothing done (every record is replayed: a
// duplicate at worst, never a skipped acknowledged record).
TEST(WalTest, ZeroedDoneMarksMarkNothingDone) {
  testing::TempDir dir("otap_wal");
  AppendLogs(dir.path(), 3);
  {
    std::ofstream done(dir.path() + "/0000000000000001.done", std::ios::binary);
    const std::string zeros(16, '\0');
    done.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
  EXPECT_EQ(wal->metrics().recovered_records, 3);
  auto replayed = ReplayAll(*wal);
  ASSERT_EQ(replayed.ids.size(), 3u);
  ExpectSameBatch(Logs(1), replayed.batches[0]);
}

// Scenario: after an OS crash a segment's unsynced `.done` shows stale blocks: the
// well-formed marks of an earlier segment with the same number (a log emptied and
// restarted numbers its segments from 1 again).
// Guarantees: marks written for other records mark nothing done; the log's own
// marks still do.
TEST(WalTest, DoneMarksOfAnotherSegmentMarkNothingDone) {
  testing::TempDir old_dir("otap_wal");
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(old_dir.path()), nullptr));
    for (uint64_t i = 0; i < 3; ++i) ASSERT_OK(wal->Append(Logs(i), nullptr).status());
    wal->MarkDone(RecordId{1, 0});
    wal->MarkDone(RecordId{1, 1});
  }
  testing::TempDir dir("otap_wal");
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    for (uint64_t i = 10; i < 13; ++i) {
      ASSERT_OK(wal->Append(Logs(i), nullptr).status());
    }
    wal->MarkDone(RecordId{1, 2});
  }
  {
    // The stale marks first, then this log's own.
    std::ifstream stale(old_dir.path() + "/0000000000000001.done", std::ios::binary);
    std::ifstream own(dir.path() + "/0000000000000001.done", std::ios::binary);
    const std::string bytes = std::string(std::istreambuf_iterator<char>(stale), {}) +
                              std::string(std::istreambuf_iterator<char>(own), {});
    std::ofstream done(dir.path() + "/0000000000000001.done",
                       std::ios::binary | std::ios::trunc);
    done.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
  auto replayed = ReplayAll(*wal);
  ASSERT_EQ(replayed.ids.size(), 2u);
  EXPECT_EQ(replayed.ids[0], (RecordId{1, 0}));
  EXPECT_EQ(replayed.ids[1], (RecordId{1, 1}));
  ExpectSameBatch(Logs(10), replayed.batches[0]);
}

// Scenario: records spread over dataset partitions are published in some of them
// (MarkPublished), one record is then done; the process stops and the log is
// reopened, a mark is added after the restart, and the log is reopened again.
// Guarantees: PublishedPartitions gives each live record's marks back after a
// restart (marks added after it too); a done record's marks are gone; the marks go
// with their segment. Failed before the fix: no such marks (a restart forgot what
// was published: the replay wrote those partitions again).
TEST(WalTest, PublishedPartitionsSurviveARestart) {
  testing::TempDir dir("otap_wal");
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    for (uint64_t i = 0; i < 3; ++i) ASSERT_OK(wal->Append(Logs(i), nullptr).status());
    wal->MarkPublished(RecordId{1, 0}, "date=2025-11-25/hour=00");
    wal->MarkPublished(RecordId{1, 1}, "service.name=a/date=2025-11-25");
    wal->MarkPublished(RecordId{1, 0}, "date=2025-11-25/hour=02");
    wal->MarkDone(RecordId{1, 1});
  }
  EXPECT_TRUE(fs::exists(dir.path() + "/0000000000000001.parts"));
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    EXPECT_EQ(
        wal->PublishedPartitions(RecordId{1, 0}),
        (std::vector<std::string>{"date=2025-11-25/hour=00", "date=2025-11-25/hour=02"}));
    EXPECT_TRUE(wal->PublishedPartitions(RecordId{1, 1}).empty());
    EXPECT_TRUE(wal->PublishedPartitions(RecordId{1, 2}).empty());
    wal->MarkPublished(RecordId{1, 2}, "");
  }
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
  EXPECT_EQ(wal->PublishedPartitions(RecordId{1, 0}).size(), 2u);
  EXPECT_EQ(wal->PublishedPartitions(RecordId{1, 2}), (std::vector<std::string>{""}));
  wal->MarkDone(RecordId{1, 0});
  wal->MarkDone(RecordId{1, 2});
  EXPECT_TRUE(SegmentFiles(dir.path()).empty());
  EXPECT_FALSE(fs::exists(dir.path() + "/0000000000000001.parts"));
}

// Scenario: the `.parts` file after an OS crash or a kill mid-write: a torn last
// mark, a garbled mark, zeros, or the marks of an earlier segment with the same
// number (a log emptied and restarted numbers its segments from 1 again).
// Guarantees: no such mark names a published partition (that would skip rows: a
// loss); the marks before a bad one still count; a torn tail is cut so that marks
// appended after the restart are read at the next one.
TEST(WalTest, BadPublishedMarksNameNoPartition) {
  testing::TempDir old_dir("otap_wal");
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(old_dir.path()), nullptr));
    for (uint64_t i = 0; i < 2; ++i) ASSERT_OK(wal->Append(Logs(i), nullptr).status());
    wal->MarkPublished(RecordId{1, 0}, "date=2025-11-25/hour=07");
  }
  const std::string parts = "/0000000000000001.parts";
  testing::TempDir dir("otap_wal");
  auto write_parts = [&](const std::string& bytes) {
    std::ofstream out(dir.path() + parts, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  };
  std::string own;
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    for (uint64_t i = 10; i < 12; ++i) {
      ASSERT_OK(wal->Append(Logs(i), nullptr).status());
    }
    wal->MarkPublished(RecordId{1, 0}, "date=2025-11-25/hour=00");
    wal->MarkPublished(RecordId{1, 1}, "date=2025-11-25/hour=01");
    std::ifstream in(dir.path() + parts, std::ios::binary);
    own = std::string(std::istreambuf_iterator<char>(in), {});
  }
  const size_t first = own.size() / 2;  // both marks have the same size
  auto open_and_get = [&](RecordId id) {
    auto wal = Wal::Open(Options(dir.path()), nullptr).ValueOrDie();
    return wal->PublishedPartitions(id);
  };
  // Stale marks of another segment 1: nothing from there on counts.
  {
    std::ifstream stale(old_dir.path() + parts, std::ios::binary);
    write_parts(std::string(std::istreambuf_iterator<char>(stale), {}) + own);
    EXPECT_TRUE(open_and_get(RecordId{1, 0}).empty());
  }
  // A garbled partition name in the second mark: the first still counts.
  {
    std::string garbled = own;
    garbled[first + 8 + 3] ^= 0x01;
    write_parts(garbled);
    EXPECT_EQ(open_and_get(RecordId{1, 0}).size(), 1u);
    EXPECT_TRUE(open_and_get(RecordId{1, 1}).empty());
  }
  // Zeros where the marks were.
  write_parts(std::string(own.size(), '\0'));
  EXPECT_TRUE(open_and_get(RecordId{1, 0}).empty());
  // A torn second mark is cut; a mark appended after the restart is read later.
  write_parts(own.substr(0, own.size() - 2));
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    EXPECT_EQ(wal->PublishedPartitions(RecordId{1, 0}).size(), 1u);
    EXPECT_TRUE(wal->PublishedPartitions(RecordId{1, 1}).empty());
    wal->MarkPublished(RecordId{1, 1}, "date=2025-11-25/hour=05");
  }
  EXPECT_EQ(open_and_get(RecordId{1, 1}),
            (std::vector<std::string>{"date=2025-11-25/hour=05"}));
}

// Scenario: publish intents (MarkPublishing) of two records, beside published marks;
// one of the intents' partitions is then marked published, a record is done; the
// log is reopened; then the intent mark is torn (a kill mid-write), or one byte of
// its file name garbled.
// Guarantees: PublishIntents gives each live record's intents back after a restart,
// but for partitions already marked published and for done records; a torn or
// garbled intent names no file (that could skip rows: a loss), the marks before it
// still count.
TEST(WalTest, PublishIntentsSurviveARestartAndBadOnesNameNoFile) {
  testing::TempDir dir("otap_wal");
  const std::string hour0 = "date=2025-11-25/hour=00";
  const std::string hour1 = "date=2025-11-25/hour=01";
  const std::string file0 = "logs/" + hour0 + "/part-1-a.parquet";
  const std::string file1 = "logs/" + hour1 + "/part-1-b.parquet";
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    for (uint64_t i = 0; i < 3; ++i) ASSERT_OK(wal->Append(Logs(i), nullptr).status());
    wal->MarkPublishing(RecordId{1, 0}, hour0, file0);
    wal->MarkPublishing(RecordId{1, 0}, hour1, file1);
    wal->MarkPublished(RecordId{1, 0}, hour0);
    wal->MarkPublishing(RecordId{1, 1}, hour0, file0);
    wal->MarkDone(RecordId{1, 1});
    wal->MarkPublishing(RecordId{1, 2}, hour1, file1);
  }
  const std::string parts = dir.path() + "/0000000000000001.parts";
  std::string own;
  {
    std::ifstream in(parts, std::ios::binary);
    own = std::string(std::istreambuf_iterator<char>(in), {});
  }
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    EXPECT_EQ(wal->PublishIntents(RecordId{1, 0}),
              (std::vector<PublishIntent>{{hour1, file1}}));
    EXPECT_EQ(wal->PublishedPartitions(RecordId{1, 0}),
              (std::vector<std::string>{hour0}));
    EXPECT_TRUE(wal->PublishIntents(RecordId{1, 1}).empty());
    EXPECT_EQ(wal->PublishIntents(RecordId{1, 2}),
              (std::vector<PublishIntent>{{hour1, file1}}));
  }
  auto write_parts = [&](const std::string& bytes) {
    std::ofstream out(parts, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  };
  // The last mark (record 2's intent) torn, then its file name garbled.
  write_parts(own.substr(0, own.size() - 1));
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    EXPECT_TRUE(wal->PublishIntents(RecordId{1, 2}).empty());
    EXPECT_EQ(wal->PublishIntents(RecordId{1, 0}).size(), 1u);
  }
  std::string garbled = own;
  garbled[own.size() - 6] ^= 0x01;  // in "parquet", before the check
  write_parts(garbled);
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
  EXPECT_TRUE(wal->PublishIntents(RecordId{1, 2}).empty());
  EXPECT_EQ(wal->PublishIntents(RecordId{1, 0}).size(), 1u);
}

// Scenario: a crash in the middle of an append leaves part of a frame at the end.
// Guarantees: reopening truncates the segment at the last whole record (counted
// with the bytes cut), the whole records replay, and new appends go on after it.
TEST(WalTest, TornTailIsTruncated) {
  testing::TempDir dir("otap_wal");
  int64_t good_size = 0;
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    ASSERT_OK(wal->Append(Logs(1), nullptr).status());
    ASSERT_OK(wal->Append(Logs(2), nullptr).status());
    good_size = wal->metrics().bytes;
  }
  const std::string segment = dir.path() + "/0000000000000001.wal";
  ASSERT_OK_AND_ASSIGN(auto payload, EncodeBatch(Logs(3)));
  {
    // The header of a third frame and half its payload.
    std::ofstream out(segment, std::ios::app | std::ios::binary);
    const char header[12] = {'O', 'W', 'A', 'L', 0x10, 0x27, 0, 0, 1, 2, 3, 4};
    out.write(header, sizeof(header));
    out.write(reinterpret_cast<const char*>(payload->data()), payload->size() / 2);
  }
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
  const auto m = wal->metrics();
  EXPECT_EQ(m.torn_tails, 1);
  EXPECT_EQ(m.torn_bytes, 12 + payload->size() / 2);
  EXPECT_EQ(m.corrupt_regions, 0);
  EXPECT_EQ(m.salvaged_records, 0);
  EXPECT_TRUE(CorruptCopies(dir.path()).empty());
  EXPECT_EQ(SegmentFiles(dir.path()).size(), 1u);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(segment)), good_size);
  auto replayed = ReplayAll(*wal);
  ASSERT_EQ(replayed.batches.size(), 2u);
  ExpectSameBatch(Logs(2), replayed.batches[1]);
  ASSERT_OK_AND_ASSIGN(auto id, wal->Append(Logs(4), nullptr));
  EXPECT_EQ(id.segment, 2u);  // recovered segments are sealed
}

// Scenario: one byte of the second record's payload flips on disk.
// Guarantees: the CRC catches it: the segment ends before that record (counted as
// a torn tail), the first record still replays, Read() of the bad record fails.
TEST(WalTest, CrcMismatchEndsTheSegment) {
  testing::TempDir dir("otap_wal");
  int64_t first_size = 0;
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    ASSERT_OK(wal->Append(Logs(1), nullptr).status());
    first_size = wal->metrics().bytes;
    ASSERT_OK(wal->Append(Logs(2), nullptr).status());
  }
  const std::string segment = dir.path() + "/0000000000000001.wal";
  {
    std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(first_size + 12 + 40);
    f.put('\x5a');
  }
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
  EXPECT_EQ(wal->metrics().torn_tails, 1);
  // Nothing valid after it: indistinguishable from a torn append, nothing salvaged.
  EXPECT_EQ(wal->metrics().corrupt_regions, 0);
  EXPECT_EQ(wal->metrics().salvaged_records, 0);
  EXPECT_TRUE(CorruptCopies(dir.path()).empty());
  auto replayed = ReplayAll(*wal);
  ASSERT_EQ(replayed.batches.size(), 1u);
  ExpectSameBatch(Logs(1), replayed.batches[0]);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(segment)), first_size);
}

// Scenario: 5 records synced, then one byte of record 2's payload rots on disk (record
// 4 was already marked done).
// Guarantees: only record 2 is lost: records 3-5 are salvaged into a new segment and
// replayed (4 again: its done mark is not trusted after a corrupt region), the bytes
// cut from the original are kept in `<seq>.wal.corrupt-<offset>`, the region is
// counted; the salvaged segment goes once its records are done. Before the fix the
// segment was truncated at record 2 and only record 1 came back.
TEST(WalTest, CorruptRecordInTheMiddleSalvagesTheRecordsAfterIt) {
  testing::TempDir dir("otap_wal");
  const auto offsets = AppendLogs(dir.path(), 5);
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    wal->MarkDone({1, 3});
  }
  const std::string segment = dir.path() + "/0000000000000001.wal";
  FlipByte(segment, offsets[1] + 12 + 40);
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    const auto m = wal->metrics();
    EXPECT_EQ(m.corrupt_regions, 1);
    EXPECT_EQ(m.corrupt_bytes, offsets[2] - offsets[1]);
    EXPECT_EQ(m.salvaged_records, 3);
    EXPECT_EQ(m.torn_tails, 0);
    EXPECT_EQ(m.recovered_records, 4);
    EXPECT_EQ(m.bytes, offsets[1] + offsets[5] - offsets[2]);
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(segment)), offsets[1]);
    const std::string copy = "0000000000000001.wal.corrupt-" + std::to_string(offsets[1]);
    EXPECT_EQ(CorruptCopies(dir.path()), std::vector<std::string>{copy});
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(dir.path() + "/" + copy)),
              offsets[5] - offsets[1]);
    EXPECT_EQ(SegmentFiles(dir.path()),
              (std::vector<std::string>{"0000000000000001.wal", "0000000000000002.wal"}));
    auto replayed = ReplayAll(*wal);
    ASSERT_EQ(replayed.batches.size(), 4u);
    EXPECT_EQ(replayed.ids, (std::vector<RecordId>{{1, 0}, {2, 0}, {2, 1}, {2, 2}}));
    ExpectSameBatch(Logs(1), replayed.batches[0]);
    ExpectSameBatch(Logs(3), replayed.batches[1]);
    ExpectSameBatch(Logs(4), replayed.batches[2]);
    ExpectSameBatch(Logs(5), replayed.batches[3]);
    ASSERT_OK_AND_ASSIGN(auto read, wal->Read({2, 2}));
    ExpectSameBatch(Logs(5), read);
    // A salvaged segment is deleted only once all its records are done.
    wal->MarkDone({1, 0});
    wal->MarkDone({2, 0});
    wal->MarkDone({2, 2});
    EXPECT_EQ(SegmentFiles(dir.path()), std::vector<std::string>{"0000000000000002.wal"});
    ASSERT_OK_AND_ASSIGN(auto id, wal->Append(Logs(6), nullptr));
    EXPECT_EQ(id.segment, 3u);
  }
  // Its done marks survive a restart; the copy is never read back.
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
  EXPECT_EQ(wal->metrics().corrupt_regions, 0);
  auto replayed = ReplayAll(*wal);
  ASSERT_EQ(replayed.batches.size(), 2u);
  ExpectSameBatch(Logs(4), replayed.batches[0]);
  ExpectSameBatch(Logs(6), replayed.batches[1]);
  wal->MarkDone(replayed.ids[0]);
  EXPECT_EQ(SegmentFiles(dir.path()), std::vector<std::string>{"0000000000000003.wal"});
  EXPECT_EQ(CorruptCopies(dir.path()).size(), 1u);
}

// Scenario: record 2 of 5 rots on disk; an Open salvages records 3-5 into segment 2
// and the process crashes before the original is truncated (simulated by putting
// the original's bytes back after the Open).
// Guarantees: the next Open finds its own salvage done (the copy of the cut bytes
// matches) and only truncates: records 3-5 are replayed once, from segment 2.
// Failed before the fix: they were salvaged again into segment 3 and replayed
// twice.
TEST(WalTest, CrashBetweenSalvageAndTruncationSalvagesOnce) {
  testing::TempDir dir("otap_wal");
  const auto offsets = AppendLogs(dir.path(), 5);
  const std::string segment = dir.path() + "/0000000000000001.wal";
  FlipByte(segment, offsets[1] + 12 + 40);
  std::string original;
  {
    std::ifstream in(segment, std::ios::binary);
    original.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  { ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr)); }
  {
    std::ofstream out(segment, std::ios::binary | std::ios::trunc);
    out.write(original.data(), static_cast<std::streamsize>(original.size()));
  }
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
  EXPECT_EQ(wal->metrics().salvaged_records, 0);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(segment)), offsets[1]);
  EXPECT_EQ(SegmentFiles(dir.path()),
            (std::vector<std::string>{"0000000000000001.wal", "0000000000000002.wal"}));
  auto replayed = ReplayAll(*wal);
  ASSERT_EQ(replayed.batches.size(), 4u);
  ExpectSameBatch(Logs(1), replayed.batches[0]);
  ExpectSameBatch(Logs(3), replayed.batches[1]);
  ExpectSameBatch(Logs(4), replayed.batches[2]);
  ExpectSameBatch(Logs(5), replayed.batches[3]);
}

// Scenario: a crash in the middle of a salvage left its temporary segment
// `<seq>.wal.salvage` (the rename is the salvage's commit point).
// Guarantees: the next Open removes it (its original was not truncated and is
// salvaged again if still corrupt). Failed before the fix: it stayed forever.
TEST(WalTest, InterruptedSalvageLeftoverIsRemoved) {
  testing::TempDir dir("otap_wal");
  AppendLogs(dir.path(), 2);
  const std::string leftover = dir.path() + "/0000000000000002.wal.salvage";
  std::ofstream(leftover) << "half a salvage";
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_EQ(ReplayAll(*wal).batches.size(), 2u);
}

// Scenario: records 2 and 4 of 5 rot on disk and the last append was torn.
// Guarantees: both regions are skipped (records 3 and 5 salvaged), the torn tail is
// still cut and counted as one, and the copy holds everything cut.
TEST(WalTest, CorruptRegionsFollowedByATornTail) {
  testing::TempDir dir("otap_wal");
  const auto offsets = AppendLogs(dir.path(), 5);
  const std::string segment = dir.path() + "/0000000000000001.wal";
  FlipByte(segment, offsets[1] + 12 + 40);
  FlipByte(segment, offsets[3] + 4);  // a length
  ASSERT_OK_AND_ASSIGN(auto payload, EncodeBatch(Logs(6)));
  {
    std::ofstream out(segment, std::ios::app | std::ios::binary);
    const char header[12] = {'O', 'W', 'A', 'L', 0x10, 0x27, 0, 0, 1, 2, 3, 4};
    out.write(header, sizeof(header));
    out.write(reinterpret_cast<const char*>(payload->data()), payload->size() / 2);
  }
  const int64_t torn = 12 + payload->size() / 2;
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
  const auto m = wal->metrics();
  EXPECT_EQ(m.corrupt_regions, 2);
  EXPECT_EQ(m.corrupt_bytes, offsets[2] - offsets[1] + offsets[4] - offsets[3]);
  EXPECT_EQ(m.salvaged_records, 2);
  EXPECT_EQ(m.torn_tails, 1);
  EXPECT_EQ(m.torn_bytes, torn);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(segment)), offsets[1]);
  const std::string copy =
      dir.path() + "/0000000000000001.wal.corrupt-" + std::to_string(offsets[1]);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(copy)), offsets[5] + torn - offsets[1]);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(dir.path() + "/0000000000000002.wal")),
            offsets[3] - offsets[2] + offsets[5] - offsets[4]);
  auto replayed = ReplayAll(*wal);
  ASSERT_EQ(replayed.batches.size(), 3u);
  ExpectSameBatch(Logs(1), replayed.batches[0]);
  ExpectSameBatch(Logs(3), replayed.batches[1]);
  ExpectSameBatch(Logs(5), replayed.batches[2]);
}

// Scenario: segment_size smaller than one record: every append after the first
// starts a new segment; records are marked done out of order.
// Guarantees: a sealed segment is deleted once all its records are done (and
// synced); the active one stays until Reclaim() seals it.
TEST(WalTest, RolloverAndDeletionOfPublishedSegments) {
  testing::TempDir dir("otap_wal");
  auto options = Options(dir.path());
  options.segment_size = 1;
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(options, nullptr));
  std::atomic<int> synced{0};
  std::vector<RecordId> ids;
  for (uint64_t i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(auto id,
                         wal->Append(Logs(i), [&](const arrow::Status&) { ++synced; }));
    ids.push_back(id);
  }
  WaitFor([&] { return synced.load() == 3; });
  EXPECT_EQ(ids[2], (RecordId{3, 0}));
  EXPECT_EQ(SegmentFiles(dir.path()).size(), 3u);
  wal->MarkDone(ids[1]);
  WaitFor([&] { return SegmentFiles(dir.path()).size() == 2u; });
  EXPECT_EQ(SegmentFiles(dir.path()),
            (std::vector<std::string>{"0000000000000001.wal", "0000000000000003.wal"}));
  wal->MarkDone(ids[2]);
  wal->MarkDone(ids[0]);
  WaitFor([&] { return SegmentFiles(dir.path()).size() == 1u; });
  EXPECT_EQ(wal->metrics().segments, 1);
  wal->Reclaim();
  EXPECT_TRUE(SegmentFiles(dir.path()).empty());
  EXPECT_EQ(wal->metrics().bytes, 0);
  EXPECT_EQ(wal->metrics().segments_deleted, 3);
}

// Scenario: one record per segment; the delete of a done segment is held by a hook
// (a slow unlink) on another thread while the owner appends one more record.
// Guarantees: the unlink does not hold the log: the append is taken and made
// durable (its callback runs) while the delete is still blocked; then the segment
// is gone.
TEST(WalTest, SegmentDeleteDoesNotBlockAppendsOrSyncs) {
  testing::TempDir dir("otap_wal");
  auto options = Options(dir.path());
  options.segment_size = 1;
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  options.before_delete_for_testing = [&](const std::string&) {
    std::unique_lock<std::mutex> lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  };
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(options, nullptr));
  std::atomic<int> synced{0};
  auto count = [&](const arrow::Status&) { ++synced; };
  ASSERT_OK_AND_ASSIGN(auto first, wal->Append(Logs(0), count));
  ASSERT_OK(wal->Append(Logs(1), count).status());  // seals segment 1
  WaitFor([&] { return synced.load() == 2; });
  std::thread marker([&] { wal->MarkDone(first); });  // deletes segment 1
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return entered; });
  }
  // A minute is only reached when the delete holds the log (the old code).
  const auto until = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  bool appended = false;
  std::thread appender([&] { appended = wal->Append(Logs(2), count).ok(); });
  while (synced.load() < 3 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const int synced_while_blocked = synced.load();
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  marker.join();
  appender.join();
  EXPECT_EQ(synced_while_blocked, 3) << "append/sync waited for a segment delete";
  EXPECT_TRUE(appended);
  EXPECT_EQ(SegmentFiles(dir.path()),
            (std::vector<std::string>{"0000000000000002.wal", "0000000000000003.wal"}));
  EXPECT_EQ(wal->metrics().segments_deleted, 1);
}

// Scenario: max_size below two records.
// Guarantees: the append that finds the log full is refused with CapacityError
// (counted), nothing is written; once the record is done and reclaimed, appends
// are taken again.
TEST(WalTest, FullLogRefusesAppends) {
  testing::TempDir dir("otap_wal");
  auto options = Options(dir.path());
  options.max_size = 100;
  options.segment_size = 100;
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(options, nullptr));
  ASSERT_OK_AND_ASSIGN(auto id, wal->Append(Logs(1), nullptr));
  EXPECT_TRUE(wal->full());
  auto refused = wal->Append(Logs(2), nullptr);
  ASSERT_RAISES(CapacityError, refused.status());
  EXPECT_THAT(refused.status().message(), HasSubstr("max_size 100"));
  EXPECT_EQ(wal->metrics().refused_full, 1);
  EXPECT_EQ(wal->metrics().appends, 1);
  wal->MarkDone(id);
  WaitFor([&] { return wal->metrics().syncs == 1; });
  wal->Reclaim();
  WaitFor([&] { return !wal->full(); });
  ASSERT_OK(wal->Append(Logs(2), nullptr).status());
}

// Scenario: a second Wal (another process, or a misconfigured second exporter) on
// the same directory.
// Guarantees: Open fails with an error naming the directory; it works again once
// the first one is gone.
TEST(WalTest, DirectoryIsLocked) {
  testing::TempDir dir("otap_wal");
  ASSERT_OK_AND_ASSIGN(auto first, Wal::Open(Options(dir.path()), nullptr));
  auto second = Wal::Open(Options(dir.path()), nullptr);
  ASSERT_RAISES(IOError, second.status());
  EXPECT_THAT(second.status().message(), HasSubstr("in use"));
  EXPECT_THAT(second.status().message(), HasSubstr(dir.path()));
  first.reset();
  ASSERT_OK(Wal::Open(Options(dir.path()), nullptr).status());
}

// Scenario: the fdatasync fails.
// Guarantees: the callback gets the error (the batch is refused, not Acked), the
// failure is counted, and the next append goes to a new segment.
TEST(WalTest, SyncFailureIsReportedAndSealsTheSegment) {
  testing::TempDir dir("otap_wal");
  auto options = Options(dir.path());
  std::atomic<bool> fail{true};
  options.fail_sync_for_testing = [&]() -> arrow::Status {
    if (fail.load()) return arrow::Status::IOError("injected EIO");
    return arrow::Status::OK();
  };
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(options, nullptr));
  std::atomic<int> errors{0};
  ASSERT_OK(wal->Append(Logs(1),
                        [&](const arrow::Status& st) {
                          if (!st.ok()) ++errors;
                        })
                .status());
  WaitFor([&] { return errors.load() == 1; });
  EXPECT_EQ(wal->metrics().sync_errors, 1);
  fail = false;
  ASSERT_OK_AND_ASSIGN(auto id, wal->Append(Logs(2), nullptr));
  EXPECT_EQ(id.segment, 2u);
}

// Scenario: the log's directory does not exist yet (a first start, `<wal>/<node>/
// core-0`); later the fsync of the directory fails when a new segment is created.
// Guarantees: Open syncs the parent of every directory it creates (else a power
// loss can take the directory away with the synced segments, and the acknowledged
// records, in it); a segment whose name could not be synced takes no record: the
// Append fails (refused, never Acked), and the next one starts a new segment.
// Fails before the fix: no parent synced, the directory sync's failure ignored and
// the record Acked.
TEST(WalTest, DirectoriesAreSyncedBeforeAnyAck) {
  testing::TempDir tmp("otap_wal");
  const std::string dir = tmp.path() + "/wal/node/core-0";
  auto options = Options(dir);
  std::mutex mu;
  std::vector<std::string> synced;
  bool fail = false;
  options.sync_dir_for_testing = [&](const std::string& path) -> arrow::Status {
    std::lock_guard<std::mutex> lock(mu);
    if (fail) return arrow::Status::IOError("injected EIO");
    synced.push_back(path);
    return arrow::Status::OK();
  };
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(options, nullptr));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(synced, (std::vector<std::string>{tmp.path() + "/wal/node",
                                                tmp.path() + "/wal", tmp.path()}));
    fail = true;
  }
  std::atomic<int> acked{0};
  auto on_durable = [&](const arrow::Status& st) {
    if (st.ok()) ++acked;
  };
  auto refused = wal->Append(Logs(1), on_durable);
  EXPECT_RAISES_WITH_MESSAGE_THAT(IOError, HasSubstr("injected EIO"), refused.status());
  EXPECT_TRUE(SegmentFiles(dir).empty());
  EXPECT_EQ(wal->metrics().append_errors, 1);
  {
    std::lock_guard<std::mutex> lock(mu);
    fail = false;
  }
  ASSERT_OK(wal->Append(Logs(2), on_durable).status());
  wal->Close();  // runs the callbacks of queued syncs
  EXPECT_EQ(acked.load(), 1);
  EXPECT_EQ(SegmentFiles(dir).size(), 1u);
}

// Scenario: the sync thread has taken a record and its fdatasync is failing when a
// second record is appended to the same segment (before the failure seals it); the
// next fdatasync of that file succeeds (Linux reports a writeback error once).
// Guarantees: the second record is refused too, never Acked: the failed sync says
// nothing about the bytes before it, and recovery cuts a segment at its first bad
// frame, so a record after a lost one would be cut with it.
TEST(WalTest, RecordsBehindAFailedSyncOfTheirSegmentAreRefused) {
  testing::TempDir dir("otap_wal");
  auto options = Options(dir.path());
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  bool appended = false;
  options.fail_sync_for_testing = [&]() -> arrow::Status {
    std::unique_lock<std::mutex> lock(mu);
    if (++calls > 1) return arrow::Status::OK();
    cv.notify_all();
    cv.wait(lock, [&] { return appended; });
    return arrow::Status::IOError("injected EIO");
  };
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(options, nullptr));
  std::vector<arrow::Status> results(2, arrow::Status::UnknownError("no callback"));
  std::atomic<int> done{0};
  auto callback = [&](int i) {
    return [&, i](const arrow::Status& st) {
      results[i] = st;
      ++done;
    };
  };
  ASSERT_OK_AND_ASSIGN(auto first, wal->Append(Logs(1), callback(0)));
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return calls == 1; });
  }
  ASSERT_OK_AND_ASSIGN(auto second, wal->Append(Logs(2), callback(1)));
  EXPECT_EQ(second.segment, first.segment);
  {
    std::lock_guard<std::mutex> lock(mu);
    appended = true;
  }
  cv.notify_all();
  WaitFor([&] { return done.load() == 2; });
  EXPECT_FALSE(results[0].ok());
  EXPECT_FALSE(results[1].ok()) << "acknowledged behind a failed sync of its segment";
  EXPECT_THAT(results[1].message(), HasSubstr(dir.path()));
  ASSERT_OK_AND_ASSIGN(auto third, wal->Append(Logs(3), callback(0)));
  EXPECT_GT(third.segment, first.segment);
  WaitFor([&] { return done.load() == 3; });
  EXPECT_TRUE(results[0].ok()) << results[0].ToString();
}

// Scenario: a whole frame with a valid CRC whose payload is not a batch (e.g.
// written by an incompatible version) sits between two good records.
// Guarantees: Replay hands out the good records, logs and counts the bad one
// (replay_errors) instead of failing the start, and keeps it live (on disk).
TEST(WalTest, UndecodableRecordIsCountedNotFatal) {
  testing::TempDir dir("otap_wal");
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    ASSERT_OK(wal->Append(Logs(1), nullptr).status());
  }
  const std::string segment = dir.path() + "/0000000000000001.wal";
  {
    const std::string payload = "\x09not a batch";
    const uint32_t crc = static_cast<uint32_t>(
        crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(payload.data()),
              static_cast<uInt>(payload.size())));
    const uint32_t header[3] = {0x4c41574f, static_cast<uint32_t>(payload.size()), crc};
    std::ofstream out(segment, std::ios::app | std::ios::binary);
    out.write(reinterpret_cast<const char*>(header), sizeof(header));  // little endian
    out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
  }
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    EXPECT_EQ(wal->metrics().torn_tails, 0);
    auto replayed = ReplayAll(*wal);
    ASSERT_EQ(replayed.batches.size(), 1u);
    EXPECT_EQ(wal->metrics().replay_errors, 1);
    EXPECT_EQ(wal->metrics().live_records, 2);
  }
  EXPECT_TRUE(fs::exists(segment));
}

// Scenario: a segment as the WAL wrote it before ISA-L computed its CRCs: records
// of real batches framed by hand with zlib's crc32, then opened.
// Guarantees: every record checks out and is replayed as written (no torn tail, no
// corruption): the on-disk format did not change.
TEST(WalTest, SegmentFramedWithZlibsCrcIsRecovered) {
  testing::TempDir dir("otap_wal");
  std::vector<OtapBatch> batches = {Logs(1), Logs(2), Logs(3)};
  {
    std::ofstream out(dir.path() + "/0000000000000001.wal", std::ios::binary);
    for (const auto& batch : batches) {
      ASSERT_OK_AND_ASSIGN(auto payload, EncodeBatch(batch));
      const std::string bytes = payload->ToString();
      const uint32_t header[3] = {0x4c41574f, static_cast<uint32_t>(bytes.size()),
                                  ZlibCrc32(bytes)};
      out.write(reinterpret_cast<const char*>(header), sizeof(header));  // little endian
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
  }
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
  EXPECT_EQ(wal->metrics().torn_tails, 0);
  EXPECT_EQ(wal->metrics().corrupt_regions, 0);
  auto replayed = ReplayAll(*wal);
  ASSERT_EQ(replayed.batches.size(), batches.size());
  for (size_t i = 0; i < batches.size(); ++i) {
    ExpectSameBatch(batches[i], replayed.batches[i]);
  }
}

// Scenario: a batch whose table has 1500 columns of 8 KiB each (more column buffers
// than one writev() takes: IOV_MAX is 1024), appended between two small ones, then
// the log reopened.
// Guarantees: the three records are written whole (the next record starts after
// all of the big one's bytes) and replay as appended.
TEST(WalTest, RecordWithMoreBuffersThanOneWritevTakes) {
  testing::TempDir dir("otap_wal");
  arrow::FieldVector fields;
  arrow::ArrayVector columns;
  for (int c = 0; c < 1500; ++c) {
    arrow::Int64Builder builder;
    for (int64_t row = 0; row < 1024; ++row) ASSERT_OK(builder.Append(row * c));
    fields.push_back(arrow::field("c" + std::to_string(c), arrow::int64()));
    columns.push_back(builder.Finish().ValueOrDie());
  }
  OtapBatch wide(Signal::kLogs);
  wide.Set(PayloadType::kLogs,
           arrow::RecordBatch::Make(arrow::schema(fields), 1024, columns));
  std::vector<OtapBatch> batches = {Logs(1), std::move(wide), Logs(2)};
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    for (const auto& batch : batches) ASSERT_OK(wal->Append(batch, nullptr).status());
  }
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
  EXPECT_EQ(wal->metrics().torn_tails, 0);
  auto replayed = ReplayAll(*wal);
  ASSERT_EQ(replayed.batches.size(), batches.size());
  for (size_t i = 0; i < batches.size(); ++i) {
    ExpectSameBatch(batches[i], replayed.batches[i]);
  }
}

// Scenario: a record whose frame and IPC layout are fine but whose values are not
// (dictionary indices past the dictionary's end, as a broken writer could leave),
// appended between two good records; the log reopened and replayed.
// Guarantees: DecodeBatch refuses it (the IPC reader alone hands it out); Replay
// counts it (replay_errors) and gives out the two good records only.
TEST(WalTest, RecordWithInvalidValuesIsNotReplayed) {
  testing::TempDir dir("otap_wal");
  ASSERT_OK_AND_ASSIGN(auto indices,
                       arrow::json::ArrayFromJSONString(arrow::int8(), "[0, 1, 7]"));
  ASSERT_OK_AND_ASSIGN(auto dictionary,
                       arrow::json::ArrayFromJSONString(arrow::utf8(), R"(["a", "b"])"));
  auto type = arrow::dictionary(arrow::int8(), arrow::utf8());
  auto column = std::make_shared<arrow::DictionaryArray>(type, indices, dictionary);
  OtapBatch bad(Signal::kLogs);
  bad.Set(
      PayloadType::kLogs,
      arrow::RecordBatch::Make(arrow::schema({arrow::field("key", type)}), 3, {column}));
  ASSERT_OK_AND_ASSIGN(auto payload, EncodeBatch(bad));
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("invalid logs table"),
                                  DecodeBatch(payload).status());
  {
    ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
    ASSERT_OK(wal->Append(Logs(1), nullptr).status());
    ASSERT_OK(wal->Append(bad, nullptr).status());
    ASSERT_OK(wal->Append(Logs(2), nullptr).status());
  }
  ASSERT_OK_AND_ASSIGN(auto wal, Wal::Open(Options(dir.path()), nullptr));
  auto replayed = ReplayAll(*wal);
  ASSERT_EQ(replayed.batches.size(), 2u);
  ExpectSameBatch(Logs(1), replayed.batches[0]);
  ExpectSameBatch(Logs(2), replayed.batches[1]);
  EXPECT_EQ(wal->metrics().replay_errors, 1);
}

}  // namespace
}  // namespace otap_parquet::wal
