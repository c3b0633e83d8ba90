// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/otap_wire/bar_encoder.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include <zstd.h>

#include <arrow/api.h>
#include <arrow/array/concatenate.h>
#include <arrow/compute/api_vector.h>
#include <arrow/io/interfaces.h>
#include <arrow/ipc/api.h>
#include <arrow/util/bit_util.h>
#include <arrow/util/bitmap_ops.h>
#include <arrow/util/byte_size.h>
#include <arrow/util/compression.h>
#include <arrow/util/hashing.h>

#include "opentelemetry/proto/experimental/arrow/v1/arrow_service.pb.h"
#include "otap_parquet/pdata/ids.h"
#include "otap_parquet/pdata/otap_concat.h"
#include "otap_parquet/schema/otap_schema.h"

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

bool IsExemplarTable(PayloadType type) {
  return type == PayloadType::kNumberDpExemplars ||
         type == PayloadType::kHistogramDpExemplars ||
         type == PayloadType::kExpHistogramDpExemplars;
}

// Columns a peer requires even when all null: upstream Rust's `required: true`
// fields (pdata `schema/payloads.rs`, at the spec's pinned HEAD and later), which
// include the three Go's consumer requires (`MandatoryFieldIDFromSchema` on
// attribute tables). Every other column may be absent (otap-protocol.md §4.3).
bool IsRequiredColumn(PayloadType type, std::string_view path) {
  if (IsAttributeTable(type)) {
    return path == "parent_id" || path == "key" || path == "type";
  }
  switch (type) {
    case PayloadType::kLogs:
      return path == "body.type";
    case PayloadType::kSpans:
      return path == "start_time_unix_nano" || path == "duration_time_unix_nano" ||
             path == "trace_id" || path == "span_id" || path == "name";
    case PayloadType::kSpanEvents:
      return path == "parent_id" || path == "name";
    case PayloadType::kSpanLinks:
      return path == "parent_id" || path == "span_id" || path == "trace_id";
    case PayloadType::kUnivariateMetrics:
      return path == "id" || path == "metric_type" || path == "name";
    case PayloadType::kNumberDataPoints:
    case PayloadType::kSummaryDataPoints:
    case PayloadType::kHistogramDataPoints:
    case PayloadType::kExpHistogramDataPoints:
    case PayloadType::kNumberDpExemplars:
    case PayloadType::kHistogramDpExemplars:
    case PayloadType::kExpHistogramDpExemplars:
      return path == "parent_id" || path == "time_unix_nano";
    default:
      return false;
  }
}

// String columns sent as dictionaries: those upstream's Go encoder sends as
// Dictionary8/16 (and Rust's schema allows as such) whose values repeat: attribute
// keys and values, schema URLs, scope names and versions, severity texts, names.
// Not `body.str`, whose values are mostly distinct in real logs (the dictionary would
// cost a hash per row and go native after its second replacement anyway).
bool IsDictionaryColumn(PayloadType type, std::string_view path) {
  if (IsAttributeTable(type)) return path == "key" || path == "str";
  if (path == "schema_url" || path == "resource.schema_url" || path == "scope.name" ||
      path == "scope.version") {
    return type == PayloadType::kLogs || type == PayloadType::kSpans ||
           type == PayloadType::kUnivariateMetrics;
  }
  switch (type) {
    case PayloadType::kLogs:
      return path == "severity_text" || path == "event_name";
    case PayloadType::kSpans:
      return path == "name" || path == "status.status_message";
    case PayloadType::kSpanEvents:
      return path == "name";
    case PayloadType::kUnivariateMetrics:
      return path == "name" || path == "description" || path == "unit";
    default:
      return false;
  }
}

// Arrow's zstd codec with one compression context for all buffers of a stream
// (Arrow's own makes and frees a context per buffer: a replay compresses ~10
// buffers per payload per message). Not thread-safe: the IPC writer runs with
// use_threads off.
class ZstdCodec : public arrow::util::Codec {
 public:
  explicit ZstdCodec(int level) : ctx_(ZSTD_createCCtx()), level_(level) {}
  ~ZstdCodec() override { ZSTD_freeCCtx(ctx_); }

  int minimum_compression_level() const override { return ZSTD_minCLevel(); }
  int maximum_compression_level() const override { return ZSTD_maxCLevel(); }
  int default_compression_level() const override { return kDefaultPayloadZstdLevel; }
  int compression_level() const override { return level_; }
  arrow::Compression::type compression_type() const override {
    return arrow::Compression::ZSTD;
  }

  int64_t MaxCompressedLen(int64_t input_len, const uint8_t*) override {
    return static_cast<int64_t>(ZSTD_compressBound(static_cast<size_t>(input_len)));
  }
  arrow::Result<int64_t> Compress(int64_t input_len, const uint8_t* input,
                                  int64_t output_buffer_len,
                                  uint8_t* output_buffer) override {
    if (ctx_ == nullptr) return arrow::Status::OutOfMemory("zstd: no context");
    const size_t n =
        ZSTD_compressCCtx(ctx_, output_buffer, static_cast<size_t>(output_buffer_len),
                          input, static_cast<size_t>(input_len), level_);
    if (ZSTD_isError(n)) return arrow::Status::IOError("zstd: ", ZSTD_getErrorName(n));
    return static_cast<int64_t>(n);
  }
  arrow::Result<int64_t> Decompress(int64_t input_len, const uint8_t* input,
                                    int64_t output_buffer_len,
                                    uint8_t* output_buffer) override {
    const size_t n =
        ZSTD_decompress(output_buffer, static_cast<size_t>(output_buffer_len), input,
                        static_cast<size_t>(input_len));
    if (ZSTD_isError(n)) return arrow::Status::IOError("zstd: ", ZSTD_getErrorName(n));
    return static_cast<int64_t>(n);
  }
  arrow::Result<std::shared_ptr<arrow::util::Compressor>> MakeCompressor() override {
    return arrow::Status::NotImplemented("streaming zstd compression");
  }
  arrow::Result<std::shared_ptr<arrow::util::Decompressor>> MakeDecompressor() override {
    return arrow::Status::NotImplemented("streaming zstd decompression");
  }

