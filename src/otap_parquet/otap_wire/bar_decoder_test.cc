// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/otap_wire/bar_decoder.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/api.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zstd.h>

#include "opentelemetry/proto/experimental/arrow/v1/arrow_service.pb.h"
#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/generator/test_batches.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/pdata/ids.h"
#include "otap_parquet/schema/otap_schema.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/util/inflate.h"

namespace otap_parquet::otap_wire {
namespace {

namespace pb = opentelemetry::proto::experimental::arrow::v1;

/// A minimal OTAP producer for fixtures: one IPC stream per payload type, schema_ids
/// "0", "1", ... unique across types (as upstream's producers), ids transport
/// encoded without `encoding` metadata (as Go sends them), zstd IPC bodies.
class Producer {
 public:
  /// `deltas`: extended dictionaries go out as deltas (Go) or as replacements.
  explicit Producer(bool deltas = true) : deltas_(deltas) {}

  arrow::Result<pb::BatchArrowRecords> Produce(const OtapBatch& batch, int64_t batch_id,
                                               std::string headers = "") {
    ARROW_ASSIGN_OR_RAISE(OtapBatch encoded, EncodeTransportIds(batch));
    pb::BatchArrowRecords bar;
    bar.set_batch_id(batch_id);
    bar.set_headers(headers);
    for (PayloadType type : encoded.payload_types()) {
      auto record = StripEncodingMetadata(encoded.Get(type));
      ARROW_ASSIGN_OR_RAISE(std::string bytes, Write(type, record));
      auto* payload = bar.add_arrow_payloads();
      payload->set_schema_id(streams_[type].schema_id);
      payload->set_type(static_cast<pb::ArrowPayloadType>(type));
      payload->set_record(std::move(bytes));
    }
    return bar;
  }

  /// The next bytes of `type`'s IPC stream for `record` (a new stream on schema change).
  arrow::Result<std::string> Write(PayloadType type,
                                   const std::shared_ptr<arrow::RecordBatch>& record) {
    Stream& s = streams_[type];
    if (!s.writer || !s.schema->Equals(*record->schema())) {
      s.schema = record->schema();
      s.schema_id = std::to_string(next_schema_id_++);
      ARROW_ASSIGN_OR_RAISE(s.sink, arrow::io::BufferOutputStream::Create());
      auto options = arrow::ipc::IpcWriteOptions::Defaults();
      options.emit_dictionary_deltas = deltas_;
      ARROW_ASSIGN_OR_RAISE(options.codec,
                            arrow::util::Codec::Create(arrow::Compression::ZSTD));
      ARROW_ASSIGN_OR_RAISE(s.writer,
                            arrow::ipc::MakeStreamWriter(s.sink, s.schema, options));
    }
    ARROW_RETURN_NOT_OK(s.writer->WriteRecordBatch(*record));
    ARROW_ASSIGN_OR_RAISE(auto buffer, s.sink->Finish());
    ARROW_RETURN_NOT_OK(s.sink->Reset());
    return buffer->ToString();
  }

  const std::string& schema_id(PayloadType type) { return streams_[type].schema_id; }

 private:
  static std::shared_ptr<arrow::RecordBatch> StripEncodingMetadata(
      const std::shared_ptr<arrow::RecordBatch>& batch) {
    std::vector<std::shared_ptr<arrow::Field>> fields;
    for (const auto& f : batch->schema()->fields()) fields.push_back(Strip(f));
    return arrow::RecordBatch::Make(arrow::schema(fields), batch->num_rows(),
                                    batch->columns());
  }
  static std::shared_ptr<arrow::Field> Strip(const std::shared_ptr<arrow::Field>& f) {
    auto type = f->type();
    if (type->id() == arrow::Type::STRUCT) {
      std::vector<std::shared_ptr<arrow::Field>> children;
      for (const auto& c : type->fields()) children.push_back(Strip(c));
      type = arrow::struct_(children);
    }
    return arrow::field(f->name(), type, f->nullable());
  }

