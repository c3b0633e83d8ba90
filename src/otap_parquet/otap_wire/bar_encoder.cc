// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/otap_wire/bar_encoder.h"

#include <string_view>

#include <arrow/api.h>
#include <arrow/array/concatenate.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/api.h>
#include <arrow/util/bit_util.h>
#include <arrow/util/byte_size.h>
#include <arrow/util/compression.h>
#include <arrow/util/hashing.h>

#include "opentelemetry/proto/experimental/arrow/v1/arrow_service.pb.h"
#include "otap_parquet/pdata/ids.h"
#include "otap_parquet/pdata/otap_concat.h"

namespace otap_parquet::otap_wire {

namespace pb = opentelemetry::proto::experimental::arrow::v1;

namespace {

constexpr int64_t kMaxDictionarySize = 65536;  // UInt16 keys

bool IsAttributeTable(PayloadType type) {
  switch (type) {
    case PayloadType::kResourceAttrs:
    case PayloadType::kScopeAttrs:
    case PayloadType::kMetricAttrs:
    case PayloadType::kNumberDpAttrs:
    case PayloadType::kSummaryDpAttrs:
    case PayloadType::kHistogramDpAttrs:
    case PayloadType::kExpHistogramDpAttrs:
    case PayloadType::kNumberDpExemplarAttrs:
    case PayloadType::kHistogramDpExemplarAttrs:
    case PayloadType::kExpHistogramDpExemplarAttrs:
    case PayloadType::kLogAttrs:
    case PayloadType::kSpanAttrs:
    case PayloadType::kSpanEventAttrs:
    case PayloadType::kSpanLinkAttrs:
      return true;
    default:
      return false;
  }
}

}  // namespace

// One column's dictionary within one IPC stream: the values sent so far, in key
// order. Growing it makes the IPC writer emit a delta; a reset, a replacement.
struct DictionaryState {
  // Arrow's own memo table (open addressing, the one its dictionary builders use):
  // several times faster than a std::unordered_map on a replay's attributes.
  using Memo = arrow::internal::BinaryMemoTable<arrow::BinaryBuilder>;
  std::unique_ptr<Memo> keys = std::make_unique<Memo>(arrow::default_memory_pool());
  std::shared_ptr<arrow::Array> values;  // null until the first batch
};

struct StreamEncoder::IpcStream {
  std::string schema_id;
  std::shared_ptr<arrow::Schema> schema;
  std::shared_ptr<arrow::io::BufferOutputStream> sink;
  std::shared_ptr<arrow::ipc::RecordBatchWriter> writer;
  std::map<std::string, DictionaryState> dictionaries;  // by column name
};

namespace {

// `column` as Dictionary<UInt16, Utf8> over `state`, which grows by the new values;
// null when the batch alone has more distinct values than UInt16 keys can address.
arrow::Result<std::shared_ptr<arrow::Array>> DictionaryEncode(
    const arrow::StringArray& column, DictionaryState* state, int64_t* resets) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int64_t known = state->keys->size();
    arrow::UInt16Builder indices;
    ARROW_RETURN_NOT_OK(indices.Reserve(column.length()));
    arrow::StringBuilder added;
    bool full = false;
    // Hot loop (a replay's every attribute): validity read inline, and the previous
    // row's key reused when the value repeats (attribute keys come in runs).
    const uint8_t* validity =
        column.null_count() > 0 ? column.null_bitmap_data() : nullptr;
    const int64_t offset = column.offset();
    std::string_view previous;
    uint16_t previous_key = 0;
    bool has_previous = false;
    for (int64_t i = 0; i < column.length(); ++i) {
      if (validity && !arrow::bit_util::GetBit(validity, offset + i)) {
        indices.UnsafeAppendNull();
        continue;
      }
      const std::string_view value = column.GetView(i);
      if (has_previous && value == previous) {
        indices.UnsafeAppend(previous_key);
        continue;
      }
      const auto length = static_cast<int32_t>(value.size());
      int32_t key = state->keys->Get(value.data(), length);
      if (key == arrow::internal::kKeyNotFound) {
        if (state->keys->size() >= kMaxDictionarySize) {
          full = true;
          break;
        }
        ARROW_RETURN_NOT_OK(state->keys->GetOrInsert(value.data(), length, &key));
        ARROW_RETURN_NOT_OK(added.Append(value));
      }
      previous = value;
      previous_key = static_cast<uint16_t>(key);
      has_previous = true;
      indices.UnsafeAppend(previous_key);
    }
    if (full) {
      // Start over with this batch's values only: a replacement dictionary.
      state->keys = std::make_unique<DictionaryState::Memo>(arrow::default_memory_pool());
      state->values.reset();
      if (known > 0) ++*resets;
      if (attempt == 0 && known > 0) continue;
      return nullptr;
    }
    ARROW_ASSIGN_OR_RAISE(auto new_values, added.Finish());
    if (!state->values) {
      state->values = new_values;
    } else if (new_values->length() > 0) {
      ARROW_ASSIGN_OR_RAISE(state->values,
                            arrow::Concatenate({state->values, new_values}));
    }
    ARROW_ASSIGN_OR_RAISE(auto index_array, indices.Finish());
    return arrow::DictionaryArray::FromArrays(
        arrow::dictionary(arrow::uint16(), arrow::utf8()), index_array, state->values);
  }
  return nullptr;
}

}  // namespace

