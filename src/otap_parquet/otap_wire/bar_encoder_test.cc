// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/otap_wire/bar_encoder.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <arrow/api.h>
#include <arrow/compute/api_vector.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/api.h>
#include <gtest/gtest.h>

#include "opentelemetry/proto/experimental/arrow/v1/arrow_service.pb.h"
#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/otap_wire/bar_decoder.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/equivalence.h"
#include "otap_parquet/pdata/ids.h"
#include "otap_parquet/schema/otap_schema.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::otap_wire {
namespace {

namespace pb = opentelemetry::proto::experimental::arrow::v1;

std::vector<OtapBatch> Generate(Signal signal, int requests, uint64_t seed = 5) {
  generator::GeneratorOptions options;
  options.seed = seed;
  generator::OtlpGenerator gen(options);
  std::vector<OtapBatch> out;
  for (int i = 0; i < requests; ++i) {
    auto batches = otlp::ToOtap(gen.Next(signal));
    EXPECT_TRUE(batches.ok()) << batches.status().ToString();
    for (auto& b : *batches) out.push_back(std::move(b));
  }
  return out;
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

pb::BatchArrowRecords Parse(const std::string& message) {
  pb::BatchArrowRecords bar;
  EXPECT_TRUE(bar.ParseFromString(message));
  return bar;
}

// Reads one payload type's IPC stream (the concatenated `record` bytes of its
// payloads) with Arrow's own stream reader; returns its statistics.
arrow::Result<arrow::ipc::ReadStats> ReadIpc(const std::string& bytes,
                                             std::shared_ptr<arrow::Schema>* schema) {
  auto input =
      std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(bytes));
  ARROW_ASSIGN_OR_RAISE(auto reader, arrow::ipc::RecordBatchStreamReader::Open(input));
  *schema = reader->schema();
  std::shared_ptr<arrow::RecordBatch> batch;
  do {
    ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
  } while (batch);
  return reader->stats();
}

// The fields of each payload's IPC schema in `message`, for the payloads that start
// an IPC stream (schema message first), by payload type.
std::map<PayloadType, std::shared_ptr<arrow::Schema>> StartedSchemas(
    const pb::BatchArrowRecords& bar) {
  std::map<PayloadType, std::shared_ptr<arrow::Schema>> out;
  for (const auto& payload : bar.arrow_payloads()) {
    auto input = std::make_shared<arrow::io::BufferReader>(
        arrow::Buffer::FromString(payload.record()));
    auto reader = arrow::ipc::RecordBatchStreamReader::Open(input);
    if (reader.ok()) out[static_cast<PayloadType>(payload.type())] = (*reader)->schema();
  }
  return out;
}

// Encodes `batches` in order on `encoder`'s stream (batch ids 0, 1, ...); each
// message decodes (our decoder, one stream) to exactly the batch encoded. `bars`:
// the messages, parsed.
void EncodeAll(StreamEncoder* encoder, const std::vector<OtapBatch>& batches,
               std::vector<pb::BatchArrowRecords>* bars) {
  ASSERT_FALSE(batches.empty());
  StreamDecoder decoder(batches[0].signal(), DecodeLimits{});
  for (size_t i = 0; i < batches.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_OK_AND_ASSIGN(std::string message,
                         encoder->Encode(batches[i], static_cast<int64_t>(i)));
    bars->push_back(Parse(message));
    DecodedBar decoded = decoder.Decode(message);
    ASSERT_OK(decoded.status);
    ASSERT_TRUE(decoded.batch.has_value());
    ExpectSameTables(batches[i], *decoded.batch);
  }
}

// The schema_id of each payload of `type`, message after message.
std::vector<std::string> SchemaIdsOf(const std::vector<pb::BatchArrowRecords>& bars,
                                     PayloadType type) {
  std::vector<std::string> ids;
  for (const auto& bar : bars) {
    for (const auto& payload : bar.arrow_payloads()) {
      if (static_cast<PayloadType>(payload.type()) == type) {
        ids.push_back(payload.schema_id());
      }
    }
  }
  return ids;
}

// The first record batch of the first payload of `type` in `bar` (nullptr: none),
// read with Arrow's own stream reader (the payload must start its IPC stream).
arrow::Result<std::shared_ptr<arrow::RecordBatch>> FirstWireBatch(
    const pb::BatchArrowRecords& bar, PayloadType type) {
  for (const auto& payload : bar.arrow_payloads()) {
    if (static_cast<PayloadType>(payload.type()) != type) continue;
    auto input = std::make_shared<arrow::io::BufferReader>(
        arrow::Buffer::FromString(payload.record()));
    ARROW_ASSIGN_OR_RAISE(auto reader, arrow::ipc::RecordBatchStreamReader::Open(input));
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (!batch) return arrow::Status::Invalid("payload without a record batch");
    return batch;
  }
  return nullptr;
}

class StreamEncoderSignalTest : public ::testing::TestWithParam<Signal> {};

// Scenario: several generated batches of one signal encoded on one stream and fed
// to our receiver's decoder in order (IPC state, dictionaries and ids carried
// across messages).
// Guarantees: each decodes to exactly the batch that was encoded; batch ids are the
// given ones; the root payload comes first; schema_ids are unique across payload
// types; id fields carry `encoding` metadata; dictionary keys are UInt16.
TEST_P(StreamEncoderSignalTest, RoundTripsThroughTheDecoder) {
  const Signal signal = GetParam();
  auto batches = Generate(signal, 4);
  ASSERT_GE(batches.size(), 2u);
  StreamEncoder encoder(signal, EncodeOptions{});
  StreamDecoder decoder(signal, DecodeLimits{});
  std::map<std::string, int> type_of_schema_id;
  for (size_t i = 0; i < batches.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(std::string message,
                         encoder.Encode(batches[i], static_cast<int64_t>(i)));
    pb::BatchArrowRecords bar = Parse(message);
    ASSERT_GT(bar.arrow_payloads_size(), 0);
    EXPECT_EQ(static_cast<PayloadType>(bar.arrow_payloads(0).type()),
              RootPayloadType(signal));
    for (const auto& payload : bar.arrow_payloads()) {
      auto [it, inserted] =
          type_of_schema_id.emplace(payload.schema_id(), payload.type());
      EXPECT_EQ(it->second, payload.type()) << "schema_id " << payload.schema_id();
      EXPECT_FALSE(payload.record().empty());
    }
    DecodedBar decoded = decoder.Decode(message);
    ASSERT_OK(decoded.status);
    ASSERT_EQ(decoded.batch_id, static_cast<int64_t>(i));
    ASSERT_TRUE(decoded.batch.has_value());
    ExpectSameTables(batches[i], *decoded.batch);
  }
  EXPECT_EQ(encoder.stats().schemas, static_cast<int64_t>(type_of_schema_id.size()));
}

INSTANTIATE_TEST_SUITE_P(Signals, StreamEncoderSignalTest,
                         ::testing::Values(Signal::kLogs, Signal::kTraces,
                                           Signal::kMetrics));

// Scenario: the same logs batches encoded with zstd's fastest allowed level (-7)
// and a high one (19) for the IPC bodies.
// Guarantees: the level reaches the codec (the high level's messages are smaller) and
// both decode to exactly the batches encoded.
TEST(StreamEncoderTest, PayloadZstdLevelReachesTheWire) {
  auto batches = Generate(Signal::kLogs, 3);
  size_t sizes[2] = {0, 0};
  const int levels[2] = {-7, 19};
  for (int l = 0; l < 2; ++l) {
    StreamEncoder encoder(Signal::kLogs, EncodeOptions{.payload_zstd_level = levels[l]});
    StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
    for (size_t i = 0; i < batches.size(); ++i) {
      ASSERT_OK_AND_ASSIGN(std::string message,
                           encoder.Encode(batches[i], static_cast<int64_t>(i)));
      sizes[l] += message.size();
      DecodedBar decoded = decoder.Decode(message);
      ASSERT_OK(decoded.status);
      ASSERT_TRUE(decoded.batch.has_value());
      ExpectSameTables(batches[i], *decoded.batch);
    }
  }
  EXPECT_LT(sizes[1], sizes[0]);
}

// Scenario: the first message of a logs stream, read with Arrow's own IPC reader.
// Guarantees: the root's id fields say how they are encoded, attribute key/str are
// Dictionary<UInt16, Utf8>, no schema metadata is sent.
TEST(StreamEncoderTest, WireSchemaFollowsTheSpec) {
  auto batches = Generate(Signal::kLogs, 1);
  ASSERT_FALSE(batches.empty());
  StreamEncoder encoder(Signal::kLogs, EncodeOptions{});
  ASSERT_OK_AND_ASSIGN(std::string message, encoder.Encode(batches[0], 0));
  pb::BatchArrowRecords bar = Parse(message);
  for (const auto& payload : bar.arrow_payloads()) {
    std::shared_ptr<arrow::Schema> schema;
    ASSERT_OK(ReadIpc(payload.record(), &schema).status());
    EXPECT_EQ(schema->metadata(), nullptr);
    const auto type = static_cast<PayloadType>(payload.type());
    if (type == PayloadType::kLogs) {
      auto id = schema->GetFieldByName("id");
      ASSERT_NE(id, nullptr);
      ASSERT_NE(id->metadata(), nullptr);
      EXPECT_EQ(id->metadata()->Get(kEncodingMetadataKey).ValueOr(""), kEncodingDelta);
    }
    if (type == PayloadType::kLogAttrs) {
      auto parent = schema->GetFieldByName("parent_id");
      ASSERT_NE(parent->metadata(), nullptr);
      EXPECT_EQ(parent->metadata()->Get(kEncodingMetadataKey).ValueOr(""),
                kEncodingQuasiDelta);
      EXPECT_TRUE(schema->GetFieldByName("key")->type()->Equals(
          arrow::dictionary(arrow::uint16(), arrow::utf8())));
    }
  }
}

// Scenario: generated logs and traces, two messages each on one stream.
// Guarantees: the root's repeated strings (scope name and version, schema URLs,
// severity text, span name) go out as Dictionary<UInt16, Utf8>, including inside
// the resource / scope structs, `body.str` stays native; both messages decode to
// what was encoded (the second with dictionary deltas only).
TEST(StreamEncoderTest, RootStringsAreDictionaries) {
  const auto dict = arrow::dictionary(arrow::uint16(), arrow::utf8());
  for (Signal signal : {Signal::kLogs, Signal::kTraces}) {
    SCOPED_TRACE(SignalName(signal));
    auto batches = Generate(signal, 2);
    ASSERT_GE(batches.size(), 2u);
    StreamEncoder encoder(signal, EncodeOptions{});
    StreamDecoder decoder(signal, DecodeLimits{});
    for (int64_t i = 0; i < 2; ++i) {
      ASSERT_OK_AND_ASSIGN(std::string message, encoder.Encode(batches[i], i));
      if (i == 0) {
        auto schemas = StartedSchemas(Parse(message));
        const auto root = RootPayloadType(signal);
        ASSERT_TRUE(schemas.count(root));
        const auto& schema = *schemas[root];
        auto scope = schema.GetFieldByName("scope");
        ASSERT_NE(scope, nullptr);
        auto scope_name =
            static_cast<const arrow::StructType&>(*scope->type()).GetFieldByName("name");
        ASSERT_NE(scope_name, nullptr);
        EXPECT_TRUE(scope_name->type()->Equals(dict)) << scope_name->ToString();
        const char* name = signal == Signal::kLogs ? "severity_text" : "name";
        ASSERT_NE(schema.GetFieldByName(name), nullptr) << name;
        EXPECT_TRUE(schema.GetFieldByName(name)->type()->Equals(dict)) << name;
        if (signal == Signal::kLogs) {
          auto body = schema.GetFieldByName("body");
          ASSERT_NE(body, nullptr);
          auto str =
              static_cast<const arrow::StructType&>(*body->type()).GetFieldByName("str");
          ASSERT_NE(str, nullptr);
          EXPECT_EQ(str->type()->id(), arrow::Type::STRING);
        }
      }
      DecodedBar decoded = decoder.Decode(message);
      ASSERT_OK(decoded.status);
      ASSERT_TRUE(decoded.batch.has_value());
      ExpectSameTables(batches[i], *decoded.batch);
    }
  }
}

// A logs batch of one record with `n` string attributes, values `prefix`0..n-1.
OtapBatch WithStringAttributes(const OtapBatch& logs, int64_t n,
                               const std::string& prefix) {
  OtapBatch out(Signal::kLogs);
  out.Set(PayloadType::kLogs, logs.root()->Slice(0, 1));
  const auto& schema = schema::CanonicalSchema(PayloadType::kLogAttrs);
  std::vector<std::shared_ptr<arrow::Array>> columns;
  const uint16_t parent =
      std::static_pointer_cast<arrow::UInt16Array>(logs.root()->GetColumnByName("id"))
          ->Value(0);
  for (const auto& field : schema->fields()) {
    if (field->name() == "parent_id") {
      arrow::UInt16Builder b;
      for (int64_t i = 0; i < n; ++i) EXPECT_TRUE(b.Append(parent).ok());
      columns.push_back(b.Finish().ValueOrDie());
    } else if (field->name() == "key" || field->name() == "str") {
      arrow::StringBuilder b;
      for (int64_t i = 0; i < n; ++i) {
        EXPECT_TRUE(b.Append(field->name() == "key" ? "k" + std::to_string(i % 7)
                                                    : prefix + std::to_string(i))
                        .ok());
      }
      columns.push_back(b.Finish().ValueOrDie());
    } else if (field->name() == "type") {
      arrow::UInt8Builder b;
      for (int64_t i = 0; i < n; ++i) EXPECT_TRUE(b.Append(1).ok());
      columns.push_back(b.Finish().ValueOrDie());
    } else {
      columns.push_back(arrow::MakeArrayOfNull(field->type(), n).ValueOrDie());
    }
  }
  out.Set(PayloadType::kLogAttrs, arrow::RecordBatch::Make(schema, n, columns));
  return out;
}

// Scenario: attribute batches whose `int`, `double`, `bool`, `bytes` and `ser` are
// all null (1), then one with an int value (2), then all null again (3).
// Guarantees: (1) sends none of those optional columns (the required `parent_id`,
// `key`, `type` stay); (2) starts a new IPC stream with `int`; (3) keeps `int` (all
// null) on that stream instead of starting another; every batch decodes to what was
// encoded (absent columns read back as all null).
TEST(StreamEncoderTest, LeavesOutAllNullOptionalColumns) {
  auto logs = Generate(Signal::kLogs, 1);
  ASSERT_FALSE(logs.empty());
  OtapBatch all_null = WithStringAttributes(logs[0], 100, "a");
  OtapBatch with_int = all_null;
  {
    auto attrs = with_int.Get(PayloadType::kLogAttrs);
    arrow::UInt8Builder types;
    arrow::StringBuilder strs;
    arrow::Int64Builder ints;
    for (int64_t i = 0; i < attrs->num_rows(); ++i) {
      ASSERT_OK(types.Append(i == 0 ? 2 : 1));
      ASSERT_OK(i == 0 ? strs.AppendNull() : strs.Append("a" + std::to_string(i)));
      ASSERT_OK(i == 0 ? ints.Append(5) : ints.AppendNull());
    }
    for (auto& [name, builder] :
         std::vector<std::pair<std::string, arrow::ArrayBuilder*>>{
             {"type", &types}, {"str", &strs}, {"int", &ints}}) {
      ASSERT_OK_AND_ASSIGN(auto array, builder->Finish());
      const int index = attrs->schema()->GetFieldIndex(name);
      ASSERT_OK_AND_ASSIGN(attrs,
                           attrs->SetColumn(index, attrs->schema()->field(index), array));
    }
    with_int.Set(PayloadType::kLogAttrs, attrs);
  }
  StreamEncoder encoder(Signal::kLogs, EncodeOptions{});
  std::vector<pb::BatchArrowRecords> bars;
  ASSERT_NO_FATAL_FAILURE(EncodeAll(&encoder, {all_null, with_int, all_null}, &bars));
  for (size_t i = 0; i < bars.size(); ++i) {
    SCOPED_TRACE(i);
    auto schemas = StartedSchemas(bars[i]);
    if (i < 2) {
      ASSERT_TRUE(schemas.count(PayloadType::kLogAttrs));
      const auto& schema = *schemas[PayloadType::kLogAttrs];
      for (const char* name : {"parent_id", "key", "type", "str"}) {
        EXPECT_NE(schema.GetFieldByName(name), nullptr) << name;
      }
      for (const char* name : {"double", "bool", "bytes", "ser"}) {
        EXPECT_EQ(schema.GetFieldByName(name), nullptr) << name;
      }
      EXPECT_EQ(schema.GetFieldByName("int") != nullptr, i == 1);
    } else {
      EXPECT_FALSE(schemas.count(PayloadType::kLogAttrs));  // same IPC stream
    }
  }
  const auto schema_ids = SchemaIdsOf(bars, PayloadType::kLogAttrs);
  ASSERT_EQ(schema_ids.size(), 3u);
  EXPECT_NE(schema_ids[0], schema_ids[1]);
  EXPECT_EQ(schema_ids[1], schema_ids[2]);
}

// Scenario: a logs batch whose bodies are all strings and whose `event_name` is
// null, encoded as a slice (offset into the row group, as a replay hands it out).
// Guarantees: the body struct goes out with `type` (required) and `str` only, and
// `event_name` is absent; the batch decodes to what was encoded.
TEST(StreamEncoderTest, LeavesOutAllNullStructChildren) {
  auto logs = Generate(Signal::kLogs, 1);
  ASSERT_FALSE(logs.empty());
  auto root = logs[0].root();
  const int64_t rows = root->num_rows();
  ASSERT_GT(rows, 4);
  arrow::UInt8Builder types;
  arrow::StringBuilder strs;
  for (int64_t i = 0; i < rows; ++i) {
    ASSERT_OK(types.Append(1));
    ASSERT_OK(i % 3 == 0 ? strs.AppendNull() : strs.Append("b" + std::to_string(i)));
  }
  ASSERT_OK_AND_ASSIGN(auto type_array, types.Finish());
  ASSERT_OK_AND_ASSIGN(auto str_array, strs.Finish());
  const auto& body_type = static_cast<const arrow::StructType&>(
      *root->schema()->GetFieldByName("body")->type());
  arrow::ArrayVector children;
  for (const auto& child : body_type.fields()) {
    if (child->name() == "type") {
      children.push_back(type_array);
    } else if (child->name() == "str") {
      children.push_back(str_array);
    } else {
      ASSERT_OK_AND_ASSIGN(auto nulls, arrow::MakeArrayOfNull(child->type(), rows));
      children.push_back(nulls);
    }
  }
  // Every fourth body null, so that the struct's own validity moves with the slice.
  arrow::BooleanBuilder valid;
  for (int64_t i = 0; i < rows; ++i) ASSERT_OK(valid.Append(i % 4 != 1));
  ASSERT_OK_AND_ASSIGN(auto valid_array, valid.Finish());
  auto body = std::make_shared<arrow::StructArray>(
      root->schema()->GetFieldByName("body")->type(), rows, children,
      valid_array->data()->buffers[1]);
  const int body_index = root->schema()->GetFieldIndex("body");
  ASSERT_OK_AND_ASSIGN(
      root, root->SetColumn(body_index, root->schema()->field(body_index), body));
  const int event_index = root->schema()->GetFieldIndex("event_name");
  ASSERT_OK_AND_ASSIGN(auto no_events, arrow::MakeArrayOfNull(arrow::utf8(), rows));
  ASSERT_OK_AND_ASSIGN(
      root, root->SetColumn(event_index, root->schema()->field(event_index), no_events));
  OtapBatch batch(Signal::kLogs);
  batch.Set(PayloadType::kLogs, root->Slice(3, rows - 3));
  StreamEncoder encoder(Signal::kLogs, EncodeOptions{});
  StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
  ASSERT_OK_AND_ASSIGN(std::string message, encoder.Encode(batch, 0));
  auto schemas = StartedSchemas(Parse(message));
  ASSERT_TRUE(schemas.count(PayloadType::kLogs));
  const auto& schema = *schemas[PayloadType::kLogs];
  EXPECT_EQ(schema.GetFieldByName("event_name"), nullptr);
  auto wire_body = schema.GetFieldByName("body");
  ASSERT_NE(wire_body, nullptr);
  ASSERT_EQ(wire_body->type()->num_fields(), 2);
  EXPECT_EQ(wire_body->type()->field(0)->name(), "type");
  EXPECT_EQ(wire_body->type()->field(1)->name(), "str");
  DecodedBar decoded = decoder.Decode(message);
  ASSERT_OK(decoded.status);
  ASSERT_TRUE(decoded.batch.has_value());
  ExpectSameTables(batch, *decoded.batch);
}

// Scenario: three batches on one stream whose attribute values are (1) new, (2)
// partly known and partly new, (3) so many new ones that the UInt16 dictionary is
// full, then (4) more distinct values than UInt16 keys address.
// Guarantees: (2) is sent as a dictionary delta, (3) as a replacement dictionary in
// the same IPC stream, (4) as a native column under a new schema_id; every batch
// decodes to what was encoded (our decoder), and Arrow's reader reads the stream.
TEST(StreamEncoderTest, DictionaryDeltasAndReplacements) {
  auto logs = Generate(Signal::kLogs, 1);
  ASSERT_FALSE(logs.empty());
  const std::vector<OtapBatch> batches = {WithStringAttributes(logs[0], 100, "a"),
                                          WithStringAttributes(logs[0], 200, "a"),
                                          WithStringAttributes(logs[0], 65400, "b"),
                                          WithStringAttributes(logs[0], 70000, "c")};
  StreamEncoder encoder(Signal::kLogs, EncodeOptions{});
  std::vector<pb::BatchArrowRecords> bars;
  ASSERT_NO_FATAL_FAILURE(EncodeAll(&encoder, batches, &bars));
  std::map<std::string, std::string> ipc_by_schema_id;
  std::string attrs_schema_id;
  for (size_t i = 0; i < bars.size(); ++i) {
    SCOPED_TRACE(i);
    for (const auto& payload : bars[i].arrow_payloads()) {
      if (static_cast<PayloadType>(payload.type()) != PayloadType::kLogAttrs) continue;
      if (i == 3) {
        EXPECT_NE(payload.schema_id(), attrs_schema_id);
      } else {
        if (i > 0) {
          EXPECT_EQ(payload.schema_id(), attrs_schema_id);
        }
        attrs_schema_id = payload.schema_id();
      }
      ipc_by_schema_id[payload.schema_id()] += payload.record();
    }
  }
  std::shared_ptr<arrow::Schema> schema;
  ASSERT_OK_AND_ASSIGN(auto stats, ReadIpc(ipc_by_schema_id[attrs_schema_id], &schema));
  EXPECT_GE(stats.num_dictionary_deltas, 1);
  EXPECT_GE(stats.num_replaced_dictionaries, 1);
  EXPECT_EQ(encoder.stats().dictionary_resets, 2);  // `str` in (3) and (4)
}

// Scenario: an attribute `str` column whose values are mostly new in every batch, so
// its dictionary fills up and is replaced twice, then a small batch.
// Guarantees: from the batch after the second replacement on, `str` is sent native
// under a new schema_id (`key` stays a dictionary), counted once; every batch
// decodes to what was sent.
TEST(StreamEncoderTest, ColumnGoesNativeAfterTwoReplacements) {
  auto logs = Generate(Signal::kLogs, 1);
  ASSERT_FALSE(logs.empty());
  const std::vector<OtapBatch> batches = {WithStringAttributes(logs[0], 40000, "a"),
                                          WithStringAttributes(logs[0], 40000, "b"),
                                          WithStringAttributes(logs[0], 40000, "c"),
                                          WithStringAttributes(logs[0], 100, "a")};
  StreamEncoder encoder(Signal::kLogs, EncodeOptions{});
  std::vector<pb::BatchArrowRecords> bars;
  ASSERT_NO_FATAL_FAILURE(EncodeAll(&encoder, batches, &bars));
  for (size_t i = 0; i < bars.size(); ++i) {
    SCOPED_TRACE(i);
    for (const auto& payload : bars[i].arrow_payloads()) {
      if (static_cast<PayloadType>(payload.type()) != PayloadType::kLogAttrs) continue;
      std::shared_ptr<arrow::Schema> schema;
      if (i == 0 || i == 3) {  // the messages that start an IPC stream
        ASSERT_OK(ReadIpc(payload.record(), &schema).status());
        EXPECT_EQ(schema->GetFieldByName("key")->type()->id(), arrow::Type::DICTIONARY);
        EXPECT_EQ(schema->GetFieldByName("str")->type()->id(),
                  i == 0 ? arrow::Type::DICTIONARY : arrow::Type::STRING);
      }
    }
  }
  const auto schema_ids = SchemaIdsOf(bars, PayloadType::kLogAttrs);
  ASSERT_EQ(schema_ids.size(), 4u);
  EXPECT_EQ(schema_ids[0], schema_ids[2]);
  EXPECT_NE(schema_ids[2], schema_ids[3]);
  EXPECT_EQ(encoder.stats().dictionary_resets, 2);
  EXPECT_EQ(encoder.stats().native_columns, 1);
}

// Scenario: attribute rows as a replay reads them: each parent has the same keys in
// the same order, values repeat a parent apart, some are null, some unique.
// Guarantees: the dictionary shortcuts (previous row, the value that followed the
// previous one last time) map every row to its own value, also in a slice whose
// nulls start mid-byte and when the keys change order: each batch decodes to what
// was sent.
TEST(StreamEncoderTest, RepeatingAttributeRowsRoundTrip) {
  auto logs = Generate(Signal::kLogs, 1);
  ASSERT_FALSE(logs.empty());
  OtapBatch batch = WithStringAttributes(logs[0], 3000, "x");
  arrow::StringBuilder keys, strs;
  for (int64_t i = 0; i < 3000; ++i) {
    const int64_t k = i % 10;
    ASSERT_OK(keys.Append("k" + std::to_string(k)));
    if (k == 3) {
      ASSERT_OK(strs.AppendNull());
    } else if (k < 6) {
      ASSERT_OK(strs.Append("v" + std::to_string(k) + std::to_string(i / 40 % 3)));
    } else {
      ASSERT_OK(
          strs.Append(k == 7 ? "v0" + std::to_string(i / 10 % 3) : std::to_string(i)));
    }
  }
  auto attrs = batch.Get(PayloadType::kLogAttrs);
  ASSERT_OK_AND_ASSIGN(auto key_array, keys.Finish());
  ASSERT_OK_AND_ASSIGN(auto str_array, strs.Finish());
  ASSERT_OK_AND_ASSIGN(
      attrs, attrs->SetColumn(attrs->schema()->GetFieldIndex("key"),
                              attrs->schema()->GetFieldByName("key"), key_array));
  ASSERT_OK_AND_ASSIGN(
      attrs, attrs->SetColumn(attrs->schema()->GetFieldIndex("str"),
                              attrs->schema()->GetFieldByName("str"), str_array));
  batch.Set(PayloadType::kLogAttrs, attrs);
  StreamEncoder encoder(Signal::kLogs, EncodeOptions{});
  StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
  for (int64_t i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(std::string message, encoder.Encode(batch, i));
    DecodedBar decoded = decoder.Decode(message);
    ASSERT_OK(decoded.status);
    ASSERT_TRUE(decoded.batch.has_value());
    ExpectSameTables(batch, *decoded.batch);
  }
  // Replayed tables are slices: an offset that is not a whole byte of the validity
  // bitmap, on the same stream (the dictionary grows by a delta, or not at all).
  OtapBatch sliced = batch;
  sliced.Set(PayloadType::kLogAttrs, attrs->Slice(5, 2000));
  ASSERT_OK_AND_ASSIGN(std::string message, encoder.Encode(sliced, 2));
  DecodedBar decoded = decoder.Decode(message);
  ASSERT_OK(decoded.status);
  ASSERT_TRUE(decoded.batch.has_value());
  ExpectSameTables(sliced, *decoded.batch);
  // The keys in another order (every guess of the previous order wrong), a key
  // new to the stream among them.
  arrow::StringBuilder reordered;
  for (int64_t i = 0; i < 3000; ++i) {
    const int64_t k = i % 10;
    ASSERT_OK(
        reordered.Append(k == 4 ? std::string("new") : "k" + std::to_string(9 - k)));
  }
  ASSERT_OK_AND_ASSIGN(auto reordered_array, reordered.Finish());
  ASSERT_OK_AND_ASSIGN(
      auto reordered_attrs,
      attrs->SetColumn(attrs->schema()->GetFieldIndex("key"),
                       attrs->schema()->GetFieldByName("key"), reordered_array));
  batch.Set(PayloadType::kLogAttrs, reordered_attrs);
  ASSERT_OK_AND_ASSIGN(message, encoder.Encode(batch, 3));
  decoded = decoder.Decode(message);
  ASSERT_OK(decoded.status);
  ASSERT_TRUE(decoded.batch.has_value());
  ExpectSameTables(batch, *decoded.batch);
}

// Scenario: a batch far larger than the message size limit.
// Guarantees: it is split into parts under the estimate, each encodes and decodes,
// and together they hold every log record of the batch.
TEST(StreamEncoderTest, SplitsForTheMessageSize) {
  auto logs = Generate(Signal::kLogs, 1);
  ASSERT_FALSE(logs.empty());
  const OtapBatch& batch = logs[0];
  const int64_t size = EstimateEncodedSize(batch);
  ASSERT_OK_AND_ASSIGN(auto parts, SplitForMessageSize(batch, size / 4));
  EXPECT_GE(parts.size(), 4u);
  StreamEncoder encoder(Signal::kLogs, EncodeOptions{});
  StreamDecoder decoder(Signal::kLogs, DecodeLimits{});
  int64_t rows = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].num_root_rows() > 1) {
      EXPECT_LE(EstimateEncodedSize(parts[i]), size / 4);
    }
    ASSERT_OK_AND_ASSIGN(std::string message,
                         encoder.Encode(parts[i], static_cast<int64_t>(i)));
    DecodedBar decoded = decoder.Decode(message);
    ASSERT_OK(decoded.status);
    ExpectSameTables(parts[i], *decoded.batch);
    rows += parts[i].num_root_rows();
  }
  EXPECT_EQ(rows, batch.num_root_rows());
  ASSERT_OK_AND_ASSIGN(auto whole, SplitForMessageSize(batch, size));
  EXPECT_EQ(whole.size(), 1u);
}

