// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/otap_wire/bar_decoder.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <type_traits>

#include <arrow/array.h>
#include <arrow/buffer.h>
#include <arrow/ipc/dictionary.h>
#include <arrow/ipc/message.h>
#include <arrow/ipc/reader.h>
#include <arrow/record_batch.h>
#include <arrow/util/bit_util.h>
#include <nghttp2/nghttp2.h>
#include <zstd.h>

#include "opentelemetry/proto/experimental/arrow/v1/arrow_service.pb.h"
#include "otap_parquet/otlp/protobuf_log_internal.h"
#include "otap_parquet/pdata/ids.h"
#include "otap_parquet/schema/normalize.h"
#include "otap_parquet/util/inflate.h"

namespace otap_parquet::otap_wire {

namespace pb = opentelemetry::proto::experimental::arrow::v1;

bool IsZstdFrame(std::string_view bytes) {
  return bytes.size() >= 4 && static_cast<uint8_t>(bytes[0]) == 0x28 &&
         static_cast<uint8_t>(bytes[1]) == 0xB5 &&
         static_cast<uint8_t>(bytes[2]) == 0x2F && static_cast<uint8_t>(bytes[3]) == 0xFD;
}

struct ZstdDecoder::Context {
  ZSTD_DCtx* ptr = nullptr;
  ~Context() { ZSTD_freeDCtx(ptr); }
};

ZstdDecoder::ZstdDecoder() : ctx_(std::make_unique<Context>()) {}

ZstdDecoder::~ZstdDecoder() = default;

arrow::Result<std::string> ZstdDecoder::Decompress(std::string_view bytes,
                                                   int64_t max_size) {
  if (!ctx_->ptr) {
    ctx_->ptr = ZSTD_createDCtx();
    if (!ctx_->ptr) return arrow::Status::OutOfMemory("zstd: cannot create a decoder");
    // Bound the window too: a frame may ask for up to 2 GiB of it.
    ZSTD_DCtx_setParameter(ctx_->ptr, ZSTD_d_windowLogMax, 27);
  } else {
    // A previous message may have stopped mid-frame (error, size limit).
    ZSTD_DCtx_reset(ctx_->ptr, ZSTD_reset_session_only);
  }
  ZSTD_DCtx* ctx = ctx_->ptr;
  std::string out;
  ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
  size_t last = 1;
  while (in.pos < in.size) {
    const size_t chunk = ZSTD_DStreamOutSize();
    const size_t used = out.size();
    if (static_cast<int64_t>(used) > max_size) break;
    out.resize(used + chunk);
    ZSTD_outBuffer o{out.data() + used, chunk, 0};
    last = ZSTD_decompressStream(ctx, &o, &in);
    out.resize(used + o.pos);
    if (ZSTD_isError(last)) {
      return arrow::Status::Invalid("zstd: ", ZSTD_getErrorName(last));
    }
    if (static_cast<int64_t>(out.size()) > max_size) {
      return arrow::Status::CapacityError(
          "zstd-compressed message decompresses to more than the maximum message size (",
          max_size, " bytes)");
    }
    if (o.pos == 0 && in.pos == in.size) break;
  }
  // Flush what the decoder still holds for a frame whose input is all consumed.
  while (last != 0) {
    const size_t used = out.size();
    const size_t chunk = ZSTD_DStreamOutSize();
    out.resize(used + chunk);
    ZSTD_outBuffer o{out.data() + used, chunk, 0};
    last = ZSTD_decompressStream(ctx, &o, &in);
    out.resize(used + o.pos);
    if (ZSTD_isError(last))
      return arrow::Status::Invalid("zstd: ", ZSTD_getErrorName(last));
    if (static_cast<int64_t>(out.size()) > max_size) {
      return arrow::Status::CapacityError(
          "zstd-compressed message decompresses to more than the maximum message size (",
          max_size, " bytes)");
    }
    if (o.pos == 0) {
      return arrow::Status::Invalid("zstd: truncated frame");
    }
  }
  return out;
}

arrow::Result<std::string> DecompressZstd(std::string_view bytes, int64_t max_size) {
  return ZstdDecoder().Decompress(bytes, max_size);
}

namespace {

// The first bytes of a zstd body (fewer when it is shorter or corrupt).
std::string ZstdHead(std::string_view compressed, size_t n) {
  std::string head(n, '\0');
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  if (!ctx) return {};
  ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, 27);
  ZSTD_outBuffer out{head.data(), head.size(), 0};
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  while (out.pos < out.size && in.pos < in.size) {
    const size_t r = ZSTD_decompressStream(ctx, &out, &in);
    if (ZSTD_isError(r) || r == 0) break;
  }
  ZSTD_freeDCtx(ctx);
  head.resize(out.pos);
  return head;
}

// The batch_id of a BatchArrowRecords from its first bytes (of a message too large
// to decompress): Go's and Rust's encoders write field 1 first, and leave it out
// when 0 (proto3), so another first field means 0. nullopt when the bytes do not
// start like a BatchArrowRecords.
std::optional<int64_t> PeekBatchId(std::string_view head) {
  if (head.empty()) return std::nullopt;
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(head[i]); };
  if (byte(0) == 0x12 || byte(0) == 0x1a) return 0;
  if (byte(0) != 0x08) return std::nullopt;
  uint64_t id = 0;
  for (size_t i = 1; i < head.size() && i < 11; ++i) {
    id |= static_cast<uint64_t>(byte(i) & 0x7f) << (7 * (i - 1));
    if ((byte(i) & 0x80) == 0) return static_cast<int64_t>(id);
  }
  return std::nullopt;
}