  struct Stream {
    std::string schema_id;
    std::shared_ptr<arrow::Schema> schema;
    std::shared_ptr<arrow::io::BufferOutputStream> sink;
    std::shared_ptr<arrow::ipc::RecordBatchWriter> writer;
  };
  bool deltas_;
  std::map<PayloadType, Stream> streams_;
  int next_schema_id_ = 0;
};

std::vector<OtapBatch> Generate(Signal signal, int requests, uint64_t seed = 3) {
  generator::GeneratorOptions options;
  options.seed = seed;
  return testing::GeneratedBatches(signal, requests, options);
}

void ExpectSameTables(const OtapBatch& expected, const OtapBatch& actual) {
  ASSERT_EQ(expected.payload_types(), actual.payload_types());
  for (PayloadType type : expected.payload_types()) {
    SCOPED_TRACE(std::string(TableName(type)));
    EXPECT_TRUE(expected.Get(type)->Equals(*actual.Get(type), /*check_metadata=*/false))
        << "expected:\n"
        << expected.Get(type)->ToString() << "\nactual:\n"
        << actual.Get(type)->ToString();
  }
}

std::string Serialize(const pb::BatchArrowRecords& bar) {
  return bar.SerializeAsString();
}

class StreamDecoderSignalTest : public ::testing::TestWithParam<Signal> {};

// Scenario: several batches of one signal over one stream (IPC state carried across
// messages, zstd IPC bodies, ids transport encoded without metadata, as Go sends),
// the messages themselves zstd-compressed every other time.
// Guarantees: each decodes to exactly the batch that was encoded.
TEST_P(StreamDecoderSignalTest, RoundTripsGeneratedBatches) {
  const Signal signal = GetParam();
  auto batches = Generate(signal, 3);
  ASSERT_FALSE(batches.empty());
  Producer producer;
  StreamDecoder decoder(signal, DecodeLimits{});
  for (size_t i = 0; i < batches.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(auto bar, producer.Produce(batches[i], static_cast<int64_t>(i)));
    std::string message = Serialize(bar);
    if (i % 2 == 1) {
      std::string compressed(ZSTD_compressBound(message.size()), '\0');
      compressed.resize(ZSTD_compress(compressed.data(), compressed.size(),
                                      message.data(), message.size(), 3));
      ASSERT_TRUE(IsZstdFrame(compressed));
      message = compressed;
    }
    DecodedBar decoded = decoder.Decode(message);
    ASSERT_OK(decoded.status);
    ASSERT_EQ(decoded.batch_id, static_cast<int64_t>(i));
    ASSERT_TRUE(decoded.batch.has_value());
    ExpectSameTables(batches[i], *decoded.batch);
  }
  EXPECT_GT(decoder.stats().payloads, 0);
}

INSTANTIATE_TEST_SUITE_P(Signals, StreamDecoderSignalTest,
                         ::testing::Values(Signal::kLogs, Signal::kTraces,
                                           Signal::kMetrics));

// A logs batch whose severity_text is dictionary encoded with `values` (row i gets
// values[indices[i] % values.size()]).
std::shared_ptr<arrow::RecordBatch> WithDictSeverity(const OtapBatch& batch,
                                                     const std::vector<std::string>& dict,
                                                     std::vector<std::string>* expected) {
  auto root = batch.root();
  arrow::StringBuilder values;
  for (const auto& v : dict) EXPECT_TRUE(values.Append(v).ok());
  std::shared_ptr<arrow::Array> dictionary = values.Finish().ValueOrDie();
  arrow::UInt8Builder indices;
  expected->clear();
  for (int64_t i = 0; i < root->num_rows(); ++i) {
    const auto k = static_cast<uint8_t>(i % dict.size());
    EXPECT_TRUE(indices.Append(k).ok());
    expected->push_back(dict[k]);
  }
  auto type = arrow::dictionary(arrow::uint8(), arrow::utf8());
  auto column =
      arrow::DictionaryArray::FromArrays(type, indices.Finish().ValueOrDie(), dictionary)
          .ValueOrDie();
  const int index = root->schema()->GetFieldIndex(schema::kSeverityText);
  return root->SetColumn(index, arrow::field(schema::kSeverityText, type), column)
      .ValueOrDie();
}

// Scenario: a logs stream whose severity_text is a u8-keyed dictionary: the first
// batch sends it, the second extends it (a delta), the third changes it (a
// replacement, as Rust producers send).
// Guarantees: every batch decodes to the values that were encoded.
TEST(StreamDecoderTest, DeltaAndReplacementDictionaries) {
  auto batches = Generate(Signal::kLogs, 1);
  ASSERT_FALSE(batches.empty());
  const OtapBatch& batch = batches[0];
  ASSERT_OK_AND_ASSIGN(OtapBatch encoded, EncodeTransportIds(batch));
  Producer producer;
  StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
  const std::vector<std::vector<std::string>> dicts = {
      {"INFO", "WARN"}, {"INFO", "WARN", "ERROR"}, {"DEBUG", "INFO"}};
  for (size_t i = 0; i < dicts.size(); ++i) {
    std::vector<std::string> expected;
    auto root = WithDictSeverity(encoded, dicts[i], &expected);
    ASSERT_OK_AND_ASSIGN(std::string bytes, producer.Write(PayloadType::kLogs, root));
    pb::BatchArrowRecords bar;
    bar.set_batch_id(static_cast<int64_t>(i));
    auto* payload = bar.add_arrow_payloads();
    payload->set_schema_id(producer.schema_id(PayloadType::kLogs));
    payload->set_type(pb::LOGS);
    payload->set_record(bytes);
    DecodedBar decoded = decoder.Decode(Serialize(bar));
    ASSERT_OK(decoded.status);
    ASSERT_TRUE(decoded.batch.has_value());
    auto column = decoded.batch->root()->GetColumnByName(schema::kSeverityText);
    ASSERT_NE(column, nullptr);
    const auto& strings = static_cast<const arrow::StringArray&>(*column);
    ASSERT_EQ(strings.length(), static_cast<int64_t>(expected.size()));
    for (int64_t r = 0; r < strings.length(); ++r) {
      ASSERT_EQ(strings.GetString(r), expected[r]) << "batch " << i << " row " << r;
    }
  }
  EXPECT_EQ(decoder.stats().schema_resets, 1);
}

// A logs batch whose severity_text is a u8 dictionary of `dict`; row 0 gets index
// `first_index` (unchecked: may be out of range), the others cycle through `dict`.
std::shared_ptr<arrow::RecordBatch> WithRawDictSeverity(
    const OtapBatch& batch, const std::vector<std::string>& dict, uint8_t first_index) {
  auto root = batch.root();
  arrow::StringBuilder values;
  for (const auto& v : dict) EXPECT_TRUE(values.Append(v).ok());
  std::shared_ptr<arrow::Array> dictionary = values.Finish().ValueOrDie();
  arrow::UInt8Builder indices;
  for (int64_t i = 0; i < root->num_rows(); ++i) {
    EXPECT_TRUE(
        indices.Append(i == 0 ? first_index : static_cast<uint8_t>(i % dict.size()))
            .ok());
  }
  auto type = arrow::dictionary(arrow::uint8(), arrow::utf8());
  auto column = std::make_shared<arrow::DictionaryArray>(
      type, indices.Finish().ValueOrDie(), dictionary);
  const int index = root->schema()->GetFieldIndex(schema::kSeverityText);
  return root->SetColumn(index, arrow::field(schema::kSeverityText, type), column)
      .ValueOrDie();
}

DecodedBar DecodeLogsRecord(StreamDecoder* decoder, Producer* producer, int64_t batch_id,
                            const std::shared_ptr<arrow::RecordBatch>& root) {
  auto bytes = producer->Write(PayloadType::kLogs, root);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  pb::BatchArrowRecords bar;
  bar.set_batch_id(batch_id);
  auto* payload = bar.add_arrow_payloads();
  payload->set_schema_id(producer->schema_id(PayloadType::kLogs));
  payload->set_type(pb::LOGS);
  payload->set_record(bytes.ValueOr(""));
  return decoder->Decode(Serialize(bar));
}

// Scenario: a logs stream whose severity_text dictionary stays the same for three
// batches, then grows by one value (a delta), then by one value again sent as a
// replacement (the whole dictionary), then is replaced by other values.
// Guarantees: each dictionary value is validated in full once per stream, not once
// per batch (Arrow reuses an unchanged dictionary; a delta or a replacement that
// starts with the known values only adds its new ones); every batch decodes.
TEST(StreamDecoderTest, DictionaryValuesAreValidatedOncePerStream) {
  for (bool deltas : {true, false}) {
    SCOPED_TRACE(deltas ? "deltas" : "replacements");
    auto batches = Generate(Signal::kLogs, 1);
    ASSERT_FALSE(batches.empty());
    ASSERT_OK_AND_ASSIGN(OtapBatch encoded, EncodeTransportIds(batches[0]));
    Producer producer(deltas);
    StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
    const std::vector<std::vector<std::string>> dicts = {
        {"INFO", "WARN"},
        {"INFO", "WARN"},
        {"INFO", "WARN"},
        {"INFO", "WARN", "ERROR"},
        {"INFO", "WARN", "ERROR", "FATAL"},
        {"DEBUG", "TRACE"}};
    const std::vector<int64_t> validated = {2, 2, 2, 3, 4, 6};
    for (size_t i = 0; i < dicts.size(); ++i) {
      DecodedBar d = DecodeLogsRecord(&decoder, &producer, static_cast<int64_t>(i),
                                      WithRawDictSeverity(encoded, dicts[i], 0));
      ASSERT_OK(d.status);
      EXPECT_EQ(decoder.stats().dictionary_values_validated, validated[i])
          << "after batch " << i;
    }
  }
}

// Scenario: a dictionary index beyond the dictionary, in the first batch and in a
// batch whose dictionary was validated before; invalid UTF-8 in values that extend
// a validated dictionary, as a delta and as a replacement.
// Guarantees: each such batch is refused Invalid (the once-per-stream validation of
// dictionaries skips nothing a batch can change).
TEST(StreamDecoderTest, DictionaryShortcutsStillRefuseBadData) {
  auto batches = Generate(Signal::kLogs, 1);
  ASSERT_FALSE(batches.empty());
  ASSERT_OK_AND_ASSIGN(OtapBatch encoded, EncodeTransportIds(batches[0]));
  {
    Producer producer;
    StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
    DecodedBar d = DecodeLogsRecord(&decoder, &producer, 0,
                                    WithRawDictSeverity(encoded, {"A", "B"}, 7));
    EXPECT_TRUE(d.status.IsInvalid()) << d.status.ToString();
  }
  {
    Producer producer;
    StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
    ASSERT_OK(DecodeLogsRecord(&decoder, &producer, 0,
                               WithRawDictSeverity(encoded, {"A", "B"}, 1))
                  .status);
    DecodedBar d = DecodeLogsRecord(&decoder, &producer, 1,
                                    WithRawDictSeverity(encoded, {"A", "B"}, 2));
    EXPECT_TRUE(d.status.IsInvalid()) << d.status.ToString();
    EXPECT_EQ(d.batch_id, 1);
    EXPECT_NE(d.status.message().find("out of range"), std::string::npos)
        << d.status.ToString();
  }
  for (bool deltas : {true, false}) {
    SCOPED_TRACE(deltas ? "delta" : "replacement");
    Producer producer(deltas);
    StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
    ASSERT_OK(DecodeLogsRecord(&decoder, &producer, 0,
                               WithRawDictSeverity(encoded, {"A", "B"}, 0))
                  .status);
    DecodedBar d = DecodeLogsRecord(
        &decoder, &producer, 1,
        WithRawDictSeverity(encoded, {"A", "B", std::string("\xff\xfe", 2)}, 2));
    EXPECT_FALSE(d.status.ok());
    EXPECT_EQ(d.batch_id, 1);
  }
}

// Scenario: a replacement dictionary whose offsets start elsewhere than the checked
// dictionary's and jump to INT32_MIN ([1, INT32_MIN, 2]: the first and last are in
// bounds, so Arrow's IPC reader passes them on).
// Guarantees: the batch is refused Invalid; comparing it with the checked values
// does no signed overflow (UBSan aborted in otap_bar_fuzz, and in the sanitizer
// build of this test).
TEST(StreamDecoderTest, ReplacementDictionaryWithWildOffsetsIsRefused) {
  auto type = arrow::dictionary(arrow::uint8(), arrow::utf8());
  auto schema = arrow::schema(
      {arrow::field("id", arrow::uint16()), arrow::field(schema::kSeverityText, type)});
  auto batch = [&](const std::vector<std::string>& values) {
    arrow::StringBuilder dict;
    EXPECT_TRUE(dict.AppendValues(values).ok());
    arrow::UInt8Builder indices;
    arrow::UInt16Builder ids;
    EXPECT_TRUE(indices.AppendValues({0, 1}).ok());
    EXPECT_TRUE(ids.AppendValues({0, 1}).ok());
    auto column = std::make_shared<arrow::DictionaryArray>(
        type, indices.Finish().ValueOrDie(), dict.Finish().ValueOrDie());
    return arrow::RecordBatch::Make(schema, 2, {ids.Finish().ValueOrDie(), column});
  };
  // Uncompressed, replacements (not deltas): the offsets are patched in place.
  ASSERT_OK_AND_ASSIGN(auto sink, arrow::io::BufferOutputStream::Create());
  auto options = arrow::ipc::IpcWriteOptions::Defaults();
  options.emit_dictionary_deltas = false;
  ASSERT_OK_AND_ASSIGN(auto writer, arrow::ipc::MakeStreamWriter(sink, schema, options));
  ASSERT_OK(writer->WriteRecordBatch(*batch({"A", "B"})));
  ASSERT_OK_AND_ASSIGN(auto first, sink->Finish());
  ASSERT_OK(sink->Reset());
  ASSERT_OK(writer->WriteRecordBatch(*batch({"A", "C"})));
  ASSERT_OK_AND_ASSIGN(auto second_buffer, sink->Finish());
  std::string second = second_buffer->ToString();
  const int32_t plain[3] = {0, 1, 2};
  const int32_t wild[3] = {1, INT32_MIN, 2};
  std::string pattern(reinterpret_cast<const char*>(plain), sizeof(plain));
  pattern += std::string(4, '\0') + "AC";  // the offsets, padding, the values
  const size_t at = second.find(pattern);
  ASSERT_NE(at, std::string::npos);
  second.replace(at, sizeof(wild), reinterpret_cast<const char*>(wild), sizeof(wild));

  StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
  int64_t id = 0;
  for (const std::string& record : {first->ToString(), second}) {
    pb::BatchArrowRecords bar;
    bar.set_batch_id(++id);
    auto* p = bar.add_arrow_payloads();
    p->set_schema_id("0");
    p->set_type(pb::LOGS);
    p->set_record(record);
    DecodedBar d = decoder.Decode(Serialize(bar));
    if (id == 1) {
      ASSERT_OK(d.status);
    } else {
      EXPECT_TRUE(d.status.IsInvalid()) << d.status.ToString();
      EXPECT_EQ(d.batch_id, 2);
    }
  }
}

// Scenario: HPACK headers: the first batch adds a field to the dynamic table
// (literal with incremental indexing), the second refers to it by index only.
// Guarantees: the table is carried across batches of the stream.
TEST(StreamDecoderTest, HpackDynamicTableSpansBatches) {
  StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
  std::string first =
      std::string("\x40\x0d", 2) + "authorization" + "\x0b" + "Bearer s3cr";
  pb::BatchArrowRecords bar;
  bar.set_batch_id(0);
  bar.set_headers(first);
  DecodedBar a = decoder.Decode(Serialize(bar));
  ASSERT_OK(a.status);
  ASSERT_EQ(a.headers.size(), 1u);
  EXPECT_EQ(a.headers[0], Header("authorization", "Bearer s3cr"));
  EXPECT_FALSE(a.batch.has_value());  // no payloads: an empty batch, answered OK
  bar.set_batch_id(1);
  bar.set_headers(std::string("\xbe", 1));  // index 62: the first dynamic entry
  DecodedBar b = decoder.Decode(Serialize(bar));
  ASSERT_OK(b.status);
  ASSERT_EQ(b.headers.size(), 1u);
  EXPECT_EQ(b.headers[0], Header("authorization", "Bearer s3cr"));
}

// Scenario: bad input of every kind the issue lists, each on a fresh stream.
// Guarantees: an error for that batch (with its batch_id when the message parses),
// the stream flagged unusable when its IPC/HPACK state may be off, no crash.
TEST(StreamDecoderTest, BadInputIsRefused) {
  auto batches = Generate(Signal::kLogs, 1);
  ASSERT_FALSE(batches.empty());

  {  // not a protobuf message at all
    StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
    DecodedBar d = decoder.Decode(std::string("\xff\xff\xff\xff\x01", 5));
    EXPECT_FALSE(d.status.ok());
    EXPECT_FALSE(d.batch_id.has_value());
  }
  {  // garbage IPC bytes
    StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
    pb::BatchArrowRecords bar;
    bar.set_batch_id(7);
    auto* p = bar.add_arrow_payloads();
    p->set_schema_id("0");
    p->set_type(pb::LOGS);
    p->set_record("this is not arrow ipc at all, not even close");
    DecodedBar d = decoder.Decode(Serialize(bar));
    EXPECT_TRUE(d.status.IsInvalid() || d.status.IsIOError()) << d.status.ToString();
    EXPECT_EQ(d.batch_id, 7);
    EXPECT_FALSE(d.stream_usable);
    EXPECT_FALSE(d.retryable);
  }
  {  // unknown schema_id whose bytes do not start with a schema
    Producer producer;
    StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
    ASSERT_OK_AND_ASSIGN(auto bar, producer.Produce(batches[0], 0));
    ASSERT_OK(decoder.Decode(Serialize(bar)).status);
    ASSERT_OK_AND_ASSIGN(auto next, producer.Produce(batches[0], 1));
    next.mutable_arrow_payloads(0)->set_schema_id("99");
    DecodedBar d = decoder.Decode(Serialize(next));
    EXPECT_FALSE(d.status.ok());
    EXPECT_EQ(d.batch_id, 1);
    EXPECT_FALSE(d.stream_usable);
  }
  {  // a dictionary id that was never sent: the schema and record, no dictionary
    ASSERT_OK_AND_ASSIGN(OtapBatch encoded, EncodeTransportIds(batches[0]));
    std::vector<std::string> expected;
    auto root = WithDictSeverity(encoded, {"A", "B"}, &expected);
    Producer producer;
    ASSERT_OK_AND_ASSIGN(std::string bytes, producer.Write(PayloadType::kLogs, root));
    auto reader = arrow::ipc::MessageReader::Open(
        std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(bytes)));
    ASSERT_OK_AND_ASSIGN(auto sink, arrow::io::BufferOutputStream::Create());
    int dictionaries = 0;
    while (true) {
      ASSERT_OK_AND_ASSIGN(auto message, reader->ReadNextMessage());
      if (!message) break;
      if (message->type() == arrow::ipc::MessageType::DICTIONARY_BATCH) {
        dictionaries++;
        continue;
      }
      int64_t written = 0;
      ASSERT_OK(message->SerializeTo(sink.get(), arrow::ipc::IpcWriteOptions::Defaults(),
                                     &written));
    }
    ASSERT_EQ(dictionaries, 1);
    ASSERT_OK_AND_ASSIGN(auto stripped, sink->Finish());
    pb::BatchArrowRecords bar;
    bar.set_batch_id(3);
    auto* p = bar.add_arrow_payloads();
    p->set_schema_id("0");
    p->set_type(pb::LOGS);
    p->set_record(stripped->ToString());
    StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
    DecodedBar d = decoder.Decode(Serialize(bar));
    EXPECT_FALSE(d.status.ok());
    EXPECT_EQ(d.batch_id, 3);
  }
  {  // mismatched column lengths: a column shorter than the batch's row count
    ASSERT_OK_AND_ASSIGN(OtapBatch encoded, EncodeTransportIds(batches[0]));
    auto root = encoded.root();
    std::vector<std::shared_ptr<arrow::Array>> columns = root->columns();
    const int index = root->schema()->GetFieldIndex(schema::kSeverityText);
    columns[index] = columns[index]->Slice(0, root->num_rows() / 2);
    auto broken = arrow::RecordBatch::Make(root->schema(), root->num_rows(), columns);
    Producer producer;
    auto bytes = producer.Write(PayloadType::kLogs, broken);
    if (bytes.ok()) {  // the writer may refuse it already
      pb::BatchArrowRecords bar;
      bar.set_batch_id(4);
      auto* p = bar.add_arrow_payloads();
      p->set_schema_id("0");
      p->set_type(pb::LOGS);
      p->set_record(*bytes);
      StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
      DecodedBar d = decoder.Decode(Serialize(bar));
      EXPECT_FALSE(d.status.ok());
      EXPECT_EQ(d.batch_id, 4);
    }
  }
  {  // ids out of range: a log attribute names a log record that does not exist
    OtapBatch bad = batches[0];
    auto attrs = bad.Get(PayloadType::kLogAttrs);
    ASSERT_NE(attrs, nullptr);
    const int index = attrs->schema()->GetFieldIndex(schema::kParentId);
    arrow::UInt16Builder ids;
    for (int64_t i = 0; i < attrs->num_rows(); ++i) ASSERT_OK(ids.Append(60000));
    ASSERT_OK_AND_ASSIGN(auto column, ids.Finish());
    ASSERT_OK_AND_ASSIGN(auto replaced,
                         attrs->SetColumn(index, attrs->schema()->field(index), column));
    bad.Set(PayloadType::kLogAttrs, replaced);
    Producer producer;
    ASSERT_OK_AND_ASSIGN(auto bar, producer.Produce(bad, 5));
    StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
    DecodedBar d = decoder.Decode(Serialize(bar));
    EXPECT_TRUE(d.status.IsInvalid()) << d.status.ToString();
    EXPECT_EQ(d.batch_id, 5);
    EXPECT_TRUE(d.stream_usable);  // the IPC state is fine: only this batch is bad
  }
  {  // a zstd bomb: 64 MiB of zeros in a few KiB, against a 4 MiB message limit
    std::string zeros(64 << 20, '\0');
    std::string bomb(ZSTD_compressBound(zeros.size()), '\0');
    bomb.resize(ZSTD_compress(bomb.data(), bomb.size(), zeros.data(), zeros.size(), 1));
    ASSERT_LT(bomb.size(), 64u << 10);
    StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
    DecodedBar d = decoder.Decode(bomb);
    EXPECT_TRUE(d.status.IsCapacityError()) << d.status.ToString();
    EXPECT_FALSE(d.batch_id.has_value());
    EXPECT_TRUE(d.stream_usable);
  }
  {  // garbage HPACK
    StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
    pb::BatchArrowRecords bar;
    bar.set_batch_id(9);
    bar.set_headers(std::string("\xff\xff\xff\xff\xff\xff", 6));
    DecodedBar d = decoder.Decode(Serialize(bar));
    EXPECT_TRUE(d.status.IsInvalid()) << d.status.ToString();
    EXPECT_EQ(d.batch_id, 9);
    EXPECT_FALSE(d.stream_usable);
  }
  {  // a payload type of another signal
    StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
    pb::BatchArrowRecords bar;
    bar.set_batch_id(10);
    auto* p = bar.add_arrow_payloads();
    p->set_schema_id("0");
    p->set_type(pb::SPANS);
    DecodedBar d = decoder.Decode(Serialize(bar));
    EXPECT_TRUE(d.status.IsInvalid()) << d.status.ToString();
    EXPECT_EQ(d.batch_id, 10);
  }
}

// A record of `rows` int64 zeros: a few KiB on the wire with zstd IPC bodies,
// rows * 8 bytes once decoded.
std::shared_ptr<arrow::RecordBatch> Zeros(int64_t rows) {
  arrow::Int64Builder builder;
  EXPECT_TRUE(builder.AppendValues(std::vector<int64_t>(rows, 0)).ok());
  return arrow::RecordBatch::Make(arrow::schema({arrow::field("x", arrow::int64())}),
                                  rows, {builder.Finish().ValueOrDie()});
}

// A BAR of one payload: `record` as `producer` writes it.
pb::BatchArrowRecords RecordBar(Producer* producer, PayloadType type,
                                const std::shared_ptr<arrow::RecordBatch>& record,
                                int64_t batch_id) {
  pb::BatchArrowRecords bar;
  bar.set_batch_id(batch_id);
  auto* p = bar.add_arrow_payloads();
  p->set_record(producer->Write(type, record).ValueOrDie());
  p->set_schema_id(producer->schema_id(type));
  p->set_type(static_cast<pb::ArrowPayloadType>(type));
  return bar;
}

pb::BatchArrowRecords ZerosBar(Producer* producer, PayloadType type, int64_t rows,
                               int64_t batch_id) {
  return RecordBar(producer, type, Zeros(rows), batch_id);
}

// Scenario: a batch whose zstd IPC body decompresses to 8 MiB, beyond the stream
// memory limit, (a) on a fresh stream, (b) on a stream whose memory is partly held by
// an earlier batch's dictionary (pipeline batches hold memory the same way).
// Guarantees: (a) is refused for good (INVALID_ARGUMENT): it needs more than the
// limit on any stream, retrying it (UNAVAILABLE) would only fail again; (b) is
// retryable, as a fresh stream may have room for it.
TEST(StreamDecoderTest, MemoryLimitIsRetryableOnlyWhenOtherMemoryHoldsIt) {
  {
    Producer producer;
    DecodeLimits limits;
    limits.memory_limit = 4 << 20;
    StreamDecoder decoder(Signal::kLogs, limits);
    auto bar = ZerosBar(&producer, PayloadType::kLogs, 1 << 20, 0);
    ASSERT_LT(bar.ByteSizeLong(), 64u << 10);
    DecodedBar d = decoder.Decode(Serialize(bar));
    EXPECT_TRUE(d.status.IsOutOfMemory()) << d.status.ToString();
    EXPECT_FALSE(d.retryable);
    EXPECT_FALSE(d.stream_usable);
  }
  {
    auto batches = Generate(Signal::kLogs, 1);
    ASSERT_OK_AND_ASSIGN(OtapBatch encoded, EncodeTransportIds(batches[0]));
    std::vector<std::string> expected;
    // A dictionary of 6 MiB (compressible): the IPC decoder keeps it. 256 values, so
    // that the batch's own decoded rows (counted too) stay small.
    std::vector<std::string> values;
    for (int i = 0; i < 256; ++i) values.push_back(std::string(24 << 10, 'a' + i % 26));
    ASSERT_LT(encoded.root()->num_rows(), 128);
    auto root = WithDictSeverity(encoded, values, &expected);
    Producer producer;
    DecodeLimits limits;
    limits.memory_limit = 12 << 20;
    StreamDecoder decoder(Signal::kLogs, limits);
    pb::BatchArrowRecords first;
    first.set_batch_id(0);
    auto* p = first.add_arrow_payloads();
    ASSERT_OK_AND_ASSIGN(*p->mutable_record(), producer.Write(PayloadType::kLogs, root));
    p->set_schema_id(producer.schema_id(PayloadType::kLogs));
    p->set_type(pb::LOGS);
    DecodedBar a = decoder.Decode(Serialize(first));
    ASSERT_OK(a.status);
    a.batch.reset();
    ASSERT_GE(decoder.memory_used(), 6 << 20);
    DecodedBar d = decoder.Decode(
        Serialize(ZerosBar(&producer, PayloadType::kLogAttrs, 1 << 20, 1)));
    EXPECT_TRUE(d.status.IsOutOfMemory()) << d.status.ToString();
    EXPECT_TRUE(d.retryable);
    EXPECT_FALSE(d.stream_usable);
  }
}

// A BAR whose logs payload is 8 MiB of zeros (a few KiB once compressed), twice
// the default message limit.
pb::BatchArrowRecords OversizedLogsBar(int64_t batch_id) {
  pb::BatchArrowRecords bar;
  bar.set_batch_id(batch_id);
  auto* p = bar.add_arrow_payloads();
  p->set_schema_id("0");
  p->set_type(pb::LOGS);
  p->set_record(std::string(8 << 20, '\0'));
  return bar;
}

// Scenario: a zstd-compressed BatchArrowRecords (batch_id 42, and batch_id 0, which
// proto3 leaves out) whose 8 MiB payload compresses to a few KiB, against the 4 MiB
// message limit.
// Guarantees: refused with its batch_id (so it is answered INVALID_ARGUMENT, not
// retried by the sender on stream after stream), the stream flagged unusable (its
// headers were skipped).
TEST(StreamDecoderTest, OversizedZstdMessageIsAnsweredWithItsBatchId) {
  for (int64_t id : {int64_t{42}, int64_t{0}}) {
    const std::string plain = Serialize(OversizedLogsBar(id));
    std::string compressed(ZSTD_compressBound(plain.size()), '\0');
    compressed.resize(ZSTD_compress(compressed.data(), compressed.size(), plain.data(),
                                    plain.size(), 1));
    StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
    DecodedBar d = decoder.Decode(compressed);
    EXPECT_TRUE(d.status.IsCapacityError()) << d.status.ToString();
    EXPECT_EQ(d.batch_id, id);
    EXPECT_FALSE(d.retryable);
    EXPECT_FALSE(d.stream_usable);
  }
}

// Scenario: a BatchArrowRecords (batch_id 42, and 0) whose 8 MiB payload gzips or
// deflates to a few KiB, flagged by gRPC as gzip or deflate, against the 4 MiB
// message limit (what gRPC C++ would inflate in full before checking the size).
// Guarantees: refused like an oversized zstd message: CapacityError with its
// batch_id, not retryable, the stream flagged unusable.
TEST(StreamDecoderTest, OversizedGzipAndDeflateMessagesAreAnsweredWithTheirBatchId) {
  for (auto [compression, format] :
       {std::pair{GrpcCompression::kGzip, util::DeflateFormat::kGzip},
        std::pair{GrpcCompression::kDeflate, util::DeflateFormat::kZlib}}) {
    for (int64_t id : {int64_t{42}, int64_t{0}}) {
      ASSERT_OK_AND_ASSIGN(auto compressed,
                           util::Deflate(Serialize(OversizedLogsBar(id)), format));
      ASSERT_LT(compressed.size(), 64u << 10);
      StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
      DecodedBar d = decoder.Decode(compressed, compression);
      EXPECT_TRUE(d.status.IsCapacityError()) << d.status.ToString();
      EXPECT_NE(d.status.message().find("maximum message size"), std::string::npos);
      EXPECT_EQ(d.batch_id, id);
      EXPECT_FALSE(d.retryable);
      EXPECT_FALSE(d.stream_usable);
    }
  }
}

// Scenario: generated logs batches over one stream, each message gzip- or
// deflate-compressed and flagged so, with a message limit of exactly the
// message's size, then one byte less; a gzip body flagged deflate; zeros flagged
// gzip.
// Guarantees: each decodes to the batch encoded at the exact limit; one byte
// over it is CapacityError; the wrong or missing format is Invalid, the stream
// still usable (its state was not touched).
TEST(StreamDecoderTest, GzipAndDeflateMessagesDecodeUpToTheLimit) {
  auto batches = Generate(Signal::kLogs, 2);
  ASSERT_FALSE(batches.empty());
  for (auto [compression, format] :
       {std::pair{GrpcCompression::kGzip, util::DeflateFormat::kGzip},
        std::pair{GrpcCompression::kDeflate, util::DeflateFormat::kZlib}}) {
    Producer producer;
    ASSERT_OK_AND_ASSIGN(auto bar, producer.Produce(batches[0], 7));
    const std::string plain = Serialize(bar);
    ASSERT_OK_AND_ASSIGN(auto compressed, util::Deflate(plain, format));
    DecodeLimits limits;
    limits.max_message_size = static_cast<int64_t>(plain.size());
    StreamDecoder decoder(Signal::kLogs, limits);
    DecodedBar d = decoder.Decode(compressed, compression);
    ASSERT_OK(d.status);
    EXPECT_EQ(d.batch_id, 7);
    EXPECT_EQ(d.message_bytes, static_cast<int64_t>(plain.size()));
    ASSERT_TRUE(d.batch.has_value());
    ExpectSameTables(batches[0], *d.batch);

    limits.max_message_size--;
    StreamDecoder tight(Signal::kLogs, limits);
    d = tight.Decode(compressed, compression);
    EXPECT_TRUE(d.status.IsCapacityError()) << d.status.ToString();
    EXPECT_EQ(d.batch_id, 7);
  }
  ASSERT_OK_AND_ASSIGN(auto gzip, util::Deflate("\x08\x01", util::DeflateFormat::kGzip));
  StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
  DecodedBar d = decoder.Decode(gzip, GrpcCompression::kDeflate);
  EXPECT_TRUE(d.status.IsInvalid()) << d.status.ToString();
  EXPECT_TRUE(d.stream_usable);
  d = decoder.Decode(std::string(16, '\0'), GrpcCompression::kGzip);
  EXPECT_TRUE(d.status.IsInvalid()) << d.status.ToString();
  d = decoder.Decode(gzip, GrpcCompression::kGzip);
  ASSERT_OK(d.status);
  EXPECT_EQ(d.batch_id, 1);
}

// Scenario: a message whose schema_id is not UTF-8 (a proto3 `string`, so protobuf
// refuses the message and logs a line about it).
// Guarantees: the error says why, and nothing is printed on stderr (a client would
// otherwise write a line to the engine's log per message).
TEST(StreamDecoderTest, InvalidUtf8SchemaIdIsAnErrorNotALogLine) {
  // BatchArrowRecords{batch_id: 5, arrow_payloads: [{schema_id: "\xff"}]}, by hand:
  // protobuf would log serializing it too.
  const std::string message("\x08\x05\x12\x03\x0a\x01\xff", 7);
  StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
  ::testing::internal::CaptureStderr();
  DecodedBar d = decoder.Decode(message);
  const std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(d.status.IsInvalid()) << d.status.ToString();
  EXPECT_FALSE(d.batch_id.has_value());
  EXPECT_NE(d.status.message().find("schema_id"), std::string::npos)
      << d.status.ToString();
  EXPECT_NE(d.status.message().find("UTF-8"), std::string::npos) << d.status.ToString();
  EXPECT_EQ(printed, "");
}

// Scenario: one logs payload carrying its schema, its severity_text dictionary and
// then 50 deltas of that dictionary (one value each) before its one record batch;
// the same without the extra deltas.
// Guarantees: the first is refused and the stream flagged unusable (one dictionary
// batch per dictionary field is what producers send; Arrow re-concatenates the
// whole dictionary for each delta, a CPU sink for a large one); the second decodes.
TEST(StreamDecoderTest, ManyDictionaryDeltasInOnePayloadAreRefused) {
  auto batches = Generate(Signal::kLogs, 1);
  ASSERT_OK_AND_ASSIGN(OtapBatch encoded, EncodeTransportIds(batches[0]));
  Producer producer;
  std::vector<std::string> values = {"v0"}, expected;
  std::vector<std::shared_ptr<arrow::ipc::Message>> messages;
  for (int i = 0; i <= 50; ++i) {
    if (i > 0) values.push_back("v" + std::to_string(i));
    ASSERT_OK_AND_ASSIGN(
        std::string bytes,
        producer.Write(PayloadType::kLogs, WithDictSeverity(encoded, values, &expected)));
    auto reader = arrow::ipc::MessageReader::Open(
        std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(bytes)));
    while (true) {
      ASSERT_OK_AND_ASSIGN(auto message, reader->ReadNextMessage());
      if (!message) break;
      messages.push_back(std::move(message));
    }
  }
  // Without the record batches but the last: schema, dictionary, 50 deltas, record.
  auto payload = [&](bool all_deltas) {
    auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
    int deltas = 0;
    for (size_t m = 0; m < messages.size(); ++m) {
      const auto type = messages[m]->type();
      if (type == arrow::ipc::MessageType::RECORD_BATCH && m + 1 != messages.size())
        continue;
      if (type == arrow::ipc::MessageType::DICTIONARY_BATCH && deltas++ > 0 &&
          !all_deltas)
        continue;
      int64_t written = 0;
      EXPECT_TRUE(
          messages[m]
              ->SerializeTo(sink.get(), arrow::ipc::IpcWriteOptions::Defaults(), &written)
              .ok());
    }
    return sink->Finish().ValueOrDie()->ToString();
  };
  for (bool all_deltas : {true, false}) {
    SCOPED_TRACE(all_deltas ? "50 deltas" : "one dictionary batch");
    pb::BatchArrowRecords bar;
    bar.set_batch_id(0);
    auto* p = bar.add_arrow_payloads();
    p->set_schema_id("0");
    p->set_type(pb::LOGS);
    p->set_record(payload(all_deltas));
    StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
    DecodedBar d = decoder.Decode(Serialize(bar));
    if (all_deltas) {
      EXPECT_TRUE(d.status.IsInvalid()) << d.status.ToString();
      EXPECT_FALSE(d.stream_usable);
    } else {
      // The record batch refers to values 0..50 (row i: i % 51); with only "v0" in
      // the dictionary its indices are out of range: refused as bad data, but the
      // IPC state is whole.
      EXPECT_TRUE(d.stream_usable) << d.status.ToString();
    }
  }
}