// Scenario: two log records that are a slice of a large batch (as receiver:parquet
// hands out slices of a decoded row group), with a limit far below the large
// batch's buffers but above what the two rows use.
// Guarantees: not split (the estimate counts what the slice references).
TEST(StreamEncoderTest, SlicesAreNotSplitByTheirParentsSize) {
  auto logs = Generate(Signal::kLogs, 1);
  ASSERT_FALSE(logs.empty());
  ASSERT_GT(logs[0].num_root_rows(), 10);
  OtapBatch whole(Signal::kLogs);
  whole.Set(PayloadType::kLogs, logs[0].root());
  OtapBatch two(Signal::kLogs);
  two.Set(PayloadType::kLogs, logs[0].root()->Slice(0, 2));
  constexpr int64_t kFraming = 4096;  // per table, in the estimate
  const int64_t limit = (EstimateEncodedSize(whole) - kFraming) / 4 + kFraming;
  ASSERT_LT(EstimateEncodedSize(two), limit);
  ASSERT_OK_AND_ASSIGN(auto parts, SplitForMessageSize(two, limit));
  EXPECT_EQ(parts.size(), 1u);
}

// Scenario: a message is encoded and not sent (too large), the encoder is reset,
// and the stream goes on with the next messages.
// Guarantees: the peer's decoder, which never saw the dropped message, decodes
// every later message (new schema_ids replace its decoders).
TEST(StreamEncoderTest, ResetAfterAnUnsentMessage) {
  auto batches = Generate(Signal::kTraces, 3);
  ASSERT_GE(batches.size(), 3u);
  StreamEncoder encoder(Signal::kTraces, EncodeOptions{});
  StreamDecoder decoder(Signal::kTraces, DecodeLimits{});
  ASSERT_OK_AND_ASSIGN(std::string first, encoder.Encode(batches[0], 0));
  ASSERT_OK(decoder.Decode(first).status);
  ASSERT_OK_AND_ASSIGN(std::string dropped, encoder.Encode(batches[1], 1));
  encoder.Reset();
  for (int64_t i = 1; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(std::string message, encoder.Encode(batches[i], i));
    DecodedBar decoded = decoder.Decode(message);
    ASSERT_OK(decoded.status);
    ExpectSameTables(batches[i], *decoded.batch);
  }
}