// A tag and a varint of up to 10 bytes.
constexpr size_t kBatchIdHead = 11;

}  // namespace

// ---------------------------------------------------------------------------
// HPACK

struct HpackDecoder::Inflater {
  nghttp2_hd_inflater* ptr = nullptr;
  ~Inflater() {
    if (ptr) nghttp2_hd_inflate_del(ptr);
  }
};

HpackDecoder::HpackDecoder() : inflater_(std::make_unique<Inflater>()) {
  // Failure (out of memory) leaves ptr null: Decode reports it.
  (void)nghttp2_hd_inflate_new(&inflater_->ptr);
}

HpackDecoder::~HpackDecoder() = default;

arrow::Result<std::vector<Header>> HpackDecoder::Decode(std::string_view block,
                                                        int64_t max_bytes) {
  std::vector<Header> headers;
  if (block.empty()) return headers;
  if (!inflater_->ptr) return arrow::Status::OutOfMemory("hpack: no decoder");
  auto* in = reinterpret_cast<uint8_t*>(const_cast<char*>(block.data()));
  size_t left = block.size();
  int64_t total = 0;
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    const ssize_t used =
        nghttp2_hd_inflate_hd2(inflater_->ptr, &nv, &flags, in, left, /*in_final=*/1);
    if (used < 0) {
      return arrow::Status::Invalid("hpack: malformed header block (",
                                    nghttp2_strerror(static_cast<int>(used)), ")");
    }
    in += used;
    left -= static_cast<size_t>(used);
    if (flags & NGHTTP2_HD_INFLATE_EMIT) {
      // 32 bytes per field beside name and value, as HTTP/2 counts a header list:
      // empty fields (one byte each from the dynamic table) are not free.
      total += static_cast<int64_t>(nv.namelen + nv.valuelen) + 32;
      if (total > max_bytes) {
        return arrow::Status::Invalid("hpack: headers exceed ", max_bytes, " bytes");
      }
      headers.emplace_back(std::string(reinterpret_cast<char*>(nv.name), nv.namelen),
                           std::string(reinterpret_cast<char*>(nv.value), nv.valuelen));
    }
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(inflater_->ptr);
      break;
    }
    if ((flags & NGHTTP2_HD_INFLATE_EMIT) == 0 && left == 0) {
      return arrow::Status::Invalid("hpack: truncated header block");
    }
  }
  return headers;
}

// ---------------------------------------------------------------------------
// Memory

bool LimitedMemoryPool::Reserve(int64_t size) {
  int64_t now = allocated_.load();
  do {
    if (now + size > limit_) return false;
  } while (!allocated_.compare_exchange_weak(now, now + size));
  int64_t peak = max_.load();
  while (now + size > peak && !max_.compare_exchange_weak(peak, now + size)) {
  }
  return true;
}

arrow::Status LimitedMemoryPool::Allocate(int64_t size, int64_t alignment,
                                          uint8_t** out) {
  if (size < 0 || !Reserve(size)) {
    return arrow::Status::OutOfMemory("stream memory limit (arrow.memory_limit_mib) of ",
                                      limit_, " bytes reached allocating ", size,
                                      " bytes");
  }
  arrow::Status st = base_->Allocate(size, alignment, out);
  if (!st.ok()) {
    allocated_ -= size;
    return st;
  }
  total_ += size;
  count_++;
  return st;
}