 private:
  ZSTD_CCtx* const ctx_;
  const int level_;
};

}  // namespace

// The IPC writer's output: appends straight to the `record` field of the message
// being built (no intermediate buffer to copy from).
class StreamEncoder::Sink : public arrow::io::OutputStream {
 public:
  // Bytes written without a target (a writer that writes its schema when made)
  // go to the next one.
  void set_target(std::string* target) {
    target_ = target;
    if (target_ != nullptr && !pending_.empty()) {
      target_->append(pending_);
      pending_.clear();
    }
  }

  arrow::Status Close() override {
    closed_ = true;
    return arrow::Status::OK();
  }
  bool closed() const override { return closed_; }
  arrow::Result<int64_t> Tell() const override { return position_; }
  arrow::Status Write(const void* data, int64_t nbytes) override {
    (target_ != nullptr ? target_ : &pending_)
        ->append(static_cast<const char*>(data), static_cast<size_t>(nbytes));
    position_ += nbytes;
    return arrow::Status::OK();
  }

 private:
  std::string* target_ = nullptr;
  std::string pending_;
  int64_t position_ = 0;
  bool closed_ = false;
};

// One column's dictionary within one IPC stream: the values sent so far, in key
// order. Growing it makes the IPC writer emit a delta; a reset, a replacement.
struct DictionaryState {
  // Arrow's own memo table (open addressing, the one its dictionary builders use):
  // several times faster than a std::unordered_map on a replay's attributes.
  using Memo = arrow::internal::BinaryMemoTable<arrow::BinaryBuilder>;
  std::unique_ptr<Memo> keys = std::make_unique<Memo>(arrow::default_memory_pool());
  std::shared_ptr<arrow::Array> values;  // null until the first batch
  /// By key: the key of the row that last followed a row of this key (-1: none).
  /// Attribute keys repeat in the same order parent after parent.
  std::vector<int32_t> next;
};

struct StreamEncoder::IpcStream {
  std::string schema_id;
  std::shared_ptr<arrow::Schema> schema;
  std::shared_ptr<Sink> sink;
  std::shared_ptr<arrow::ipc::RecordBatchWriter> writer;
  size_t last_record_size = 0;  // capacity hint for the next message's record
  std::map<std::string, DictionaryState> dictionaries;  // by column name
};