// Scenario: a batch without log records, and one of another signal.
// Guarantees: neither is encoded (peers refuse an empty BatchArrowRecords).
TEST(StreamEncoderTest, RefusesEmptyAndForeignBatches) {
  StreamEncoder encoder(Signal::kLogs, EncodeOptions{});
  EXPECT_FALSE(encoder.Encode(OtapBatch(Signal::kLogs), 0).ok());
  auto spans = Generate(Signal::kTraces, 1);
  ASSERT_FALSE(spans.empty());
  EXPECT_FALSE(encoder.Encode(spans[0], 0).ok());
}

// Scenario: metrics with METRIC_ATTRS encoded with send_metric_attrs off (for Go
// receivers up to v0.148.0).
// Guarantees: no METRIC_ATTRS payload is sent and the rows are counted.
TEST(StreamEncoderTest, LeavesOutMetricAttrsWhenAsked) {
  auto metrics = Generate(Signal::kMetrics, 6);
  EncodeOptions options;
  options.send_metric_attrs = false;
  StreamEncoder encoder(Signal::kMetrics, options);
  int64_t expected = 0;
  for (size_t i = 0; i < metrics.size(); ++i) {
    if (auto attrs = metrics[i].Get(PayloadType::kMetricAttrs)) {
      expected += attrs->num_rows();
    }
    ASSERT_OK_AND_ASSIGN(std::string message,
                         encoder.Encode(metrics[i], static_cast<int64_t>(i)));
    const pb::BatchArrowRecords bar = Parse(message);
    for (const auto& payload : bar.arrow_payloads()) {
      EXPECT_NE(static_cast<PayloadType>(payload.type()), PayloadType::kMetricAttrs);
    }
  }
  EXPECT_EQ(encoder.stats().metric_attrs_dropped, expected);
}