arrow::Status LimitedMemoryPool::Reallocate(int64_t old_size, int64_t new_size,
                                            int64_t alignment, uint8_t** ptr) {
  const int64_t grow = new_size - old_size;
  if (grow > 0 && !Reserve(grow)) {
    return arrow::Status::OutOfMemory("stream memory limit (arrow.memory_limit_mib) of ",
                                      limit_, " bytes reached");
  }
  arrow::Status st = base_->Reallocate(old_size, new_size, alignment, ptr);
  if (!st.ok()) {
    if (grow > 0) allocated_ -= grow;
    return st;
  }
  if (grow < 0) allocated_ += grow;
  if (grow > 0) total_ += grow;
  return st;
}

void LimitedMemoryPool::Free(uint8_t* buffer, int64_t size, int64_t alignment) {
  base_->Free(buffer, size, alignment);
  allocated_ -= size;
}

namespace {
std::mutex& PoolMutex() {
  static std::mutex mutex;
  return mutex;
}
std::vector<LimitedMemoryPool*>& Pools() {
  static auto* pools = new std::vector<LimitedMemoryPool*>();
  return *pools;
}
}  // namespace

LimitedMemoryPool* LimitedMemoryPool::Acquire(int64_t limit) {
  std::lock_guard<std::mutex> lock(PoolMutex());
  for (LimitedMemoryPool* pool : Pools()) {
    if (!pool->in_use_ && pool->allocated_.load() == 0) {
      pool->in_use_ = true;
      pool->limit_ = limit;
      return pool;
    }
  }
  auto* pool = new LimitedMemoryPool(arrow::default_memory_pool(), limit);
  pool->in_use_ = true;
  Pools().push_back(pool);
  return pool;
}

void LimitedMemoryPool::Release(LimitedMemoryPool* pool) {
  std::lock_guard<std::mutex> lock(PoolMutex());
  pool->in_use_ = false;
}

// ---------------------------------------------------------------------------
// Streams

namespace {

class Collector : public arrow::ipc::Listener {
 public:
  arrow::Status OnRecordBatchDecoded(std::shared_ptr<arrow::RecordBatch> batch) override {
    batches.push_back(std::move(batch));
    return arrow::Status::OK();
  }
  arrow::Status OnEOS() override {
    eos = true;
    return arrow::Status::OK();
  }
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  bool eos = false;
};

// Go's pdata has no absent trace/span id: an empty one is sent as zero bytes, and
// pdata never marshals it to OTLP. Turned into null, as OTLP's absent id is here.
// The new validity bitmaps come from `pool` (the stream's: they count against its
// limit like the rest of the batch).
arrow::Result<std::shared_ptr<arrow::RecordBatch>> NullZeroIds(
    std::shared_ptr<arrow::RecordBatch> batch, arrow::MemoryPool* pool) {
  std::vector<std::shared_ptr<arrow::Array>> columns = batch->columns();
  bool changed = false;
  for (int c = 0; c < batch->num_columns(); ++c) {
    const std::string& name = batch->schema()->field(c)->name();
    if (name != "trace_id" && name != "span_id" && name != "parent_span_id") continue;
    if (!batch->schema()->field(c)->nullable()) continue;
    if (columns[c]->type_id() != arrow::Type::FIXED_SIZE_BINARY) continue;
    const auto& ids = static_cast<const arrow::FixedSizeBinaryArray&>(*columns[c]);
    const int32_t width = ids.byte_width();
    std::vector<int64_t> zero_rows;
    for (int64_t i = 0; i < ids.length(); ++i) {
      if (ids.IsNull(i)) continue;
      const uint8_t* v = ids.GetValue(i);
      bool zero = true;
      for (int32_t b = 0; b < width && zero; ++b) zero = v[b] == 0;
      if (zero) zero_rows.push_back(i);
    }
    if (zero_rows.empty()) continue;
    const int64_t offset = ids.offset();
    ARROW_ASSIGN_OR_RAISE(auto validity,
                          arrow::AllocateBitmap(offset + ids.length(), pool));
    uint8_t* bits = validity->mutable_data();
    for (int64_t i = 0; i < ids.length(); ++i) {
      arrow::bit_util::SetBitTo(bits, offset + i, ids.IsValid(i));
    }
    for (int64_t i : zero_rows) arrow::bit_util::ClearBit(bits, offset + i);
    auto data = ids.data()->Copy();
    data->buffers[0] = std::move(validity);
    data->null_count = arrow::kUnknownNullCount;
    columns[c] = arrow::MakeArray(data);
    changed = true;
  }
  if (!changed) return batch;
  return arrow::RecordBatch::Make(batch->schema(), batch->num_rows(), std::move(columns));
}

// A struct child the canonical schema requires (AnyValue `type`) may be null under a
// null struct slot (Go appends a null `body` for a log record without one). Such
// slots become 0 (Empty), as our OTLP conversion writes them. The filled values
// come from `pool`, as in NullZeroIds.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> FillRequiredStructChildren(
    std::shared_ptr<arrow::RecordBatch> batch, arrow::MemoryPool* pool) {
  std::vector<std::shared_ptr<arrow::Array>> columns = batch->columns();
  bool changed = false;
  for (int c = 0; c < batch->num_columns(); ++c) {
    if (columns[c]->type_id() != arrow::Type::STRUCT) continue;
    const auto& parent = static_cast<const arrow::StructArray&>(*columns[c]);
    auto data = parent.data()->Copy();
    bool child_changed = false;
    for (int f = 0; f < parent.num_fields(); ++f) {
      const auto& field = parent.type()->field(f);
      const auto& child = data->child_data[f];
      if (field->nullable() || !arrow::is_integer(field->type()->id())) continue;
      auto child_array = arrow::MakeArray(child);
      if (child_array->null_count() == 0) continue;
      const int width = field->type()->byte_width();
      const int64_t offset = child->offset;
      ARROW_ASSIGN_OR_RAISE(
          auto values, arrow::AllocateBuffer((offset + child->length) * width, pool));
      std::memcpy(values->mutable_data(), child->buffers[1]->data(),
                  static_cast<size_t>((offset + child->length) * width));
      for (int64_t i = 0; i < child->length; ++i) {
        if (child_array->IsNull(i)) {
          std::memset(values->mutable_data() + (offset + i) * width, 0, width);
        }
      }
      auto filled = child->Copy();
      filled->buffers = {nullptr, std::shared_ptr<arrow::Buffer>(std::move(values))};
      filled->null_count = 0;
      data->child_data[f] = std::move(filled);
      child_changed = true;
    }
    if (!child_changed) continue;
    columns[c] = arrow::MakeArray(data);
    changed = true;
  }
  if (!changed) return batch;
  return arrow::RecordBatch::Make(batch->schema(), batch->num_rows(), std::move(columns));
}