namespace {

// `column` as Dictionary<UInt16, Utf8> over `state`, which grows by the new values;
// null when the batch alone has more distinct values than UInt16 keys can address.
// One pass: each row is looked up (and a new value added) in the stream's
// dictionary, one hash per row and none for a row equal to the previous one or to
// the value that followed the previous row's last time. When the dictionary fills
// up, it is replaced by this batch's values (a second pass).
// (A memo of the batch's values first, then its distinct values looked up in the
// stream's, hashed a new value three times and copied it twice more.)
arrow::Result<std::shared_ptr<arrow::Array>> DictionaryEncode(
    const arrow::StringArray& column, DictionaryState* state, int64_t* resets) {
  const int64_t rows = column.length();
  const int64_t offset = column.offset();
  const uint8_t* validity = column.null_count() > 0 ? column.null_bitmap_data() : nullptr;
  ARROW_ASSIGN_OR_RAISE(
      std::shared_ptr<arrow::Buffer> keys_buffer,
      arrow::AllocateBuffer(rows * static_cast<int64_t>(sizeof(uint16_t))));
  auto* keys = reinterpret_cast<uint16_t*>(keys_buffer->mutable_data());
  // One pass over the rows into `*state`; `*full` when its dictionary filled up.
  auto encode = [&](bool* full) -> arrow::Status {
    arrow::StringBuilder added;
    arrow::Status appended;
    auto on_found = [](int32_t) {};
    std::string_view previous;
    int32_t previous_key = -1;
    // The values of keys sent before this batch, then of those it adds.
    const auto* sent = static_cast<const arrow::StringArray*>(state->values.get());
    const int32_t num_sent = sent ? static_cast<int32_t>(sent->length()) : 0;
    auto value_of = [&](int32_t key) {
      return key < num_sent ? sent->GetView(key) : added.GetView(key - num_sent);
    };
    std::vector<int32_t>& next = state->next;
    *full = false;
    for (int64_t i = 0; i < rows; ++i) {
      if (validity && !arrow::bit_util::GetBit(validity, offset + i)) {
        keys[i] = 0;
        continue;
      }
      const std::string_view value = column.GetView(i);
      // Attribute keys often come in runs: the previous row's key, unhashed.
      if (previous_key >= 0 && value == previous) {
        keys[i] = static_cast<uint16_t>(previous_key);
        continue;
      }
      // Or in the same order record after record: the key that followed the
      // previous row's last time, compared without hashing.
      const int32_t guess = previous_key >= 0 ? next[previous_key] : -1;
      if (guess >= 0 && value_of(guess) == value) {
        previous_key = guess;
        previous = value;
        keys[i] = static_cast<uint16_t>(previous_key);
        continue;
      }
      const int32_t before = previous_key;
      const auto length = static_cast<int32_t>(value.size());
      if (state->keys->size() < kMaxDictionarySize) {
        ARROW_RETURN_NOT_OK(state->keys->GetOrInsert(
            value.data(), length, on_found,
            [&](int32_t) { appended &= added.Append(value); }, &previous_key));
        if (ARROW_PREDICT_FALSE(!appended.ok())) return appended;
      } else {
        previous_key = state->keys->Get(value.data(), length);
        if (previous_key == arrow::internal::kKeyNotFound) {
          *full = true;
          return arrow::Status::OK();
        }
      }
      previous = value;
      if (static_cast<size_t>(previous_key) >= next.size()) {
        next.resize(static_cast<size_t>(previous_key) + 1, -1);
      }
      if (before >= 0) next[before] = previous_key;
      keys[i] = static_cast<uint16_t>(previous_key);
    }
    ARROW_ASSIGN_OR_RAISE(auto new_values, added.Finish());
    if (!state->values) {
      state->values = new_values;
    } else if (new_values->length() > 0) {
      ARROW_ASSIGN_OR_RAISE(state->values,
                            arrow::Concatenate({state->values, new_values}));
    }
    return arrow::Status::OK();
  };
  const bool had_values = state->keys->size() > 0;
  bool full = false;
  ARROW_RETURN_NOT_OK(encode(&full));
  if (full) {
    *state = DictionaryState{};
    if (had_values) {
      // Start over with this batch's values only: a replacement dictionary.
      ARROW_RETURN_NOT_OK(encode(&full));
      if (!full) ++*resets;
    }
    if (full) {
      // The batch alone has more values than keys: the stream's dictionary was
      // still dropped (and counted as replaced when it held values).
      if (had_values) ++*resets;
      *state = DictionaryState{};
      return nullptr;
    }
  }
  std::shared_ptr<arrow::Buffer> index_validity;
  if (validity) {
    ARROW_ASSIGN_OR_RAISE(index_validity,
                          arrow::internal::CopyBitmap(arrow::default_memory_pool(),
                                                      validity, offset, rows));
  }
  auto index_array = std::make_shared<arrow::UInt16Array>(
      rows, std::move(keys_buffer), std::move(index_validity), column.null_count());
  return arrow::DictionaryArray::FromArrays(
      arrow::dictionary(arrow::uint16(), arrow::utf8()), index_array, state->values);
}

// Go's consumer refuses an exemplar without an 8-byte span_id and a 16-byte trace_id
// (otel-arrow/go v0.46.0 metrics/otlp/exemplar.go:154-175: a null or a missing column
// is "invalid span id length" and ends the stream), so absent ids are sent as zero
// bytes, as Go's producer sends them; receivers (ours, Go's pdata) read zero as absent.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ZeroAbsentExemplarIds(
    PayloadType type, std::shared_ptr<arrow::RecordBatch> batch) {
  if (!IsExemplarTable(type)) return batch;
  const std::pair<const char*, int32_t> kIds[] = {{"span_id", 8}, {"trace_id", 16}};
  for (const auto& [name, width] : kIds) {
    const int index = batch->schema()->GetFieldIndex(name);
    const arrow::FixedSizeBinaryArray* ids = nullptr;
    if (index >= 0) {
      const auto& column = batch->column(index);
      if (column->type_id() != arrow::Type::FIXED_SIZE_BINARY ||
          static_cast<const arrow::FixedSizeBinaryType&>(*column->type()).byte_width() !=
              width) {
        return arrow::Status::TypeError(TableName(type), ".", name,
                                        ": expected fixed_size_binary(", width, "), got ",
                                        column->type()->ToString());
      }
      if (column->null_count() == 0) continue;
      ids = static_cast<const arrow::FixedSizeBinaryArray*>(column.get());
    }
    const std::string zeros(static_cast<size_t>(width), '\0');
    arrow::FixedSizeBinaryBuilder builder(arrow::fixed_size_binary(width));
    ARROW_RETURN_NOT_OK(builder.Reserve(batch->num_rows()));
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      builder.UnsafeAppend(
          ids && ids->IsValid(i)
              ? std::string_view(reinterpret_cast<const char*>(ids->GetValue(i)),
                                 static_cast<size_t>(width))
              : std::string_view(zeros));
    }
    ARROW_ASSIGN_OR_RAISE(auto filled, builder.Finish());
    if (index >= 0) {
      ARROW_ASSIGN_OR_RAISE(
          batch, batch->SetColumn(index, batch->schema()->field(index), filled));
    } else {
      ARROW_ASSIGN_OR_RAISE(
          batch,
          batch->AddColumn(batch->num_columns(),
                           arrow::field(name, arrow::fixed_size_binary(width)), filled));
    }
  }
  return batch;
}

// Puts exemplars without a value first (stable). Go's consumer takes the parent id
// of such a row as a delta from the previous row whatever that row holds
// (otel-arrow/go v0.46.0 metrics/otlp/exemplar.go:204-237), ours and Rust's only
// after another row without a value; Go's producer sorts them first, which makes
// both readings agree. Their order among a data point's exemplars carries no meaning.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ValuelessExemplarsFirst(
    PayloadType type, std::shared_ptr<arrow::RecordBatch> batch) {
  if (!IsExemplarTable(type)) return batch;
  const auto int_value = batch->GetColumnByName(schema::kIntValue);
  const auto double_value = batch->GetColumnByName(schema::kDoubleValue);
  auto valueless = [&](int64_t i) {
    return (!int_value || int_value->IsNull(i)) &&
           (!double_value || double_value->IsNull(i));
  };
  const int32_t n = static_cast<int32_t>(batch->num_rows());
  std::vector<int32_t> order;
  order.reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    if (valueless(i)) order.push_back(i);
  }
  for (int32_t i = 0; i < n; ++i) {
    if (!valueless(i)) order.push_back(i);
  }
  // Already so (the common case): nothing to move.
  if (std::is_sorted(order.begin(), order.end())) return batch;
  arrow::Int32Builder indices;
  ARROW_RETURN_NOT_OK(indices.AppendValues(order));
  ARROW_ASSIGN_OR_RAISE(auto index_array, indices.Finish());
  ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(batch, index_array));
  return taken.record_batch();
}

