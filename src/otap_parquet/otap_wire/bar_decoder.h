// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <arrow/memory_pool.h>
#include <arrow/result.h>

#include "otap_parquet/pdata/otap_batch.h"

/// \file
/// Decoding of OTel Arrow (OTAP) streams: one `BatchArrowRecords` message at a time,
/// with the state a stream carries across messages (an HPACK table for `headers`,
/// one Arrow IPC stream decoder per `schema_id`). Wire rules:
/// shared/docs/otap-protocol.md §2–§5, §7.

namespace otap_parquet::otap_wire {

/// \brief Whether `bytes` start with the zstd frame magic (28 B5 2F FD). A
/// `BatchArrowRecords` message never does (its first tag is 0x08, 0x12 or 0x1a), so
/// this tells a gRPC message compressed with zstd (Go's `zstdarrowN`, Rust's
/// `zstd`), which gRPC C++ passes through undecoded.
bool IsZstdFrame(std::string_view bytes);

/// \brief How gRPC flagged a received message: compressed with gzip or deflate
/// (the call's `grpc-encoding`, for a message whose compressed flag is set), or
/// not. gRPC C++ does not know zstd: such messages arrive unflagged and are told by
/// IsZstdFrame.
enum class GrpcCompression { kNone, kGzip, kDeflate };

/// \brief Decompresses zstd frames (all of them, concatenated), failing with
/// CapacityError as soon as the output would exceed `max_size` bytes (no
/// decompression bombs) and Invalid for corrupt input.
arrow::Result<std::string> DecompressZstd(std::string_view bytes, int64_t max_size);

/// \brief DecompressZstd with one zstd context kept across calls (a stream's
/// messages: creating a context per message cost ~1% of receiver:otap's CPU).
class ZstdDecoder {
 public:
  ZstdDecoder();
  ~ZstdDecoder();
  ZstdDecoder(const ZstdDecoder&) = delete;
  ZstdDecoder& operator=(const ZstdDecoder&) = delete;

  arrow::Result<std::string> Decompress(std::string_view bytes, int64_t max_size);

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
};

/// \brief One decoded header field of a batch.
using Header = std::pair<std::string, std::string>;

/// \brief A stream's HPACK decoder (RFC 7541, libnghttp2): the dynamic table lives
/// as long as the stream, as upstream's exporters expect.
class HpackDecoder {
 public:
  HpackDecoder();
  ~HpackDecoder();
  HpackDecoder(const HpackDecoder&) = delete;
  HpackDecoder& operator=(const HpackDecoder&) = delete;

  /// \brief Decodes one complete header block. Invalid on malformed input or when
  /// the decoded fields exceed `max_bytes` (name + value lengths + 32 per field, as
  /// HTTP/2's header list size); after an error the table state is undefined and
  /// the stream must end.
  arrow::Result<std::vector<Header>> Decode(std::string_view block, int64_t max_bytes);

 private:
  struct Inflater;
  std::unique_ptr<Inflater> inflater_;
};

/// \brief A memory pool that refuses allocations beyond a byte limit
/// (OutOfMemory), over the default pool. Bounds what one stream's IPC decoding can
/// allocate, including zstd-compressed IPC bodies that claim a huge size.
class LimitedMemoryPool : public arrow::MemoryPool {
 public:
  LimitedMemoryPool(arrow::MemoryPool* base, int64_t limit)
      : base_(base), limit_(limit) {}
  ~LimitedMemoryPool() override = default;

  using arrow::MemoryPool::Allocate;
  using arrow::MemoryPool::Free;
  using arrow::MemoryPool::Reallocate;
  arrow::Status Allocate(int64_t size, int64_t alignment, uint8_t** out) override;
  arrow::Status Reallocate(int64_t old_size, int64_t new_size, int64_t alignment,
                           uint8_t** ptr) override;
  void Free(uint8_t* buffer, int64_t size, int64_t alignment) override;
  int64_t bytes_allocated() const override { return allocated_.load(); }
  int64_t max_memory() const override { return max_.load(); }
  int64_t total_bytes_allocated() const override { return total_.load(); }
  int64_t num_allocations() const override { return count_.load(); }
  std::string backend_name() const override { return base_->backend_name(); }
  int64_t limit() const { return limit_; }