// Dictionary indices in [0, dictionary length) on every non-null row.
template <typename C>
arrow::Status CheckIndexRange(const arrow::ArrayData& indices, int64_t size) {
  const C* values = indices.GetValues<C>(1);
  const uint8_t* validity = indices.GetNullCount() != 0 && indices.buffers[0]
                                ? indices.buffers[0]->data()
                                : nullptr;
  for (int64_t i = 0; i < indices.length; ++i) {
    if (validity && !arrow::bit_util::GetBit(validity, indices.offset + i)) continue;
    const C v = values[i];
    if constexpr (std::is_signed_v<C>) {
      if (v < 0) return arrow::Status::Invalid("negative dictionary index ", v);
    }
    if (static_cast<uint64_t>(v) >= static_cast<uint64_t>(size)) {
      return arrow::Status::Invalid("dictionary index ", v, " out of range (", size,
                                    " values)");
    }
  }
  return arrow::Status::OK();
}

arrow::Status CheckIndices(const arrow::ArrayData& indices, int64_t size) {
  switch (indices.type->id()) {
    case arrow::Type::UINT8:
      return CheckIndexRange<uint8_t>(indices, size);
    case arrow::Type::INT8:
      return CheckIndexRange<int8_t>(indices, size);
    case arrow::Type::UINT16:
      return CheckIndexRange<uint16_t>(indices, size);
    case arrow::Type::INT16:
      return CheckIndexRange<int16_t>(indices, size);
    case arrow::Type::UINT32:
      return CheckIndexRange<uint32_t>(indices, size);
    case arrow::Type::INT32:
      return CheckIndexRange<int32_t>(indices, size);
    case arrow::Type::UINT64:
      return CheckIndexRange<uint64_t>(indices, size);
    case arrow::Type::INT64:
      return CheckIndexRange<int64_t>(indices, size);
    default:
      return arrow::Status::Invalid("dictionary indices of type ",
                                    indices.type->ToString());
  }
}