// The attribute table whose rows belong to `type`'s rows, when `type`'s ids are
// only used by it (exemplars, span events, span links): from the star schema's
// parent links (ParentOf), which hold for the signal of any table below the root.
std::optional<PayloadType> OnlyChildOf(PayloadType type) {
  std::optional<PayloadType> child;
  for (Signal signal : {Signal::kTraces, Signal::kMetrics}) {
    for (PayloadType candidate : PayloadTypesOf(signal)) {
      if (ParentOf(candidate, signal) != type) continue;
      if (child || !IsAttributeTable(candidate)) return std::nullopt;
      child = candidate;
    }
  }
  return child;
}

// df_engine's OTAP -> OTLP conversion finds an exemplar's, span event's or span
// link's attributes by id with a cursor over the attribute rows sorted by parent id
// whose shortcut (otap-dataflow pdata `otlp/common.rs:1088-1098`, `seek_to_parent`)
// trusts the last row it walked past: a lookup for an id without attributes walks
// past the rows of smaller ids, and when the last of those belongs to an id looked
// up later (its rows are visited in no id order), that id's attributes are never
// found. A row without attributes is therefore sent with a null id (the column is
// optional; Rust's decoder then looks nothing up for it), so that every lookup
// finds rows, which keeps the cursor right.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> NullIdsWithoutAttributes(
    PayloadType type, const OtapBatch& batch) {
  std::shared_ptr<arrow::RecordBatch> table = batch.Get(type);
  const auto child_type = OnlyChildOf(type);
  if (!child_type) return table;
  const int index = table->schema()->GetFieldIndex(schema::kId);
  if (index < 0) return table;
  const auto* ids = dynamic_cast<const arrow::UInt32Array*>(table->column(index).get());
  if (!ids) return table;
  std::vector<uint32_t> referenced;
  if (auto attrs = batch.Get(*child_type)) {
    const auto* parents = dynamic_cast<const arrow::UInt32Array*>(
        attrs->GetColumnByName(schema::kParentId).get());
    if (!parents) return table;
    for (int64_t i = 0; i < parents->length(); ++i) {
      if (parents->IsValid(i)) referenced.push_back(parents->Value(i));
    }
  }
  std::sort(referenced.begin(), referenced.end());
  arrow::UInt32Builder builder;
  ARROW_RETURN_NOT_OK(builder.Reserve(ids->length()));
  bool changed = false;
  for (int64_t i = 0; i < ids->length(); ++i) {
    if (ids->IsValid(i) &&
        std::binary_search(referenced.begin(), referenced.end(), ids->Value(i))) {
      builder.UnsafeAppend(ids->Value(i));
    } else {
      changed = changed || ids->IsValid(i);
      builder.UnsafeAppendNull();
    }
  }
  if (!changed) return table;
  ARROW_ASSIGN_OR_RAISE(auto nulled, builder.Finish());
  return table->SetColumn(index, table->schema()->field(index), std::move(nulled));
}

// Rust's receiver refuses a batch whose required column (IsRequiredColumn) holds a
// null, as if the column were missing (otap-dataflow pdata `schema/schema.rs:280-287`,
// "Invalid OTAP batch. Closing stream"): a span link without a trace or span id, a
// span or event without a name, ... Such nulls are sent as the type's zero value
// (zero bytes, "", 0), which is how Rust's producer writes an absent span id
// (`encode/mod.rs:143-144`) and how OTLP and Go's pdata read zero ids: absent.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ZeroRequiredNulls(
    PayloadType type, std::shared_ptr<arrow::RecordBatch> table) {
  for (int c = 0; c < table->num_columns(); ++c) {
    const auto& column = table->column(c);
    if (column->null_count() == 0 ||
        !IsRequiredColumn(type, table->schema()->field(c)->name())) {
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto filled, ZeroUnderNulls(column, /*keep_validity=*/false));
    if (filled == column) continue;  // no required column of another type
    auto field = table->schema()->field(c)->WithNullable(false);
    ARROW_ASSIGN_OR_RAISE(table, table->SetColumn(c, field, std::move(filled)));
  }
  return table;
}

// ---------------------------------------------------------------------------------
// Ids in df_engine's visiting order (Rust dialect)
//
// df_engine's OTAP -> OTLP conversion visits the root rows sorted by the values of
// (resource.id, scope.id, id) (otap-dataflow pdata `otlp/common.rs:1137-1226`), a
// table's data points in the order of its cursor over their parent ids, and looks
// each parent's children up through one cursor per child table whose shortcut
// (`seek_to_parent`, `otlp/common.rs:1088-1098`) trusts the row before the cursor: a
// lookup for an id without rows in that table walks past the rows of the smaller ids
// and stops after the largest of them; if that id is looked up next, its rows are
// behind the cursor and never found (`:1335`); a second lookup of an id finds
// nothing either. Nothing is lost while lookups ascend, so where they would not, the
// scope and root ids are renumbered in the order it visits them, the children
// gathered by new parent id (its cursor keeps each parent's rows in their order: a
// sorted run stays as it is), and the tables below numbered in that row order.