// Scenario: an HPACK block that adds an empty field (name and value "") to the
// dynamic table, then refers to it a million times (one byte each).
// Guarantees: refused like headers over the byte limit (each field counts 32 bytes
// beside its name and value, as HTTP/2's header list size), not a million fields
// decoded (~64 MiB of memory from a 1 MiB message).
TEST(StreamDecoderTest, HpackFieldCountIsBounded) {
  StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
  pb::BatchArrowRecords bar;
  bar.set_batch_id(0);
  bar.set_headers(std::string("\x40\x00\x00", 3) + std::string(1 << 20, '\xbe'));
  DecodedBar d = decoder.Decode(Serialize(bar));
  EXPECT_TRUE(d.status.IsInvalid()) << d.status.ToString();
  EXPECT_EQ(d.batch_id, 0);
  EXPECT_FALSE(d.stream_usable);
  EXPECT_TRUE(d.headers.empty());
}

// Scenario: HPACK blocks a sender could get wrong: a dynamic table size update
// above the 4096 bytes both sides start with; a block that ends inside a field (the
// rest sent with the next batch).
// Guarantees: that batch refused, the stream flagged unusable.
TEST(StreamDecoderTest, HpackProtocolErrorsAreRefused) {
  const std::vector<std::string> blocks = {
      std::string("\x3f\xe1\x7f", 3),  // table size update to 16384
      std::string("\x40\x0d", 2) + "authorization" + "\x0b" + "Bearer",  // cut short
  };
  for (const std::string& block : blocks) {
    StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
    pb::BatchArrowRecords bar;
    bar.set_batch_id(1);
    bar.set_headers(block);
    DecodedBar d = decoder.Decode(Serialize(bar));
    EXPECT_TRUE(d.status.IsInvalid()) << d.status.ToString();
    EXPECT_EQ(d.batch_id, 1);
    EXPECT_FALSE(d.stream_usable);
  }
}