// Whether `next` starts with the values of `known` (String/Binary dictionaries):
// same lengths and bytes. Only `known` has been validated; `next`'s offsets are
// read within its buffers' bounds only.
bool StartsWith(const arrow::ArrayData& next, const arrow::ArrayData& known) {
  if (next.length < known.length || !next.buffers[1] || !known.buffers[1]) return false;
  if (next.buffers[1]->size() <
      static_cast<int64_t>((next.offset + known.length + 1) * sizeof(int32_t))) {
    return false;
  }
  if ((next.GetNullCount() != 0) || (known.GetNullCount() != 0)) return false;
  const int32_t* a = known.GetValues<int32_t>(1);
  const int32_t* b = next.GetValues<int32_t>(1);
  const size_t offsets_bytes = static_cast<size_t>(known.length + 1) * sizeof(int32_t);
  if (a[0] == b[0]) {
    if (std::memcmp(a, b, offsets_bytes) != 0) return false;
  } else {
    // In 64 bits: `next`'s offsets are unchecked (INT32_MIN - 1 overflows int).
    for (int64_t i = 0; i <= known.length; ++i) {
      if (int64_t{b[i]} - b[0] != int64_t{a[i]} - a[0]) return false;
    }
  }
  const int64_t bytes = a[known.length] - a[0];
  if (bytes == 0) return true;
  if (b[0] < 0 || !next.buffers[2] || !known.buffers[2] ||
      next.buffers[2]->size() < b[0] + bytes) {
    return false;
  }
  return std::memcmp(next.buffers[2]->data() + b[0], known.buffers[2]->data() + a[0],
                     static_cast<size_t>(bytes)) == 0;
}

int CountDictionaryFields(const arrow::DataType& type) {
  int n = type.id() == arrow::Type::DICTIONARY ? 1 : 0;
  const arrow::DataType& inner =
      type.id() == arrow::Type::DICTIONARY
          ? *static_cast<const arrow::DictionaryType&>(type).value_type()
          : type;
  for (const auto& field : inner.fields()) n += CountDictionaryFields(*field->type());
  return n;
}

// The dictionary batches of one payload's IPC messages (framing and headers only),
// and the schema when the payload carries one.
class PayloadScan : public arrow::ipc::MessageDecoderListener {
 public:
  arrow::Status OnMessageDecoded(std::unique_ptr<arrow::ipc::Message> message) override {
    if (message->type() == arrow::ipc::MessageType::DICTIONARY_BATCH) {
      dictionary_batches++;
    } else if (message->type() == arrow::ipc::MessageType::SCHEMA) {
      arrow::ipc::DictionaryMemo memo;
      ARROW_ASSIGN_OR_RAISE(schema, arrow::ipc::ReadSchema(*message, &memo));
    }
    return arrow::Status::OK();
  }
  int dictionary_batches = 0;
  std::shared_ptr<arrow::Schema> schema;
};

// At most one dictionary batch per dictionary field in a payload: what Go and Rust
// send (one record batch's deltas or replacements). Arrow concatenates the whole
// dictionary for every delta: thousands of one-value deltas in one message, each
// copying a large dictionary, cost CPU out of proportion to the message.
arrow::Status CheckDictionaryBatches(const std::shared_ptr<arrow::Buffer>& bytes,
                                     const std::shared_ptr<arrow::Schema>& known) {
  auto scan = std::make_shared<PayloadScan>();
  // Bodies are slices of `bytes` (skip_body loses the framing after a body).
  arrow::ipc::MessageDecoder messages(scan);
  // Malformed bytes are reported by the stream decoder itself.
  if (!messages.Consume(bytes).ok()) return arrow::Status::OK();
  const std::shared_ptr<arrow::Schema>& schema = scan->schema ? scan->schema : known;
  int allowed = 0;
  if (schema) {
    for (const auto& field : schema->fields())
      allowed += CountDictionaryFields(*field->type());
  }
  if (scan->dictionary_batches > allowed) {
    return arrow::Status::Invalid(scan->dictionary_batches,
                                  " dictionary batches in one payload, for ", allowed,
                                  " dictionary fields");
  }
  return arrow::Status::OK();
}

bool AllowedFor(Signal signal, PayloadType type) {
  if (type == PayloadType::kMultivariateMetrics) return false;
  for (PayloadType t : PayloadTypesOf(signal)) {
    if (t == type) return true;
  }
  return false;
}

}  // namespace

// Full validation of decoded IPC batches (lengths, offsets, UTF-8, dictionary
// indices) that validates each dictionary value once per stream. Arrow hands out the
// same dictionary ArrayData while no dictionary batch arrives, and after a delta a
// new one that starts with the old values: validating every batch's dictionaries in
// full cost ~15% of receiver:otap's CPU (they reach 65,535 strings).
class DictionaryValidator {
 public:
  explicit DictionaryValidator(int64_t* validated_values)
      : validated_values_(validated_values) {}

  arrow::Status Validate(const arrow::RecordBatch& batch) {
    ARROW_RETURN_NOT_OK(batch.Validate());  // column lengths and types
    std::map<std::string, std::shared_ptr<arrow::ArrayData>> seen;
    for (int c = 0; c < batch.num_columns(); ++c) {
      const auto& data = batch.column_data(c);
      ARROW_ASSIGN_OR_RAISE(auto shadow, Shadow(data, std::to_string(c), &seen));
      ARROW_RETURN_NOT_OK(arrow::MakeArray(shadow)->ValidateFull());
    }
    validated_ = std::move(seen);  // only the dictionaries still in use stay alive
    return arrow::Status::OK();
  }