// Scenario: gauge exemplars with and without trace/span ids (Go's consumer fails
// the stream on an exemplar whose ids are null or whose id columns are missing).
// Guarantees: on the wire every exemplar has an 8-byte span_id and a 16-byte
// trace_id, zero bytes where absent; our decoder reads them back as absent, so the
// telemetry round-trips.
TEST(StreamEncoderTest, AbsentExemplarIdsAreSentAsZeroBytes) {
  otlp::MetricsRequest request;
  auto* metric = request.add_resource_metrics()->add_scope_metrics()->add_metrics();
  metric->set_name("g");
  auto* point = metric->mutable_gauge()->add_data_points();
  point->set_as_int(1);
  point->add_exemplars()->set_as_int(2);  // no ids
  auto* with_ids = point->add_exemplars();
  with_ids->set_as_double(3);
  with_ids->set_trace_id(std::string(16, 'T'));
  with_ids->set_span_id(std::string(8, 'S'));
  ASSERT_OK_AND_ASSIGN(auto batches, otlp::MetricsToOtap(request));
  ASSERT_EQ(batches.size(), 1u);
  StreamEncoder encoder(Signal::kMetrics, EncodeOptions{});
  ASSERT_OK_AND_ASSIGN(std::string message, encoder.Encode(batches[0], 0));
  ASSERT_OK_AND_ASSIGN(auto wire,
                       FirstWireBatch(Parse(message), PayloadType::kNumberDpExemplars));
  ASSERT_NE(wire, nullptr);
  for (const auto& [name, width] :
       std::vector<std::pair<std::string, int>>{{"span_id", 8}, {"trace_id", 16}}) {
    SCOPED_TRACE(name);
    auto column = wire->GetColumnByName(name);
    ASSERT_NE(column, nullptr);
    EXPECT_EQ(column->null_count(), 0);
    EXPECT_TRUE(column->type()->Equals(arrow::fixed_size_binary(width)));
    std::set<std::string> values;
    const auto& ids = static_cast<const arrow::FixedSizeBinaryArray&>(*column);
    for (int64_t i = 0; i < ids.length(); ++i) values.insert(ids.GetString(i));
    EXPECT_EQ(values.count(std::string(static_cast<size_t>(width), '\0')), 1u);
  }
  StreamDecoder decoder(Signal::kMetrics, DecodeLimits{});
  DecodedBar decoded = decoder.Decode(message);
  ASSERT_OK(decoded.status);
  ASSERT_TRUE(decoded.batch.has_value());
  ASSERT_OK_AND_ASSIGN(auto back, otlp::OtapToMetrics(*decoded.batch));
  ASSERT_OK(otlp::CheckEquivalent(otlp::OtlpRequest(request), otlp::OtlpRequest(back)));
}