// A logs batch whose only column is of the Null type: `rows` rows in a few bytes.
pb::BatchArrowRecords NullColumnLogs(int64_t rows) {
  auto record = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("time_unix_nano", arrow::null())}), rows,
      {std::make_shared<arrow::NullArray>(rows)});
  pb::BatchArrowRecords bar;
  bar.set_batch_id(5);
  auto* p = bar.add_arrow_payloads();
  p->set_schema_id("0");
  p->set_type(pb::LOGS);
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  auto options = arrow::ipc::IpcWriteOptions::Defaults();
  options.allow_64bit = true;  // lengths beyond 2^31 - 1, as a crafted message has
  auto writer =
      arrow::ipc::MakeStreamWriter(sink, record->schema(), options).ValueOrDie();
  EXPECT_OK(writer->WriteRecordBatch(*record));
  p->set_record(sink->Finish().ValueOrDie()->ToString());
  return bar;
}

// Found by otap_bar_fuzz: the missing columns were made as nulls of the claimed
// length on the default pool, an allocation of 2^59 bytes for 2^56 rows.
TEST(StreamDecoderTest, RowsWithoutBytesAreBounded) {
  DecodeLimits limits;
  limits.memory_limit = 4 << 20;
  {  // more rows than the limit has bytes: refused for good
    StreamDecoder decoder(Signal::kLogs, limits);
    DecodedBar d = decoder.Decode(Serialize(NullColumnLogs(int64_t{1} << 56)));
    EXPECT_TRUE(d.status.IsInvalid()) << d.status.ToString();
    EXPECT_THAT(d.status.message(), ::testing::HasSubstr("rows, more than"));
    EXPECT_FALSE(d.retryable);
    EXPECT_FALSE(d.batch);
  }
  {  // fewer, but their nulls would not fit: the stream's pool refuses them
    StreamDecoder decoder(Signal::kLogs, limits);
    DecodedBar d = decoder.Decode(Serialize(NullColumnLogs(int64_t{1} << 20)));
    EXPECT_TRUE(d.status.IsOutOfMemory()) << d.status.ToString();
    EXPECT_FALSE(d.batch);
    EXPECT_LT(decoder.memory_used(), 4096);  // the IPC state only
  }
}