 private:
  // `data` with every dictionary column replaced by its (range checked) indices once
  // its dictionary is validated, so that ValidateFull sees no dictionary at all.
  arrow::Result<std::shared_ptr<arrow::ArrayData>> Shadow(
      const std::shared_ptr<arrow::ArrayData>& data, const std::string& path,
      std::map<std::string, std::shared_ptr<arrow::ArrayData>>* seen) {
    const arrow::DataType& type = *data->type;
    if (type.id() == arrow::Type::DICTIONARY) {
      const auto& dict = data->dictionary;
      if (!dict) return arrow::Status::Invalid("dictionary column without dictionary");
      ARROW_RETURN_NOT_OK(ValidateDictionary(dict, path));
      (*seen)[path] = dict;
      auto indices = data->Copy();
      indices->type = static_cast<const arrow::DictionaryType&>(type).index_type();
      indices->dictionary = nullptr;
      ARROW_RETURN_NOT_OK(arrow::MakeArray(indices)->Validate());
      ARROW_RETURN_NOT_OK(CheckIndices(*indices, dict->length));
      return indices;
    }
    if (type.id() != arrow::Type::STRUCT && type.id() != arrow::Type::LIST) return data;
    if (data->child_data.size() != static_cast<size_t>(type.num_fields())) {
      return data;  // malformed: ValidateFull reports it
    }
    arrow::FieldVector fields;
    std::vector<std::shared_ptr<arrow::ArrayData>> children;
    bool changed = false;
    for (int f = 0; f < type.num_fields(); ++f) {
      const auto& child = data->child_data[f];
      ARROW_ASSIGN_OR_RAISE(auto shadow,
                            Shadow(child, path + "." + std::to_string(f), seen));
      changed |= shadow != child;
      fields.push_back(type.field(f)->WithType(shadow->type));
      children.push_back(std::move(shadow));
    }
    if (!changed) return data;
    auto copy = data->Copy();
    copy->type = type.id() == arrow::Type::STRUCT ? arrow::struct_(std::move(fields))
                                                  : arrow::list(fields[0]);
    copy->child_data = std::move(children);
    return copy;
  }

  arrow::Status ValidateDictionary(const std::shared_ptr<arrow::ArrayData>& dict,
                                   const std::string& path) {
    auto it = validated_.find(path);
    if (it != validated_.end() && it->second == dict) return arrow::Status::OK();
    const auto id = dict->type->id();
    if (it != validated_.end() &&
        (id == arrow::Type::STRING || id == arrow::Type::BINARY) &&
        it->second->type->Equals(*dict->type) && StartsWith(*dict, *it->second)) {
      // A delta: only the new values need the full check.
      const int64_t known = it->second->length;
      auto whole = arrow::MakeArray(dict);
      ARROW_RETURN_NOT_OK(whole->Validate());
      *validated_values_ += dict->length - known;
      return whole->Slice(known)->ValidateFull();
    }
    *validated_values_ += dict->length;
    return arrow::MakeArray(dict)->ValidateFull();
  }

  int64_t* validated_values_;
  std::map<std::string, std::shared_ptr<arrow::ArrayData>> validated_;  ///< by column
};

struct StreamDecoder::IpcStream {
  PayloadType type = PayloadType::kUnknown;
  std::shared_ptr<Collector> collector;
  std::unique_ptr<arrow::ipc::StreamDecoder> decoder;
  // Shared: a later payload of the same batch may replace this stream.
  std::shared_ptr<DictionaryValidator> validator;
};

StreamDecoder::StreamDecoder(Signal signal, DecodeLimits limits)
    : signal_(signal),
      limits_(limits),
      pool_(LimitedMemoryPool::Acquire(limits.memory_limit)) {}

StreamDecoder::~StreamDecoder() {
  streams_.clear();
  LimitedMemoryPool::Release(pool_);
}