// Parent ids of an exemplar payload as Go's consumer decodes them (otel-arrow/go
// v0.46.0 metrics/otlp/exemplar.go ExemplarParentIdDecoder.Decode): a row without a
// value is always a delta; a valued row is a delta when the previous valued row had
// the same type and value.
std::vector<uint32_t> GoExemplarParentIds(const arrow::RecordBatch& wire) {
  const auto& parent =
      static_cast<const arrow::UInt32Array&>(*wire.GetColumnByName("parent_id"));
  const auto ints = wire.GetColumnByName("int_value");
  const auto doubles = wire.GetColumnByName("double_value");
  std::vector<uint32_t> out;
  enum { kUndefined, kInt, kDouble } previous_type = kUndefined;
  int64_t previous_int = 0;
  double previous_double = 0;
  uint32_t previous_parent = 0;
  for (int64_t i = 0; i < wire.num_rows(); ++i) {
    const uint32_t value = parent.Value(i);
    if (ints && ints->IsValid(i)) {
      const int64_t v = static_cast<const arrow::Int64Array&>(*ints).Value(i);
      previous_parent =
          previous_type == kInt && previous_int == v ? previous_parent + value : value;
      previous_type = kInt;
      previous_int = v;
    } else if (doubles && doubles->IsValid(i)) {
      const double v = static_cast<const arrow::DoubleArray&>(*doubles).Value(i);
      previous_parent = previous_type == kDouble && previous_double == v
                            ? previous_parent + value
                            : value;
      previous_type = kDouble;
      previous_double = v;
    } else {
      previous_parent += value;
    }
    out.push_back(previous_parent);
  }
  return out;
}

// Scenario: data points whose exemplars without a value come after valued ones
// (Go's consumer reads such a row's parent id as a delta from the previous row; we
// and Rust only after another valueless row).
// Guarantees: valueless exemplars are sent first, so Go's decoding of the parent ids
// equals ours; the batch decodes to the same telemetry.
TEST(StreamEncoderTest, ValuelessExemplarsFirstSoGoAgreesOnParents) {
  otlp::MetricsRequest request;
  auto* metric = request.add_resource_metrics()->add_scope_metrics()->add_metrics();
  metric->set_name("g");
  for (int p = 0; p < 3; ++p) {
    auto* point = metric->mutable_gauge()->add_data_points();
    point->set_as_int(p);
    point->add_exemplars()->set_as_int(7);
    point->add_exemplars()->set_time_unix_nano(static_cast<uint64_t>(p + 1));  // none
  }
  ASSERT_OK_AND_ASSIGN(auto batches, otlp::MetricsToOtap(request));
  StreamEncoder encoder(Signal::kMetrics, EncodeOptions{});
  ASSERT_OK_AND_ASSIGN(std::string message, encoder.Encode(batches[0], 0));
  StreamDecoder decoder(Signal::kMetrics, DecodeLimits{});
  DecodedBar decoded = decoder.Decode(message);
  ASSERT_OK(decoded.status);
  ASSERT_TRUE(decoded.batch.has_value());
  ASSERT_OK_AND_ASSIGN(auto wire,
                       FirstWireBatch(Parse(message), PayloadType::kNumberDpExemplars));
  ASSERT_NE(wire, nullptr);
  const auto& ours = static_cast<const arrow::UInt32Array&>(
      *decoded.batch->Get(PayloadType::kNumberDpExemplars)->GetColumnByName("parent_id"));
  std::vector<uint32_t> expected;
  for (int64_t i = 0; i < ours.length(); ++i) expected.push_back(ours.Value(i));
  EXPECT_EQ(GoExemplarParentIds(*wire), expected);
  ASSERT_OK_AND_ASSIGN(auto back, otlp::OtapToMetrics(*decoded.batch));
  ASSERT_OK(otlp::CheckEquivalent(otlp::OtlpRequest(request), otlp::OtlpRequest(back)));
}