  /// \brief A pool for one stream. Pools are never freed, only reused once
  /// released and empty: the Arrow buffers of a stream's batches point to their pool
  /// and can outlive the stream in the pipeline.
  static LimitedMemoryPool* Acquire(int64_t limit);
  static void Release(LimitedMemoryPool* pool);

 private:
  bool Reserve(int64_t size);

  arrow::MemoryPool* base_;
  int64_t limit_;
  bool in_use_ = false;  ///< guarded by the registry's mutex
  std::atomic<int64_t> allocated_{0}, max_{0}, total_{0}, count_{0};
};

/// \brief Limits of one stream's decoding.
struct DecodeLimits {
  /// Largest message after gRPC-level decompression (`max_decoding_message_size`).
  int64_t max_message_size = 4 << 20;
  /// Decoded header bytes per batch.
  int64_t max_header_bytes = 64 << 10;
  /// Memory of the stream's IPC decoders: dictionaries, record batches still alive,
  /// decompressed IPC bodies (`arrow.memory_limit_mib`).
  int64_t memory_limit = int64_t{128} << 20;
};

/// \brief What one `BatchArrowRecords` message decoded to.
struct DecodedBar {
  /// The message's `batch_id`; nullopt when the bytes are not even a message.
  std::optional<int64_t> batch_id;
  /// Not OK: the batch is refused (answer INVALID_ARGUMENT, or UNAVAILABLE when
  /// `retryable`).
  arrow::Status status;
  /// The failure was the stream memory limit while other memory of the stream
  /// (batches in the pipeline, dictionaries) held part of it: retryable. A batch
  /// that alone exceeds the limit is not.
  bool retryable = false;
  /// False once the stream's HPACK or IPC state may no longer match the sender's:
  /// the stream must end after this batch's status.
  bool stream_usable = true;
  std::vector<Header> headers;
  /// The telemetry, ids decoded; nullopt for an empty batch (no root rows).
  std::optional<OtapBatch> batch;
  int64_t message_bytes = 0;  ///< after gRPC-level decompression
};

/// \brief Counters of one StreamDecoder (read by the receiver's metrics).
struct DecoderStats {
  int64_t schema_resets = 0;  ///< new schema_id for a payload type
  int64_t payloads = 0;
  /// Dictionary values checked in full (UTF-8, offsets): each value once per stream,
  /// not once per batch that uses its dictionary.
  int64_t dictionary_values_validated = 0;
};

/// \brief The decoding state of one OTel Arrow stream of one signal. Not
/// thread-safe: one message at a time, in stream order.
class StreamDecoder {
 public:
  StreamDecoder(Signal signal, DecodeLimits limits);
  ~StreamDecoder();
  StreamDecoder(const StreamDecoder&) = delete;
  StreamDecoder& operator=(const StreamDecoder&) = delete;

  /// \brief Decodes one gRPC message: inflated first when `compression` says so
  /// or when it is a zstd frame (never beyond DecodeLimits::max_message_size: a
  /// bomb is refused with CapacityError, its batch_id peeked), then a
  /// `BatchArrowRecords`. Payloads may come in any order; each is the next piece of
  /// its `schema_id`'s IPC stream ([Schema] [DictionaryBatch…] one RecordBatch; a new
  /// `schema_id` replaces the decoders of that payload type). Ids are transport
  /// decoded (`encoding` field metadata; absent means encoded).
  DecodedBar Decode(std::string_view message,
                    GrpcCompression compression = GrpcCompression::kNone);

  Signal signal() const { return signal_; }
  const DecoderStats& stats() const { return stats_; }
  /// \brief Bytes the stream's IPC state and live batches hold.
  int64_t memory_used() const { return pool_->bytes_allocated(); }

 private:
  struct IpcStream;

  arrow::Status DecodePayloads(const void* bar, DecodedBar* out);

  Signal signal_;
  DecodeLimits limits_;
  LimitedMemoryPool* pool_;
  HpackDecoder hpack_;
  ZstdDecoder zstd_;
  std::map<std::string, std::unique_ptr<IpcStream>> streams_;  ///< by schema_id
  DecoderStats stats_;
};

}  // namespace otap_parquet::otap_wire