DecodedBar StreamDecoder::Decode(std::string_view message, GrpcCompression compression) {
  DecodedBar out;
  const int64_t memory_before = pool_->bytes_allocated();
  std::string inflated;
  // gzip and deflate as gRPC flagged the message; zstd by its magic (gRPC C++ does
  // not know the encoding and passes the message through unflagged).
  const bool zstd = compression == GrpcCompression::kNone && IsZstdFrame(message);
  if (zstd || compression != GrpcCompression::kNone) {
    const util::DeflateFormat format = compression == GrpcCompression::kGzip
                                           ? util::DeflateFormat::kGzip
                                           : util::DeflateFormat::kZlib;
    const auto max_size = static_cast<size_t>(limits_.max_message_size);
    auto r = zstd ? zstd_.Decompress(message, limits_.max_message_size)
                  : util::Inflate(message, max_size, format);
    if (!r.ok()) {
      out.status = r.status();
      if (!zstd) {
        // The zstd decoder words its own errors.
        const char* name = compression == GrpcCompression::kGzip ? "gzip" : "deflate";
        out.status = r.status().IsCapacityError()
                         ? arrow::Status::CapacityError(
                               name,
                               "-compressed message decompresses to more than the "
                               "maximum message size (",
                               max_size, " bytes)")
                         : arrow::Status::Invalid(name, ": ", r.status().message());
      }
      if (r.status().IsCapacityError()) {
        // Too large on any stream: refused for good when its batch_id can be read
        // (else the sender retries it forever). Its headers were skipped: the
        // HPACK table may be out of step, so the stream ends after it.
        out.batch_id =
            PeekBatchId(zstd ? ZstdHead(message, kBatchIdHead)
                             : util::InflatePrefix(message, kBatchIdHead, format));
        out.stream_usable = !out.batch_id;
      }
      // Otherwise the stream's state was not touched: the next message can still be
      // decoded, but without a batch_id this one cannot be answered.
      return out;
    }
    inflated = std::move(*r);
    message = inflated;
  }
  out.message_bytes = static_cast<int64_t>(message.size());
  if (out.message_bytes > limits_.max_message_size) {
    out.status = arrow::Status::CapacityError("message of ", out.message_bytes,
                                              " bytes exceeds the maximum message size (",
                                              limits_.max_message_size, " bytes)");
    return out;
  }
  pb::BatchArrowRecords bar;
  {
    // Protobuf logs a string field with invalid UTF-8 (a schema_id) to stderr, a
    // line per message a client sends: it goes into the error instead.
    otlp::internal::ProtobufLogCapture capture;
    if (!bar.ParseFromArray(message.data(), static_cast<int>(message.size()))) {
      out.status = arrow::Status::Invalid(
          "malformed protobuf: not a BatchArrowRecords (", message.size(), " bytes)",
          capture.empty() ? "" : ": ", capture.messages());
      return out;
    }
  }
  out.batch_id = bar.batch_id();
  auto headers = hpack_.Decode(bar.headers(), limits_.max_header_bytes);
  if (!headers.ok()) {
    out.status = headers.status();
    out.stream_usable = false;
    return out;
  }
  out.headers = std::move(*headers);
  arrow::Status st = DecodePayloads(&bar, &out);
  if (!st.ok()) {
    out.status = st.WithMessage("batch ", bar.batch_id(), ": ", st.message());
    // Retryable only when other memory (batches in the pipeline, dictionaries) was
    // in the way: a fresh stream may have room. A batch that alone needs more than
    // the limit would fail the same way on any stream.
    out.retryable = st.IsOutOfMemory() && memory_before > 0;
    out.batch.reset();
  }
  return out;
}