// Scenario: a data point with three exemplars, only the middle one with attributes;
// a span with three events and two links, only one of each with attributes; sent
// with the Rust dialect and with Go's.
// Guarantees: with Rust's, the rows without attributes go with a null id (df_engine's
// attribute cursor loses the attributes of a later id after a lookup that finds
// none, otlp/common.rs:1088-1098), the others keep theirs; Go's keeps every id; both
// decode to the same telemetry.
TEST(StreamEncoderTest, RowsWithoutAttributesHaveNoIdForRust) {
  otlp::MetricsRequest metrics;
  auto* metric = metrics.add_resource_metrics()->add_scope_metrics()->add_metrics();
  metric->set_name("g");
  auto* point = metric->mutable_gauge()->add_data_points();
  point->set_as_int(1);
  for (int e = 0; e < 3; ++e) {
    auto* exemplar = point->add_exemplars();
    exemplar->set_as_int(e);
    if (e == 1) {
      auto* kv = exemplar->add_filtered_attributes();
      kv->set_key("k");
      kv->mutable_value()->set_string_value("v");
    }
  }
  otlp::TracesRequest traces;
  auto* span = traces.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, 'T'));
  span->set_span_id(std::string(8, 'S'));
  span->set_name("s");
  for (int e = 0; e < 3; ++e) {
    auto* event = span->add_events();
    event->set_name("e" + std::to_string(e));
    if (e == 2) {
      auto* kv = event->add_attributes();
      kv->set_key("k");
      kv->mutable_value()->set_int_value(e);
    }
  }
  for (int l = 0; l < 2; ++l) {
    auto* link = span->add_links();
    link->set_trace_id(std::string(16, static_cast<char>('a' + l)));
    link->set_span_id(std::string(8, 'L'));
    if (l == 0) {
      auto* kv = link->add_attributes();
      kv->set_key("k");
      kv->mutable_value()->set_bool_value(true);
    }
  }
  ASSERT_OK_AND_ASSIGN(auto metric_batches, otlp::MetricsToOtap(metrics));
  ASSERT_OK_AND_ASSIGN(auto trace_batches, otlp::TracesToOtap(traces));
  const std::vector<std::pair<OtapBatch, PayloadType>> tables = {
      {metric_batches[0], PayloadType::kNumberDpExemplars},
      {trace_batches[0], PayloadType::kSpanEvents},
      {trace_batches[0], PayloadType::kSpanLinks}};
  for (IdDialect dialect : {IdDialect::kRust, IdDialect::kGo}) {
    for (const auto& [batch, type] : tables) {
      SCOPED_TRACE(std::string(TableName(type)) +
                   (dialect == IdDialect::kRust ? " rust" : " go"));
      StreamEncoder encoder(batch.signal(), EncodeOptions{.id_dialect = dialect});
      ASSERT_OK_AND_ASSIGN(std::string message, encoder.Encode(batch, 0));
      StreamDecoder decoder(batch.signal(), DecodeLimits{});
      DecodedBar decoded = decoder.Decode(message);
      ASSERT_OK(decoded.status);
      ASSERT_TRUE(decoded.batch.has_value());
      const auto& ids = *decoded.batch->Get(type)->GetColumnByName("id");
      EXPECT_EQ(ids.null_count(), dialect == IdDialect::kRust ? ids.length() - 1 : 0);
      if (batch.signal() == Signal::kMetrics) {
        ASSERT_OK_AND_ASSIGN(auto back, otlp::OtapToMetrics(*decoded.batch));
        ASSERT_OK(
            otlp::CheckEquivalent(otlp::OtlpRequest(metrics), otlp::OtlpRequest(back)));
      } else {
        ASSERT_OK_AND_ASSIGN(auto back, otlp::OtapToTraces(*decoded.batch));
        ASSERT_OK(
            otlp::CheckEquivalent(otlp::OtlpRequest(traces), otlp::OtlpRequest(back)));
      }
    }
  }
}

// Scenario: a span with a link without trace and span ids and an event without a
// name, sent with the Rust dialect and with Go's.
// Guarantees: with Rust's, the columns Rust requires (span_links trace_id / span_id,
// span_events name) carry no null on the wire (Rust refuses such a batch and ends
// the stream, schema/schema.rs:280-287): zero bytes and ""; our decoder reads the
// zero ids as absent, so both dialects decode to the same telemetry.
TEST(StreamEncoderTest, RequiredColumnsHaveNoNullsForRust) {
  otlp::TracesRequest traces;
  auto* span = traces.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, 'T'));
  span->set_span_id(std::string(8, 'S'));
  span->set_name("s");
  span->add_links()->set_trace_state("no ids");
  auto* named = span->add_links();
  named->set_trace_id(std::string(16, 'a'));
  named->set_span_id(std::string(8, 'b'));
  span->add_events()->set_time_unix_nano(1);
  ASSERT_OK_AND_ASSIGN(auto batches, otlp::TracesToOtap(traces));
  // What a Go sender stores: a null event name.
  OtapBatch batch = batches[0];
  auto events = batch.Get(PayloadType::kSpanEvents);
  const int name = events->schema()->GetFieldIndex("name");
  ASSERT_OK_AND_ASSIGN(auto null_name, arrow::MakeArrayOfNull(arrow::utf8(), 1));
  ASSERT_OK_AND_ASSIGN(events, events->SetColumn(name, events->schema()->field(name),
                                                 std::move(null_name)));
  batch.Set(PayloadType::kSpanEvents, std::move(events));
  for (IdDialect dialect : {IdDialect::kRust, IdDialect::kGo}) {
    SCOPED_TRACE(dialect == IdDialect::kRust ? "rust" : "go");
    StreamEncoder encoder(Signal::kTraces, EncodeOptions{.id_dialect = dialect});
    ASSERT_OK_AND_ASSIGN(std::string message, encoder.Encode(batch, 0));
    if (dialect == IdDialect::kRust) {
      for (const auto& [type, column] : std::vector<std::pair<PayloadType, std::string>>{
               {PayloadType::kSpanLinks, "trace_id"},
               {PayloadType::kSpanLinks, "span_id"},
               {PayloadType::kSpanEvents, "name"}}) {
        SCOPED_TRACE(column);
        ASSERT_OK_AND_ASSIGN(auto wire, FirstWireBatch(Parse(message), type));
        ASSERT_NE(wire, nullptr);
        ASSERT_NE(wire->GetColumnByName(column), nullptr);
        EXPECT_EQ(wire->GetColumnByName(column)->null_count(), 0);
      }
    }
    StreamDecoder decoder(Signal::kTraces, DecodeLimits{});
    DecodedBar decoded = decoder.Decode(message);
    ASSERT_OK(decoded.status);
    ASSERT_TRUE(decoded.batch.has_value());
    ASSERT_OK_AND_ASSIGN(auto back, otlp::OtapToTraces(*decoded.batch));
    ASSERT_OK(otlp::CheckEquivalent(otlp::OtlpRequest(traces), otlp::OtlpRequest(back)));
  }
}