StreamEncoder::StreamEncoder(Signal signal, EncodeOptions options)
    : signal_(signal), options_(options) {}

StreamEncoder::~StreamEncoder() = default;

void StreamEncoder::Reset() { streams_.clear(); }

arrow::Result<std::shared_ptr<arrow::RecordBatch>> StreamEncoder::ToWire(
    PayloadType type, const std::shared_ptr<arrow::RecordBatch>& batch,
    IpcStream* stream) {
  std::vector<std::shared_ptr<arrow::Field>> fields;
  std::vector<std::shared_ptr<arrow::Array>> columns;
  const bool dictionaries = options_.dictionaries && IsAttributeTable(type);
  for (int c = 0; c < batch->num_columns(); ++c) {
    auto field = batch->schema()->field(c);
    auto column = batch->column(c);
    if (dictionaries && column->type_id() == arrow::Type::STRING &&
        (field->name() == "key" || field->name() == "str")) {
      ARROW_ASSIGN_OR_RAISE(
          auto encoded, DictionaryEncode(static_cast<const arrow::StringArray&>(*column),
                                         &stream->dictionaries[field->name()],
                                         &stats_.dictionary_resets));
      if (encoded) {
        field = field->WithType(encoded->type());
        column = std::move(encoded);
      }
    }
    fields.push_back(std::move(field));
    columns.push_back(std::move(column));
  }
  // No schema metadata (a dataset's `_part_id` means nothing to the peer).
  return arrow::RecordBatch::Make(arrow::schema(std::move(fields)), batch->num_rows(),
                                  std::move(columns));
}