// The ids as stored, also under nulls (df_engine sorts the root by the stored
// values); empty for a column that is not UInt16 or UInt32.
std::vector<uint32_t> StoredIds(const arrow::Array& ids) {
  std::vector<uint32_t> values;
  values.reserve(static_cast<size_t>(ids.length()));
  if (ids.type_id() == arrow::Type::UINT16) {
    const auto* raw = static_cast<const arrow::UInt16Array&>(ids).raw_values();
    values.assign(raw, raw + ids.length());
  } else if (ids.type_id() == arrow::Type::UINT32) {
    const auto* raw = static_cast<const arrow::UInt32Array&>(ids).raw_values();
    values.assign(raw, raw + ids.length());
  }
  return values;
}

// An id column of `like`'s type and validity holding `values`.
arrow::Result<std::shared_ptr<arrow::Array>> IdsLike(
    const arrow::Array& like, const std::vector<uint32_t>& values) {
  std::shared_ptr<arrow::Buffer> validity;
  if (like.null_count() > 0) {
    ARROW_ASSIGN_OR_RAISE(
        validity,
        arrow::internal::CopyBitmap(arrow::default_memory_pool(), like.null_bitmap_data(),
                                    like.offset(), like.length()));
  }
  const auto n = static_cast<int64_t>(values.size());
  if (like.type_id() == arrow::Type::UINT16) {
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> buffer,
                          arrow::AllocateBuffer(n * 2));
    auto* out = reinterpret_cast<uint16_t*>(buffer->mutable_data());
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<uint16_t>(values[i]);
    return std::make_shared<arrow::UInt16Array>(n, std::move(buffer), std::move(validity),
                                                like.null_count());
  }
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> buffer,
                        arrow::AllocateBuffer(n * 4));
  std::memcpy(buffer->mutable_data(), values.data(), static_cast<size_t>(n) * 4);
  return std::make_shared<arrow::UInt32Array>(n, std::move(buffer), std::move(validity),
                                              like.null_count());
}

// New ids of a parent table: new id g was old id old_of[g] (-1: none). Identity: the
// old ids already ascend in visiting order (so do the lookups), and are kept.
struct Renumbering {
  std::vector<int64_t> old_of;
  bool identity = true;
};

// Whether the ids (-1: none) strictly ascend.
bool Ascending(const std::vector<int64_t>& ids) {
  int64_t previous = -1;
  for (int64_t id : ids) {
    if (id < 0) continue;
    if (id <= previous) return false;
    previous = id;
  }
  return true;
}

// Numbers the valid ids of `ids` 0, 1, ... in the order of `rows` unless they
// already strictly ascend in it (a repeated id gets a number per row: df_engine finds
// nothing on its second lookup of an id, so the children are sent once per row);
// values under nulls follow their row's predecessor so that the stored order stays
// the visiting order. Returns the new column, if any, in `*column`.
arrow::Result<Renumbering> RenumberInOrder(const std::shared_ptr<arrow::Array>& ids,
                                           const std::vector<int32_t>& rows,
                                           std::shared_ptr<arrow::Array>* column) {
  Renumbering result;
  std::vector<uint32_t> old = StoredIds(*ids);
  if (old.empty()) return result;
  // The common case (a batch converted from OTLP): nothing to renumber or build.
  int64_t previous = -1;
  bool ascending = true;
  for (size_t i = 0; ascending && i < rows.size(); ++i) {
    if (ids->IsNull(rows[i])) continue;
    ascending = old[rows[i]] > previous;
    previous = old[rows[i]];
  }
  if (ascending) return result;
  std::vector<uint32_t> values(old.size(), 0);
  uint32_t last = 0;
  for (int32_t row : rows) {
    if (ids->IsValid(row)) {
      last = static_cast<uint32_t>(result.old_of.size());
      result.old_of.push_back(old[row]);
    }
    values[row] = last;
  }
  result.identity = false;
  ARROW_ASSIGN_OR_RAISE(*column, IdsLike(*ids, values));
  return result;
}

// `table`'s rows of parent old_of[0], then old_of[1], ... (each parent's in row order),
// with parent ids 0, 1, ...; rows of other parents (orphans, nulls) are left out:
// df_engine never visits them. The table itself when that changes nothing.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> GatherByParent(
    const std::shared_ptr<arrow::RecordBatch>& table, const Renumbering& parents) {
  const int index = table->schema()->GetFieldIndex(schema::kParentId);
  if (index < 0) return table;
  const auto& parent_ids = table->column(index);
  ARROW_ASSIGN_OR_RAISE(auto children, ChildIndex::Make(*parent_ids));
  std::vector<int32_t> take;
  std::vector<uint32_t> new_parents;
  take.reserve(static_cast<size_t>(table->num_rows()));
  new_parents.reserve(static_cast<size_t>(table->num_rows()));
  for (size_t g = 0; g < parents.old_of.size(); ++g) {
    if (parents.old_of[g] < 0) continue;
    for (int32_t row : children.Children(static_cast<uint32_t>(parents.old_of[g]))) {
      take.push_back(row);
      new_parents.push_back(static_cast<uint32_t>(g));
    }
  }
  bool in_place = take.size() == static_cast<size_t>(table->num_rows());
  for (size_t i = 0; in_place && i < take.size(); ++i) {
    in_place = take[i] == static_cast<int32_t>(i) &&
               parent_ids->IsValid(static_cast<int64_t>(i));
  }
  std::shared_ptr<arrow::RecordBatch> out = table;
  if (!in_place) {
    arrow::Int32Builder indices;
    ARROW_RETURN_NOT_OK(indices.AppendValues(take));
    ARROW_ASSIGN_OR_RAISE(auto index_array, indices.Finish());
    ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(table, index_array));
    out = taken.record_batch();
  } else if (parents.identity) {
    return table;
  }
  ARROW_ASSIGN_OR_RAISE(auto column, IdsLike(*out->column(index), new_parents));
  return out->SetColumn(index, out->schema()->field(index), std::move(column));
}