// One logs payload of `rows` rows: trace_id (zeros or not) and a body whose every
// other slot is null, its `type` child null there too or 0.
pb::BatchArrowRecords FilledColumnsLogs(int64_t rows, bool zero_ids, bool null_types) {
  arrow::FixedSizeBinaryBuilder ids(arrow::fixed_size_binary(16));
  auto body_type = arrow::struct_({arrow::field("type", arrow::uint8())});
  auto types = std::make_shared<arrow::UInt8Builder>();
  arrow::StructBuilder bodies(body_type, arrow::default_memory_pool(), {types});
  for (int64_t i = 0; i < rows; ++i) {
    std::string id(16, '\0');
    if (!zero_ids) id[0] = 1;
    EXPECT_OK(ids.Append(id));
    const bool present = i % 2 == 0;
    EXPECT_OK(bodies.Append(present));  // the bitmap only: children below
    EXPECT_OK(present || !null_types ? types->Append(0) : types->AppendNull());
  }
  auto body = bodies.Finish().ValueOrDie();
  auto record = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("trace_id", arrow::fixed_size_binary(16)),
                     arrow::field("body", body->type())}),
      rows, {ids.Finish().ValueOrDie(), body});
  Producer producer;
  return RecordBar(&producer, PayloadType::kLogs, record, 1);
}