arrow::Result<std::string> StreamEncoder::Encode(const OtapBatch& batch, int64_t batch_id,
                                                 const std::string& headers) {
  if (batch.signal() != signal_) {
    return arrow::Status::Invalid("a ", SignalName(batch.signal()),
                                  " batch cannot go on a ", SignalName(signal_),
                                  " stream");
  }
  if (batch.num_root_rows() == 0) {
    return arrow::Status::Invalid("a batch without root rows is never sent");
  }
  ARROW_ASSIGN_OR_RAISE(OtapBatch encoded, EncodeTransportIds(batch));
  pb::BatchArrowRecords bar;
  bar.set_batch_id(batch_id);
  if (!headers.empty()) bar.set_headers(headers);
  std::vector<PayloadType> order{RootPayloadType(signal_)};
  for (PayloadType type : PayloadTypesOf(signal_)) {
    if (type != order.front()) order.push_back(type);
  }
  for (PayloadType type : order) {
    const auto& table = encoded.Get(type);
    if (!table || table->num_rows() == 0) continue;
    if (type == PayloadType::kMetricAttrs && !options_.send_metric_attrs) {
      stats_.metric_attrs_dropped += table->num_rows();
      continue;
    }
    auto& slot = streams_[type];
    if (!slot) slot = std::make_unique<IpcStream>();
    IpcStream* stream = slot.get();
    auto wire = ToWire(type, table, stream);
    if (wire.ok() &&
        (!stream->writer || !stream->schema->Equals(*(*wire)->schema(),
                                                    /*check_metadata=*/true))) {
      // A new IPC stream (new schema_id) with fresh dictionaries.
      *stream = IpcStream{};
      stream->schema_id = std::to_string(next_schema_id_++);
      ++stats_.schemas;
      wire = ToWire(type, table, stream);
      if (wire.ok()) {
        stream->schema = (*wire)->schema();
        auto options = arrow::ipc::IpcWriteOptions::Defaults();
        options.emit_dictionary_deltas = true;
        if (options_.payload_zstd) {
          ARROW_ASSIGN_OR_RAISE(options.codec,
                                arrow::util::Codec::Create(arrow::Compression::ZSTD));
        }
        ARROW_ASSIGN_OR_RAISE(stream->sink, arrow::io::BufferOutputStream::Create());
        ARROW_ASSIGN_OR_RAISE(stream->writer, arrow::ipc::MakeStreamWriter(
                                                  stream->sink, stream->schema, options));
      }
    }
    arrow::Status st = wire.status();
    if (st.ok()) st = stream->writer->WriteRecordBatch(**wire);
    arrow::Result<std::shared_ptr<arrow::Buffer>> bytes;
    if (st.ok()) {
      bytes = stream->sink->Finish();
      st = bytes.status();
    }
    if (st.ok()) st = stream->sink->Reset();
    if (!st.ok()) {
      return st.WithMessage(TableName(type), " (schema_id \"", stream->schema_id,
                            "\"): Arrow IPC encoding: ", st.message());
    }
    auto* payload = bar.add_arrow_payloads();
    payload->set_schema_id(stream->schema_id);
    payload->set_type(static_cast<pb::ArrowPayloadType>(type));
    payload->set_record(reinterpret_cast<const char*>((*bytes)->data()),
                        static_cast<size_t>((*bytes)->size()));
  }
  return bar.SerializeAsString();
}

int64_t EstimateEncodedSize(const OtapBatch& batch) {
  int64_t size = 0;
  for (PayloadType type : batch.payload_types()) {
    const auto& table = *batch.Get(type);
    // What the rows reference, not whole buffers: a replayed batch is a slice of a
    // decoded row group, whose buffers are many times larger than the slice.
    auto referenced = arrow::util::ReferencedBufferSize(table);
    // IPC framing: a schema, a record batch header and padding per buffer.
    size += (referenced.ok() ? *referenced : arrow::util::TotalBufferSize(table)) + 4096;
  }
  return size;
}

arrow::Result<std::vector<OtapBatch>> SplitForMessageSize(const OtapBatch& batch,
                                                          int64_t max_size) {
  const int64_t size = EstimateEncodedSize(batch);
  const int64_t rows = batch.num_root_rows();
  if (size <= max_size || rows <= 1) return std::vector<OtapBatch>{batch};
  ConcatOptions options;
  const int64_t parts = (size + max_size - 1) / max_size;
  options.max_root_rows = std::max<int64_t>(1, rows / parts);
  ARROW_ASSIGN_OR_RAISE(auto split, ConcatOtapBatches({&batch, 1}, options));
  std::vector<OtapBatch> out;
  for (auto& part : split) {
    // Roots are not equally heavy: split again what is still too large.
    if (EstimateEncodedSize(part) > max_size && part.num_root_rows() > 1) {
      ARROW_ASSIGN_OR_RAISE(auto again, SplitForMessageSize(part, max_size));
      for (auto& p : again) out.push_back(std::move(p));
    } else {
      out.push_back(std::move(part));
    }
  }
  return out;
}

}  // namespace otap_parquet::otap_wire