// The root's rows in df_engine's visiting order: by stored (resource.id, scope.id, id)
// values (an absent column counts as 0), ties in row order.
std::vector<int32_t> RootVisitingOrder(const arrow::RecordBatch& root) {
  const int64_t n = root.num_rows();
  std::vector<uint64_t> keys(static_cast<size_t>(n), 0);
  auto add = [&](const std::shared_ptr<arrow::Array>& ids, int shift) {
    if (!ids || ids->type_id() != arrow::Type::UINT16) return;
    const auto* raw = static_cast<const arrow::UInt16Array&>(*ids).raw_values();
    for (int64_t i = 0; i < n; ++i) keys[i] |= static_cast<uint64_t>(raw[i]) << shift;
  };
  for (auto [name, shift] : {std::pair{schema::kResource, 32}, {schema::kScope, 16}}) {
    auto column = root.GetColumnByName(name);
    if (column && column->type_id() == arrow::Type::STRUCT) {
      add(static_cast<const arrow::StructArray&>(*column).GetFieldByName(schema::kId),
          shift);
    }
  }
  add(root.GetColumnByName(schema::kId), 0);
  std::vector<int32_t> order(static_cast<size_t>(n));
  for (int32_t i = 0; i < static_cast<int32_t>(n); ++i) order[i] = i;
  if (!std::is_sorted(keys.begin(), keys.end())) {
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return keys[a] < keys[b]; });
  }
  return order;
}

// Scope ids numbered per (resource.id, scope.id) value pair in visiting order, so
// that each scope is looked up once and in ascending order (a scope id two resources
// share gets one number per resource, its attributes sent once for each).
arrow::Result<Renumbering> RenumberScopes(std::shared_ptr<arrow::RecordBatch>* root,
                                          const std::vector<int32_t>& order) {
  Renumbering result;
  const int index = (*root)->schema()->GetFieldIndex(schema::kScope);
  if (index < 0 || (*root)->column(index)->type_id() != arrow::Type::STRUCT) {
    return result;
  }
  const auto& scope = static_cast<const arrow::StructArray&>(*(*root)->column(index));
  const int child = scope.struct_type()->GetFieldIndex(schema::kId);
  if (child < 0) return result;
  const auto ids = scope.field(child);
  const std::vector<uint32_t> old = StoredIds(*ids);
  if (old.empty()) return result;
  std::vector<uint32_t> resources(old.size(), 0);
  if (auto column = (*root)->GetColumnByName(schema::kResource);
      column && column->type_id() == arrow::Type::STRUCT) {
    if (auto res =
            static_cast<const arrow::StructArray&>(*column).GetFieldByName(schema::kId)) {
      if (auto stored = StoredIds(*res); !stored.empty()) resources = std::move(stored);
    }
  }
  std::vector<uint32_t> values(old.size(), 0);
  std::optional<std::pair<uint32_t, uint32_t>> group;
  for (int32_t row : order) {
    const std::pair key{resources[row], old[row]};
    if (group != key) {
      group = key;
      result.old_of.push_back(ids->IsValid(row) ? old[row] : -1);
    }
    values[row] = static_cast<uint32_t>(result.old_of.size() - 1);
  }
  // Each scope is then looked up once (a shared id would be twice) and in order.
  result.identity = Ascending(result.old_of);
  if (result.identity) return result;
  ARROW_ASSIGN_OR_RAISE(auto column, IdsLike(*ids, values));
  auto fields = scope.struct_type()->fields();
  arrow::ArrayVector children;
  for (int j = 0; j < scope.num_fields(); ++j) {
    children.push_back(j == child ? column : scope.field(j));
  }
  std::shared_ptr<arrow::Buffer> validity;
  if (scope.null_count() > 0) {
    ARROW_ASSIGN_OR_RAISE(
        validity, arrow::internal::CopyBitmap(arrow::default_memory_pool(),
                                              scope.null_bitmap_data(), scope.offset(),
                                              scope.length()));
  }
  ARROW_ASSIGN_OR_RAISE(auto new_scope,
                        arrow::StructArray::Make(children, fields, std::move(validity),
                                                 scope.null_count()));
  ARROW_ASSIGN_OR_RAISE(*root, (*root)->SetColumn(index, (*root)->schema()->field(index),
                                                  std::move(new_scope)));
  return result;
}

// Whether `table`'s parent ids ascend (non-null) in row order.
bool SortedByParent(const arrow::RecordBatch& table) {
  const auto parents = table.GetColumnByName(schema::kParentId);
  if (!parents) return true;
  if (parents->null_count() > 0) return false;
  const std::vector<uint32_t> values = StoredIds(*parents);
  return std::is_sorted(values.begin(), values.end());
}

