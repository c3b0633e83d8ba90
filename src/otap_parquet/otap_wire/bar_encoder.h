// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <arrow/result.h>

#include "otap_parquet/pdata/ids.h"
#include "otap_parquet/pdata/otap_batch.h"

/// \file
/// Encoding of OTel Arrow (OTAP) streams, the inverse of bar_decoder.h: one
/// `BatchArrowRecords` message per OtapBatch, with the state a stream carries across
/// messages (one Arrow IPC stream per payload type, dictionaries that grow by
/// deltas). Wire rules: shared/docs/otap-protocol.md §1 (exporter), §3.3, §4.

namespace otap_parquet::otap_wire {

/// Default zstd level of IPC bodies. Measured on a replay of 1 M logs (BENCHMARKS.md,
/// "receiver:parquet → exporter:otap replay").
inline constexpr int kDefaultPayloadZstdLevel = 1;

/// \brief How a stream's batches are encoded.
struct EncodeOptions {
  /// IPC body compression zstd (`arrow.payload_compression`); off = uncompressed.
  bool payload_zstd = true;
  /// zstd level of the IPC bodies (`arrow.payload_compression_level`; negative =
  /// zstd's fast levels, 0 = zstd's default 3).
  int payload_zstd_level = kDefaultPayloadZstdLevel;
  /// Send METRIC_ATTRS (26). Go receivers up to v0.148.0 fail the stream on it; when
  /// off, metric-level attributes are left out (counted in EncoderStats).
  bool send_metric_attrs = true;
  /// Repeated string columns (attribute `key` / `str`, schema URLs, scope name and
  /// version, severity text, event, span, metric names, ...) as
  /// Dictionary<UInt16, Utf8> with one dictionary per IPC stream that grows by
  /// deltas (native once it was replaced twice, see kReplacementsBeforeNative); off =
  /// native columns.
  bool dictionaries = true;
  /// Transport id encoding (`arrow.id_dialect`): Rust's (bitwise float equality,
  /// `encoding` metadata) or Go's producer's, which Go receivers decode exactly
  /// (NaN and -0.0 attribute/exemplar values; see pdata/ids.h IdDialect). Rust's
  /// also sends ids in df_engine's visiting order where the stored ones are not
  /// (children gathered by parent id, data points sorted by it): its child cursor
  /// loses rows otherwise (docs/otap.md, Compatibility notes).
  IdDialect id_dialect = IdDialect::kRust;
};

/// \brief Counters of one StreamEncoder.
struct EncoderStats {
  int64_t schemas = 0;               ///< schema_ids allocated (IPC streams started)
  int64_t dictionary_resets = 0;     ///< replacement dictionaries (a dictionary full)
  int64_t metric_attrs_dropped = 0;  ///< METRIC_ATTRS rows not sent
  /// Columns sent native from then on: their dictionaries filled up repeatedly.
  int64_t native_columns = 0;
};

/// \brief The encoding state of one OTel Arrow stream of one signal. Not
/// thread-safe: one batch at a time, in the order the messages are sent.
///
/// Per message: payloads root first (Go receivers up to v0.148.0 dispatch on the
/// first), zero-row tables left out, ids transport encoded with `encoding` field
/// metadata (EncodeTransportIds), only the canonical (spec) columns, no schema
/// metadata. An optional column that is all null is left out (peers read an absent
/// optional column as all null, otap-protocol.md §4.3) until the stream has sent it
/// once; from then on it stays, so that columns which come and go do not start a
/// new IPC stream each time. Each payload type has its own IPC stream, identified by a
/// `schema_id`
/// ("0", "1", ...) unique across the payload types of the stream; a schema change
/// starts a new one. Dictionary keys are UInt16 only.
class StreamEncoder {
 public:
  StreamEncoder(Signal signal, EncodeOptions options);
  ~StreamEncoder();
  StreamEncoder(const StreamEncoder&) = delete;
  StreamEncoder& operator=(const StreamEncoder&) = delete;

  /// \brief Encodes `batch` (canonical schemas, plain ids) as the serialized
  /// `BatchArrowRecords` with `batch_id` and HPACK `headers`. Invalid for a batch of
  /// another signal or without root rows (never sent: peers refuse an empty batch).
  /// After an error the IPC state may no longer match what the peer has seen: the
  /// stream must end.
  arrow::Result<std::string> Encode(const OtapBatch& batch, int64_t batch_id,
                                    const std::string& headers = "");

  /// \brief Forgets the IPC state (after a message that was not sent): the next
  /// message starts new IPC streams with new schema_ids, which make a peer drop
  /// its decoders of those payload types.
  void Reset();

  Signal signal() const { return signal_; }
  const EncoderStats& stats() const { return stats_; }

 private:
  struct IpcStream;
  class Sink;

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> ToWire(
      PayloadType type, const std::shared_ptr<arrow::RecordBatch>& batch,
      IpcStream* stream);
  // `column` at `path` ("body.str") as sent, `field` retyped to match; null when it
  // is left out (optional and all null).
  arrow::Result<std::shared_ptr<arrow::Array>> ColumnToWire(
      PayloadType type, const std::string& path, std::shared_ptr<arrow::Field>* field,
      std::shared_ptr<arrow::Array> column, IpcStream* stream);
  arrow::Result<std::shared_ptr<arrow::Array>> StructToWire(
      PayloadType type, const std::string& path, std::shared_ptr<arrow::Field>* field,
      std::shared_ptr<arrow::Array> column, IpcStream* stream);

  Signal signal_;
  EncodeOptions options_;
  /// A column whose dictionary had to be replaced this often is sent native for
  /// the rest of the stream (a new schema_id): its values are mostly new in every
  /// batch, so the dictionary costs a hash lookup per row and saves few bytes
  /// (like upstream's Go encoder, which falls back to native on overflow).
  static constexpr int kReplacementsBeforeNative = 2;

  std::map<PayloadType, std::unique_ptr<IpcStream>> streams_;
  std::map<std::pair<PayloadType, std::string>, int> replacements_;  // by column
  /// Optional columns (paths) sent since the last Reset: kept while all null.
  std::map<PayloadType, std::set<std::string>> sent_optional_;
  int64_t next_schema_id_ = 0;
  EncoderStats stats_;
};

/// \brief An upper bound of a batch's encoded size before IPC compression: the
/// bytes of Arrow buffers its rows reference (not the whole buffers a slice
/// shares) plus a margin for IPC framing. Splitting on it keeps each message
/// under a peer's maximum message size.
int64_t EstimateEncodedSize(const OtapBatch& batch);

/// \brief `batch` split by root rows (with their children, ConcatOtapBatches) into
/// parts whose EstimateEncodedSize is at most `max_size`; a single root row that
/// is larger stays whole. The batch itself when it fits.
arrow::Result<std::vector<OtapBatch>> SplitForMessageSize(const OtapBatch& batch,
                                                          int64_t max_size);

}  // namespace otap_parquet::otap_wire