// Resources a, b, c of one request, one scope each (`a` and `b` with an attribute,
// `c` without), as tests/test_df_engine_interop.py's cursor_lake builds them: logs
// a and b with attributes, c without; spans a and b with an attribute and an event,
// c with a link only; gauges a and b with an attributed point, c without points, and
// histograms a and b with an attributed point, c's with an exemplar only.
template <typename Request>
Request CursorRequest();

void SetKv(opentelemetry::proto::common::v1::KeyValue* kv, const std::string& key,
           const std::string& value) {
  kv->set_key(key);
  kv->mutable_value()->set_string_value(value);
}

template <typename Resource>
void SetResourceAndScope(Resource* resource, const std::string& name) {
  // c's resource equals a's: cursor_lake points c's rows at a's resource.
  SetKv(resource->mutable_resource()->add_attributes(), "r", name == "c" ? "a" : name);
}

template <>
otlp::LogsRequest CursorRequest() {
  otlp::LogsRequest request;
  for (std::string name : {"a", "b", "c"}) {
    auto* resource = request.add_resource_logs();
    SetResourceAndScope(resource, name);
    auto* scope = resource->add_scope_logs();
    scope->mutable_scope()->set_name(name);
    if (name != "c") SetKv(scope->mutable_scope()->add_attributes(), "s", name);
    auto* log = scope->add_log_records();
    log->mutable_body()->set_string_value(name);
    if (name != "c") SetKv(log->add_attributes(), "k", name);
  }
  return request;
}

template <>
otlp::TracesRequest CursorRequest() {
  otlp::TracesRequest request;
  for (std::string name : {"a", "b", "c"}) {
    auto* resource = request.add_resource_spans();
    SetResourceAndScope(resource, name);
    auto* scope = resource->add_scope_spans();
    scope->mutable_scope()->set_name(name);
    if (name != "c") SetKv(scope->mutable_scope()->add_attributes(), "s", name);
    auto* span = scope->add_spans();
    span->set_trace_id(std::string(16, 'T'));
    span->set_span_id(std::string(8, name[0]));
    span->set_name(name);
    if (name == "c") {
      span->add_links()->set_trace_id(std::string(16, 'L'));
    } else {
      SetKv(span->add_attributes(), "k", name);
      span->add_events()->set_name("e-" + name);
    }
  }
  return request;
}

template <>
otlp::MetricsRequest CursorRequest() {
  otlp::MetricsRequest request;
  for (std::string name : {"a", "b", "c"}) {
    auto* resource = request.add_resource_metrics();
    SetResourceAndScope(resource, name);
    auto* scope = resource->add_scope_metrics();
    scope->mutable_scope()->set_name(name);
    if (name != "c") SetKv(scope->mutable_scope()->add_attributes(), "s", name);
    auto* gauge = scope->add_metrics();
    gauge->set_name("g-" + name);
    gauge->mutable_gauge();
    auto* histogram = scope->add_metrics();
    histogram->set_name("h-" + name);
    auto* point = histogram->mutable_histogram()->add_data_points();
    point->set_count(1);
    if (name == "c") {
      point->add_exemplars()->set_as_double(1.5);
    } else {
      auto* number = gauge->mutable_gauge()->add_data_points();
      number->set_as_int(1);
      SetKv(number->add_attributes(), "k", name);
      SetKv(point->add_attributes(), "k", name);
    }
  }
  return request;
}

// `batch` with resource 2's root rows pointed at resource 0 (resource 2's attributes
// dropped): roots not grouped by resource, as cursor_lake stores them.
arrow::Result<OtapBatch> ResourceTwoIntoZero(OtapBatch batch) {
  auto root = batch.root();
  const int index = root->schema()->GetFieldIndex("resource");
  const auto& resource = static_cast<const arrow::StructArray&>(*root->column(index));
  const int child = resource.struct_type()->GetFieldIndex("id");
  const auto& ids = static_cast<const arrow::UInt16Array&>(*resource.field(child));
  arrow::UInt16Builder builder;
  for (int64_t i = 0; i < ids.length(); ++i) {
    ARROW_RETURN_NOT_OK(builder.Append(ids.Value(i) == 2 ? 0 : ids.Value(i)));
  }
  ARROW_ASSIGN_OR_RAISE(auto new_ids, builder.Finish());
  arrow::ArrayVector children = resource.fields();
  children[child] = new_ids;
  ARROW_ASSIGN_OR_RAISE(
      auto new_resource,
      arrow::StructArray::Make(children, resource.struct_type()->fields()));
  ARROW_ASSIGN_OR_RAISE(
      root, root->SetColumn(index, root->schema()->field(index), new_resource));
  batch.Set(RootPayloadType(batch.signal()), root);
  auto attrs = batch.Get(PayloadType::kResourceAttrs);
  const auto& parents =
      static_cast<const arrow::UInt16Array&>(*attrs->GetColumnByName("parent_id"));
  arrow::BooleanBuilder keep;
  for (int64_t i = 0; i < parents.length(); ++i) {
    ARROW_RETURN_NOT_OK(keep.Append(parents.Value(i) != 2));
  }
  ARROW_ASSIGN_OR_RAISE(auto mask, keep.Finish());
  ARROW_ASSIGN_OR_RAISE(auto filtered, arrow::compute::Filter(attrs, mask));
  batch.Set(PayloadType::kResourceAttrs, filtered.record_batch());
  return batch;
}

// An id column's values (-1: null); `child` names a struct column's child.
std::vector<int64_t> IdsOf(const OtapBatch& batch, PayloadType type,
                           const std::string& column, const std::string& child = "") {
  std::shared_ptr<arrow::Array> ids = batch.Get(type)->GetColumnByName(column);
  if (!child.empty()) {
    ids = static_cast<const arrow::StructArray&>(*ids).GetFieldByName(child);
  }
  std::vector<int64_t> out;
  for (int64_t i = 0; i < ids->length(); ++i) {
    if (ids->IsNull(i)) {
      out.push_back(-1);
    } else if (ids->type_id() == arrow::Type::UINT16) {
      out.push_back(static_cast<const arrow::UInt16Array&>(*ids).Value(i));
    } else {
      out.push_back(static_cast<const arrow::UInt32Array&>(*ids).Value(i));
    }
  }
  return out;
}

struct ExpectedIds {
  PayloadType type;
  std::string column;
  std::string child;
  std::vector<int64_t> rust;  // as sent with the Rust dialect, in row order
};

// Encodes `batch` with each dialect and decodes it; the Rust dialect's ids must be
// `expected`, Go's those of `batch`; both must carry `batch`'s telemetry.
template <typename Request>
void ExpectIdsPerDialect(const OtapBatch& batch, const std::vector<ExpectedIds>& expected,
                         arrow::Result<Request> (*to_otlp)(const OtapBatch&)) {
  ASSERT_OK_AND_ASSIGN(auto source, to_otlp(batch));
  for (IdDialect dialect : {IdDialect::kRust, IdDialect::kGo}) {
    SCOPED_TRACE(dialect == IdDialect::kRust ? "rust" : "go");
    StreamEncoder encoder(batch.signal(), EncodeOptions{.id_dialect = dialect});
    ASSERT_OK_AND_ASSIGN(std::string message, encoder.Encode(batch, 0));
    StreamDecoder decoder(batch.signal(), DecodeLimits{});
    DecodedBar decoded = decoder.Decode(message);
    ASSERT_OK(decoded.status);
    ASSERT_TRUE(decoded.batch.has_value());
    for (const auto& ids : expected) {
      SCOPED_TRACE(std::string(TableName(ids.type)) + "." + ids.column + " " + ids.child);
      EXPECT_EQ(IdsOf(*decoded.batch, ids.type, ids.column, ids.child),
                dialect == IdDialect::kRust
                    ? ids.rust
                    : IdsOf(batch, ids.type, ids.column, ids.child));
    }
    ASSERT_OK_AND_ASSIGN(auto back, to_otlp(*decoded.batch));
    ASSERT_OK(otlp::CheckEquivalent(otlp::OtlpRequest(source), otlp::OtlpRequest(back)));
  }
}