// Below the root, a table sorted by parent id is visited in row order (df_engine's
// cursor keeps a sorted run as it is): `type`'s ids are numbered in row order and
// its children gathered by new parent id, and so on down (data points, then their
// attributes and exemplars, then the exemplars' attributes).
arrow::Status RenumberBelow(PayloadType type, OtapBatch* batch) {
  std::shared_ptr<arrow::RecordBatch> table = batch->Get(type);
  const int index = table ? table->schema()->GetFieldIndex(schema::kId) : -1;
  if (index < 0) return arrow::Status::OK();
  std::vector<int32_t> rows(static_cast<size_t>(table->num_rows()));
  for (int32_t i = 0; i < static_cast<int32_t>(rows.size()); ++i) rows[i] = i;
  std::shared_ptr<arrow::Array> column;
  ARROW_ASSIGN_OR_RAISE(Renumbering ids,
                        RenumberInOrder(table->column(index), rows, &column));
  if (ids.identity) return arrow::Status::OK();
  ARROW_ASSIGN_OR_RAISE(
      table, table->SetColumn(index, table->schema()->field(index), std::move(column)));
  batch->Set(type, std::move(table));
  for (PayloadType child : batch->payload_types()) {
    if (ParentOf(child, batch->signal()) != type) continue;
    ARROW_ASSIGN_OR_RAISE(auto gathered, GatherByParent(batch->Get(child), ids));
    batch->Set(child, std::move(gathered));
    ARROW_RETURN_NOT_OK(RenumberBelow(child, batch));
  }
  return arrow::Status::OK();
}

// The batch with the ids df_engine looks up renumbered in its visiting order (see
// above); the batch itself when they already are (a batch converted from OTLP).
arrow::Result<OtapBatch> IdsInVisitingOrder(const OtapBatch& batch) {
  const PayloadType root_type = RootPayloadType(batch.signal());
  std::shared_ptr<arrow::RecordBatch> root = batch.Get(root_type);
  if (!root) return batch;
  OtapBatch out = batch;
  const std::vector<int32_t> order = RootVisitingOrder(*root);
  ARROW_ASSIGN_OR_RAISE(Renumbering scopes, RenumberScopes(&root, order));
  if (!scopes.identity) {
    if (auto attrs = batch.Get(PayloadType::kScopeAttrs)) {
      ARROW_ASSIGN_OR_RAISE(attrs, GatherByParent(attrs, scopes));
      out.Set(PayloadType::kScopeAttrs, std::move(attrs));
    }
  }
  Renumbering roots;
  if (const int index = root->schema()->GetFieldIndex(schema::kId); index >= 0) {
    std::shared_ptr<arrow::Array> column;
    ARROW_ASSIGN_OR_RAISE(roots, RenumberInOrder(root->column(index), order, &column));
    if (column) {
      ARROW_ASSIGN_OR_RAISE(
          root, root->SetColumn(index, root->schema()->field(index), std::move(column)));
    }
  }
  if (root != batch.Get(root_type)) out.Set(root_type, root);
  for (PayloadType type : batch.payload_types()) {
    if (ParentOf(type, batch.signal()) != root_type ||
        type == PayloadType::kResourceAttrs || type == PayloadType::kScopeAttrs) {
      continue;
    }
    std::shared_ptr<arrow::RecordBatch> table = batch.Get(type);
    if (!roots.identity) {
      ARROW_ASSIGN_OR_RAISE(table, GatherByParent(table, roots));
    } else if (!OnlyChildOf(type) && !IsAttributeTable(type) && !SortedByParent(*table)) {
      // The cursor's order among a metric's points is unspecified for unsorted rows.
      Renumbering all;
      const std::vector<uint32_t> parents =
          StoredIds(*table->GetColumnByName(schema::kParentId));
      const uint32_t max =
          parents.empty() ? 0 : *std::max_element(parents.begin(), parents.end());
      for (uint32_t id = 0; id <= max; ++id) all.old_of.push_back(id);
      ARROW_ASSIGN_OR_RAISE(table, GatherByParent(table, all));
    }
    if (table != batch.Get(type)) out.Set(type, std::move(table));
    ARROW_RETURN_NOT_OK(RenumberBelow(type, &out));
  }
  return out;
}

}  // namespace

StreamEncoder::StreamEncoder(Signal signal, EncodeOptions options)
    : signal_(signal), options_(options) {}

StreamEncoder::~StreamEncoder() = default;

void StreamEncoder::Reset() {
  streams_.clear();
  sent_optional_.clear();
}

arrow::Result<std::shared_ptr<arrow::Array>> StreamEncoder::ColumnToWire(
    PayloadType type, const std::string& path, std::shared_ptr<arrow::Field>* field,
    std::shared_ptr<arrow::Array> column, IpcStream* stream) {
  const bool required = IsRequiredColumn(type, path);
  if (!required) {
    std::set<std::string>& sent = sent_optional_[type];
    if (column->null_count() == column->length() && !sent.count(path)) return nullptr;
    // Sent from now on, all null or not: a column that comes and goes would start a
    // new IPC stream (schema_id, dictionaries sent again) each time.
    sent.insert(path);
  }
  if (column->type_id() == arrow::Type::STRUCT) {
    return StructToWire(type, path, field, std::move(column), stream);
  }
  if (options_.dictionaries && column->type_id() == arrow::Type::STRING &&
      IsDictionaryColumn(type, path)) {
    int& replaced = replacements_[{type, path}];
    if (replaced >= kReplacementsBeforeNative) return column;
    int64_t resets = 0;
    ARROW_ASSIGN_OR_RAISE(
        auto encoded, DictionaryEncode(static_cast<const arrow::StringArray&>(*column),
                                       &stream->dictionaries[path], &resets));
    stats_.dictionary_resets += resets;
    replaced += static_cast<int>(resets);
    if (replaced >= kReplacementsBeforeNative) ++stats_.native_columns;
    if (encoded) {
      *field = (*field)->WithType(encoded->type());
      return encoded;
    }
  }
  return column;
}