arrow::Status StreamDecoder::DecodePayloads(const void* bar_ptr, DecodedBar* out) {
  const auto& bar = *static_cast<const pb::BatchArrowRecords*>(bar_ptr);
  OtapBatch batch(signal_);
  // IPC decoding first, for every payload: each advances its stream's state, which
  // must stay in step with the sender even when a later payload is refused.
  struct Decoded {
    PayloadType type;
    std::shared_ptr<arrow::RecordBatch> batch;
    std::shared_ptr<DictionaryValidator> validator;
  };
  std::vector<Decoded> decoded;
  for (const pb::ArrowPayload& payload : bar.arrow_payloads()) {
    const auto type = static_cast<PayloadType>(payload.type());
    const int type_number = static_cast<int>(payload.type());
    if (!AllowedFor(signal_, type)) {
      out->stream_usable = false;  // its IPC stream was skipped
      return arrow::Status::Invalid("payload type ", type_number, " (schema_id \"",
                                    payload.schema_id(), "\") is not allowed in a ",
                                    SignalName(signal_), " stream");
    }
    stats_.payloads++;
    auto it = streams_.find(payload.schema_id());
    if (it == streams_.end()) {
      // A new schema_id replaces every decoder of that payload type (upstream's
      // consumers do the same).
      for (auto s = streams_.begin(); s != streams_.end();) {
        s = s->second->type == type ? streams_.erase(s) : std::next(s);
      }
      auto stream = std::make_unique<IpcStream>();
      stream->type = type;
      stream->collector = std::make_shared<Collector>();
      stream->validator =
          std::make_shared<DictionaryValidator>(&stats_.dictionary_values_validated);
      auto options = arrow::ipc::IpcReadOptions::Defaults();
      options.memory_pool = pool_;
      // Arrow's thread pool would decompress each buffer on another thread: a
      // handoff per buffer, and the engine gives a receiver one core.
      options.use_threads = false;
      stream->decoder =
          std::make_unique<arrow::ipc::StreamDecoder>(stream->collector, options);
      it = streams_.emplace(payload.schema_id(), std::move(stream)).first;
      stats_.schema_resets++;
    } else if (it->second->type != type) {
      out->stream_usable = false;
      return arrow::Status::Invalid(
          "schema_id \"", payload.schema_id(), "\" was used for payload type ",
          static_cast<int>(it->second->type), ", now for ", type_number);
    }
    IpcStream& stream = *it->second;
    // Copied into the stream's pool: decoded arrays may point into these bytes.
    const std::string& record = payload.record();
    auto buffer = arrow::AllocateBuffer(static_cast<int64_t>(record.size()), pool_);
    if (!buffer.ok()) {
      out->stream_usable = false;
      return buffer.status();
    }
    if (!record.empty())
      std::memcpy((*buffer)->mutable_data(), record.data(), record.size());
    stream.collector->batches.clear();
    std::shared_ptr<arrow::Buffer> bytes(std::move(*buffer));
    arrow::Status st = CheckDictionaryBatches(bytes, stream.decoder->schema());
    if (st.ok()) st = stream.decoder->Consume(std::move(bytes));
    if (st.ok() && stream.collector->batches.size() != 1) {
      st = arrow::Status::Invalid("expected exactly one record batch, the payload held ",
                                  stream.collector->batches.size(),
                                  stream.collector->eos ? " and an end of stream" : "");
    }
    if (st.ok() && stream.decoder->next_required_size() != 4 &&
        stream.decoder->next_required_size() != 8) {
      st = arrow::Status::Invalid("payload ends inside an IPC message");
    }
    if (!st.ok()) {
      out->stream_usable = false;
      streams_.erase(it);
      return st.WithMessage(TableName(type), " (schema_id \"", payload.schema_id(),
                            "\"): Arrow IPC: ", st.message());
    }
    decoded.push_back(
        {type, std::move(stream.collector->batches.front()), stream.validator});
    stream.collector->batches.clear();
  }
  for (auto& [type, record_batch, validator] : decoded) {
    if (record_batch->num_rows() == 0) continue;  // same as absent (spec)
    // A batch may claim rows it carries no bytes for (no columns, Null-type ones);
    // every canonical table needs at least a byte per row, so more rows than the
    // stream's memory limit can never be decoded within it.
    if (record_batch->num_rows() > limits_.memory_limit) {
      return arrow::Status::Invalid(TableName(type), ": ", record_batch->num_rows(),
                                    " rows, more than the stream memory limit of ",
                                    limits_.memory_limit, " bytes can hold");
    }
    // Lengths, offsets and dictionary indices checked before anything reads them.
    if (arrow::Status st = validator->Validate(*record_batch); !st.ok()) {
      return st.WithMessage(TableName(type), ": invalid record batch: ", st.message());
    }
    if (batch.Get(type)) {
      return arrow::Status::Invalid("payload type ", TableName(type),
                                    " appears twice in one batch");
    }
    schema::NormalizeOptions normalize;
    normalize.pool = pool_;  // nulls for missing columns count against the limit
    // Validate above range-checked every dictionary's indices.
    normalize.dictionary_indices_checked = true;
    ARROW_ASSIGN_OR_RAISE(auto canonical,
                          schema::NormalizeToCanonical(type, record_batch, normalize));
    ARROW_ASSIGN_OR_RAISE(canonical, NullZeroIds(std::move(canonical), pool_));
    ARROW_ASSIGN_OR_RAISE(canonical,
                          FillRequiredStructChildren(std::move(canonical), pool_));
    batch.Set(type, std::move(canonical));
  }
  if (!batch.root() || batch.root()->num_rows() == 0) return arrow::Status::OK();
  // The decoded ids are held with the batch: in the stream's memory, as the rest.
  ARROW_ASSIGN_OR_RAISE(OtapBatch plain, DecodeTransportIds(batch, pool_));
  // In full above, before normalization; what it made of valid data is valid.
  ARROW_RETURN_NOT_OK(plain.Validate(/*full_arrow=*/false));
  out->batch = std::move(plain);
  return arrow::Status::OK();
}

}  // namespace otap_parquet::otap_wire