// Bytes of its stream's memory the batch decoded from `bar` holds.
int64_t HeldBatchBytes(const pb::BatchArrowRecords& bar) {
  StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
  DecodedBar d = decoder.Decode(Serialize(bar));
  EXPECT_OK(d.status);
  const int64_t with = decoder.memory_used();
  d.batch.reset();
  return with - decoder.memory_used();
}

// Scenario: logs whose zero trace ids become nulls (a new validity bitmap) and logs
// whose null body `type` values become 0 (new values), against the same logs
// without either: the bytes each held batch takes in its stream's memory; then the
// null-type logs on a stream whose limit leaves the plain logs kRows / 2 bytes of
// room, less than the filled values need.
// Guarantees: the new buffers are in the stream's memory (they were allocated on the
// default pool, outside arrow.memory_limit_mib: the bitmap was missing from the
// count, and the filled batch counted less than the plain one); past the limit the
// batch is refused (OutOfMemory), not decoded outside it.
TEST(StreamDecoderTest, FilledColumnsCountAgainstTheStreamLimit) {
  constexpr int64_t kRows = 1 << 16;
  const int64_t plain = HeldBatchBytes(FilledColumnsLogs(kRows, false, false));
  EXPECT_GE(HeldBatchBytes(FilledColumnsLogs(kRows, true, false)), plain + kRows / 8);
  EXPECT_GE(HeldBatchBytes(FilledColumnsLogs(kRows, false, true)), plain);

  // The least stream limit the plain logs decode within (the same on every run).
  const std::string message = Serialize(FilledColumnsLogs(kRows, false, false));
  int64_t low = 1, high = int64_t{64} << 20;  // fails at low, decodes at high
  while (high - low > 1) {
    DecodeLimits limits;
    limits.memory_limit = low + (high - low) / 2;
    StreamDecoder decoder(Signal::kLogs, limits);
    (decoder.Decode(message).status.ok() ? high : low) = limits.memory_limit;
  }
  DecodeLimits limits;
  limits.memory_limit = high + kRows / 2;
  StreamDecoder decoder(Signal::kLogs, limits);
  DecodedBar d = decoder.Decode(Serialize(FilledColumnsLogs(kRows, false, true)));
  EXPECT_TRUE(d.status.IsOutOfMemory()) << d.status.ToString();
  EXPECT_FALSE(d.batch);
}