// Scenario: logs whose roots are not grouped by resource (a's row, b's, then c's
// pointed at a's resource): df_engine visits the scopes by (resource.id, scope.id)
// values, 0 (a), 2 (c, no attributes), 1 (b); sent with each dialect.
// Guarantees: with Rust's, the scope ids ascend in that order (a 0, c 1, b 2) and
// the scope attributes follow them (a's, then b's), so df_engine's cursor, which lost
// b's after the lookup of c's found none (otlp/common.rs:1088-1098), finds every
// scope's; the root ids already ascend (c's log has no id) and stay; Go's gets the
// ids as stored; both carry the same telemetry.
TEST(StreamEncoderTest, ScopeIdsAscendInRustVisitingOrder) {
  ASSERT_OK_AND_ASSIGN(auto batches,
                       otlp::LogsToOtap(CursorRequest<otlp::LogsRequest>()));
  ASSERT_OK_AND_ASSIGN(auto batch, ResourceTwoIntoZero(batches[0]));
  ASSERT_EQ(IdsOf(batch, PayloadType::kLogs, "scope", "id"),
            (std::vector<int64_t>{0, 1, 2}));
  ExpectIdsPerDialect<otlp::LogsRequest>(
      batch,
      {{PayloadType::kLogs, "scope", "id", {0, 2, 1}},
       {PayloadType::kScopeAttrs, "parent_id", "", {0, 2}},
       {PayloadType::kLogs, "id", "", {0, 1, -1}},
       {PayloadType::kLogAttrs, "parent_id", "", {0, 1}}},
      &otlp::OtapToLogs);
}

// Scenario: traces as above: df_engine visits spans a (0), c (2: a link only), b (1).
// Guarantees: with Rust's, span ids ascend in that order (a 0, c 1, b 2) and the
// span attributes, events and links are gathered by new span id, so the lookups of
// c's attributes and events (none) no longer hide b's; Go's gets the stored ids.
TEST(StreamEncoderTest, RootIdsAscendInRustVisitingOrder) {
  ASSERT_OK_AND_ASSIGN(auto batches,
                       otlp::TracesToOtap(CursorRequest<otlp::TracesRequest>()));
  ASSERT_OK_AND_ASSIGN(auto batch, ResourceTwoIntoZero(batches[0]));
  ASSERT_EQ(IdsOf(batch, PayloadType::kSpans, "id"), (std::vector<int64_t>{0, 1, 2}));
  ExpectIdsPerDialect<otlp::TracesRequest>(
      batch,
      {{PayloadType::kSpans, "scope", "id", {0, 2, 1}},
       {PayloadType::kSpans, "id", "", {0, 2, 1}},
       {PayloadType::kSpanAttrs, "parent_id", "", {0, 2}},
       {PayloadType::kSpanEvents, "parent_id", "", {0, 2}},
       {PayloadType::kSpanLinks, "parent_id", "", {1}}},
      &otlp::OtapToTraces);
}

// Scenario: metrics as above: df_engine visits metrics g-a, h-a, g-c (no points),
// h-c, g-b, h-b (stored ids 0, 1, 4, 5, 2, 3) and histogram points a, c (exemplar
// only), b.
// Guarantees: with Rust's, metric ids ascend in that order, the data points are
// gathered by new metric id (histogram rows a, c, b) with ids ascending in that
// order, and point attributes and exemplars follow: the lookup of g-c's points no
// longer hides g-b's, nor that of c's point attributes b's; Go's gets the stored
// ids.
TEST(StreamEncoderTest, DataPointIdsAscendInRustVisitingOrder) {
  ASSERT_OK_AND_ASSIGN(auto batches,
                       otlp::MetricsToOtap(CursorRequest<otlp::MetricsRequest>()));
  ASSERT_OK_AND_ASSIGN(auto batch, ResourceTwoIntoZero(batches[0]));
  ASSERT_EQ(IdsOf(batch, PayloadType::kUnivariateMetrics, "id"),
            (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  ASSERT_EQ(IdsOf(batch, PayloadType::kHistogramDataPoints, "id"),
            (std::vector<int64_t>{0, 1, 2}));
  ExpectIdsPerDialect<otlp::MetricsRequest>(
      batch,
      {{PayloadType::kUnivariateMetrics, "id", "", {0, 1, 4, 5, 2, 3}},
       {PayloadType::kNumberDataPoints, "parent_id", "", {0, 4}},
       {PayloadType::kHistogramDataPoints, "parent_id", "", {1, 3, 5}},
       {PayloadType::kHistogramDataPoints, "id", "", {0, 1, 2}},
       {PayloadType::kHistogramDpAttrs, "parent_id", "", {0, 2}},
       {PayloadType::kHistogramDpExemplars, "parent_id", "", {1}}},
      &otlp::OtapToMetrics);
}

// Scenario: metrics as above but with resources in order, and the histogram points
// stored last first (c's, b's, a's): df_engine visits the metrics in id order and
// each metric's points in the order of its cursor over their parent ids, whose
// order among rows not sorted by parent id its unstable sort leaves unspecified.
// Guarantees: with Rust's, the points go sorted by parent id (a, b, c), ids
// ascending in that order (stored with the rows: already so), a sorted run Rust's
// sort keeps as it is; the metric ids are kept; Go's gets the rows as stored.
TEST(StreamEncoderTest, DataPointsSortedByParentForRust) {
  ASSERT_OK_AND_ASSIGN(auto batches,
                       otlp::MetricsToOtap(CursorRequest<otlp::MetricsRequest>()));
  OtapBatch batch = batches[0];
  auto points = batch.Get(PayloadType::kHistogramDataPoints);
  arrow::Int32Builder last_first;
  ASSERT_OK(last_first.AppendValues({2, 1, 0}));
  ASSERT_OK_AND_ASSIGN(auto indices, last_first.Finish());
  ASSERT_OK_AND_ASSIGN(auto reversed, arrow::compute::Take(points, indices));
  batch.Set(PayloadType::kHistogramDataPoints, reversed.record_batch());
  ASSERT_EQ(IdsOf(batch, PayloadType::kHistogramDataPoints, "parent_id"),
            (std::vector<int64_t>{5, 3, 1}));
  ExpectIdsPerDialect<otlp::MetricsRequest>(
      batch,
      {{PayloadType::kUnivariateMetrics, "id", "", {0, 1, 2, 3, 4, 5}},
       {PayloadType::kHistogramDataPoints, "parent_id", "", {1, 3, 5}},
       {PayloadType::kHistogramDataPoints, "id", "", {0, 1, 2}},
       {PayloadType::kHistogramDpAttrs, "parent_id", "", {0, 1}},
       {PayloadType::kHistogramDpExemplars, "parent_id", "", {2}}},
      &otlp::OtapToMetrics);
}

// Scenario: logs a and b stored with one id (0) for a's attribute, c without.
// Guarantees: with Rust's, each row gets its own id and the attribute is sent once
// per row (df_engine's cursor finds nothing on a second lookup of an id); Go's gets
// the shared id; both carry the same telemetry (both rows with the attribute).
TEST(StreamEncoderTest, SharedRootIdSplitForRust) {
  ASSERT_OK_AND_ASSIGN(auto batches,
                       otlp::LogsToOtap(CursorRequest<otlp::LogsRequest>()));
  OtapBatch batch = batches[0];
  auto root = batch.root();
  const int id = root->schema()->GetFieldIndex("id");
  arrow::UInt16Builder ids;
  ASSERT_OK(ids.AppendValues({0, 0}));
  ASSERT_OK(ids.AppendNull());
  ASSERT_OK_AND_ASSIGN(auto shared, ids.Finish());
  ASSERT_OK_AND_ASSIGN(root, root->SetColumn(id, root->schema()->field(id), shared));
  batch.Set(PayloadType::kLogs, root);
  batch.Set(PayloadType::kLogAttrs, batch.Get(PayloadType::kLogAttrs)->Slice(0, 1));
  ExpectIdsPerDialect<otlp::LogsRequest>(
      batch,
      {{PayloadType::kLogs, "id", "", {0, 1, -1}},
       {PayloadType::kLogAttrs, "parent_id", "", {0, 1}}},
      &otlp::OtapToLogs);
}

}  // namespace
}  // namespace otap_parquet::otap_wire