arrow::Result<std::shared_ptr<arrow::Array>> StreamEncoder::StructToWire(
    PayloadType type, const std::string& path, std::shared_ptr<arrow::Field>* field,
    std::shared_ptr<arrow::Array> column, IpcStream* stream) {
  const auto& array = static_cast<const arrow::StructArray&>(*column);
  const auto& struct_type = static_cast<const arrow::StructType&>(*array.type());
  arrow::FieldVector fields;
  arrow::ArrayVector children;
  bool changed = false;
  for (int i = 0; i < struct_type.num_fields(); ++i) {
    auto child_field = struct_type.field(i);
    ARROW_ASSIGN_OR_RAISE(auto child, ColumnToWire(type, path + "." + child_field->name(),
                                                   &child_field, array.field(i), stream));
    if (!child) {
      changed = true;
      continue;
    }
    changed = changed || child.get() != array.field(i).get() ||
              child_field != struct_type.field(i);
    fields.push_back(std::move(child_field));
    children.push_back(std::move(child));
  }
  // A struct without children says nothing its absence would not: keep it whole.
  if (!changed || children.empty()) return column;
  // The children are logical (offset 0); the struct's validity bitmap follows them.
  std::shared_ptr<arrow::Buffer> validity;
  const int64_t nulls = array.null_count();
  if (nulls > 0) {
    ARROW_ASSIGN_OR_RAISE(
        validity, arrow::internal::CopyBitmap(arrow::default_memory_pool(),
                                              array.null_bitmap_data(), array.offset(),
                                              array.length()));
  }
  auto wire_type = arrow::struct_(std::move(fields));
  *field = (*field)->WithType(wire_type);
  return std::make_shared<arrow::StructArray>(std::move(wire_type), array.length(),
                                              std::move(children), std::move(validity),
                                              nulls);
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> StreamEncoder::ToWire(
    PayloadType type, const std::shared_ptr<arrow::RecordBatch>& batch,
    IpcStream* stream) {
  std::vector<std::shared_ptr<arrow::Field>> fields;
  std::vector<std::shared_ptr<arrow::Array>> columns;
  for (int c = 0; c < batch->num_columns(); ++c) {
    auto field = batch->schema()->field(c);
    ARROW_ASSIGN_OR_RAISE(
        auto column, ColumnToWire(type, field->name(), &field, batch->column(c), stream));
    if (!column) continue;  // all null and optional: absent
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
  OtapBatch ordered = batch;
  for (PayloadType type : batch.payload_types()) {
    ARROW_ASSIGN_OR_RAISE(auto table, ValuelessExemplarsFirst(type, batch.Get(type)));
    if (table != batch.Get(type)) ordered.Set(type, std::move(table));
  }
  if (options_.id_dialect == IdDialect::kRust) {
    ARROW_ASSIGN_OR_RAISE(ordered, IdsInVisitingOrder(ordered));
    for (PayloadType type : batch.payload_types()) {
      ARROW_ASSIGN_OR_RAISE(auto table, NullIdsWithoutAttributes(type, ordered));
      ARROW_ASSIGN_OR_RAISE(table, ZeroRequiredNulls(type, std::move(table)));
      if (table != ordered.Get(type)) ordered.Set(type, std::move(table));
    }
  }
  ARROW_ASSIGN_OR_RAISE(OtapBatch encoded,
                        EncodeTransportIds(ordered, options_.id_dialect));
  pb::BatchArrowRecords bar;
  bar.set_batch_id(batch_id);
  if (!headers.empty()) bar.set_headers(headers);
  std::vector<PayloadType> order{RootPayloadType(signal_)};
  for (PayloadType type : PayloadTypesOf(signal_)) {
    if (type != order.front()) order.push_back(type);
  }
  for (PayloadType type : order) {
    std::shared_ptr<arrow::RecordBatch> table = encoded.Get(type);
    if (!table || table->num_rows() == 0) continue;
    if (type == PayloadType::kMetricAttrs && !options_.send_metric_attrs) {
      stats_.metric_attrs_dropped += table->num_rows();
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(table, ZeroAbsentExemplarIds(type, std::move(table)));
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
        // Compressing a batch's buffers on Arrow's thread pool costs a handoff per
        // buffer and uses cores the engine did not ask for (and ZstdCodec has one
        // context).
        options.use_threads = false;
        if (options_.payload_zstd) {
          options.codec = std::make_shared<ZstdCodec>(options_.payload_zstd_level);
        }
        stream->sink = std::make_shared<Sink>();
        ARROW_ASSIGN_OR_RAISE(stream->writer, arrow::ipc::MakeStreamWriter(
                                                  stream->sink, stream->schema, options));
      }
    }
    auto* payload = bar.add_arrow_payloads();
    payload->set_schema_id(stream->schema_id);
    payload->set_type(static_cast<pb::ArrowPayloadType>(type));
    std::string* record = payload->mutable_record();
    arrow::Status st = wire.status();
    if (st.ok()) {
      record->reserve(stream->last_record_size + stream->last_record_size / 4);
      stream->sink->set_target(record);
      st = stream->writer->WriteRecordBatch(**wire);
      stream->sink->set_target(nullptr);
      stream->last_record_size = record->size();
    }
    if (!st.ok()) {
      return st.WithMessage(TableName(type), " (schema_id \"", stream->schema_id,
                            "\"): Arrow IPC encoding: ", st.message());
    }
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