// One logs payload of `rows` rows with only an `id` column holding 0, 1, 2, …: sent
// plain (`encoding=plain`: kept as received) or as Go sends it (deltas, no
// metadata: decoded into a new column).
pb::BatchArrowRecords IdOnlyLogs(int64_t rows, bool plain) {
  arrow::UInt16Builder ids;
  for (int64_t i = 0; i < rows; ++i) {
    EXPECT_OK(ids.Append(static_cast<uint16_t>(plain ? i : (i == 0 ? 0 : 1))));
  }
  auto field = arrow::field("id", arrow::uint16());
  if (plain)
    field = field->WithMetadata(arrow::key_value_metadata({"encoding"}, {"plain"}));
  auto record =
      arrow::RecordBatch::Make(arrow::schema({field}), rows, {ids.Finish().ValueOrDie()});
  Producer producer;
  return RecordBar(&producer, PayloadType::kLogs, record, 1);
}

// Scenario: logs whose ids come delta-encoded (decoded into a new column) against
// the same logs sent plain (kept as received): the bytes each held batch takes in
// its stream's memory (what arrow.memory_limit_mib bounds).
// Guarantees: the decoded ids are in the stream's memory, as the received ones are.
// Failed before the fix: DecodeTransportIds allocated them on the default pool, so a
// sender choosing delta ids (Go's producer always does) had the receiver hold its
// id columns outside the limit (the delta logs counted ~2 bytes a row less).
TEST(StreamDecoderTest, DecodedIdsCountAgainstTheStreamLimit) {
  constexpr int64_t kRows = 1 << 16;
  const int64_t plain = HeldBatchBytes(IdOnlyLogs(kRows, true));
  const int64_t delta = HeldBatchBytes(IdOnlyLogs(kRows, false));
  EXPECT_GE(plain, 2 * kRows);
  EXPECT_GE(delta, plain - kRows / 2) << "plain ids held " << plain << " bytes";
}

}  // namespace
}  // namespace otap_parquet::otap_wire
