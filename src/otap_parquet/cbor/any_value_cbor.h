// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include <arrow/status.h>

#include "opentelemetry/proto/common/v1/common.pb.h"

/// \file
/// \brief CBOR encoding of OTLP AnyValue maps and arrays: the OTAP `ser` column.
///
/// Byte-compatible with upstream otel-arrow's Rust encoder (`encode/cbor.rs`, crate
/// serde_cbor), see otap-parquet-format.md §10.3:
///
/// | AnyValue               | CBOR                                                    |
/// | ---------------------- | ------------------------------------------------------- |
/// | kvlist_value           | indefinite-length map, text key → value                 |
/// | array_value            | indefinite-length array                                 |
/// | string_value           | definite text string                                    |
/// | bool_value             | true / false                                            |
/// | int_value              | integer (major type 0 or 1), shortest head              |
/// | double_value           | shortest of half/single/double that keeps the value     |
/// |                        | exactly; any NaN → f9 7e 00, ±inf → f9 7c 00 / f9 fc 00 |
/// | bytes_value            | definite byte string                                    |
/// | nothing set            | null (also a KeyValue without a value)                  |
///
/// The decoder accepts this and also what Go's encoder writes (definite-length
/// containers, sorted keys). All functions are thread-safe (no shared state).

namespace otap_parquet::cbor {

/// The OTLP common messages (generated code; below otlp/, which uses this layer).
namespace pb_common = ::opentelemetry::proto::common::v1;

/// \brief Most containers (maps and arrays) nested inside one another that the encoder
/// writes and the decoder accepts. A top-level map or array is depth 1.
inline constexpr int kMaxNestingDepth = 64;

/// \brief Append the CBOR encoding of `value` to `*out`.
///
/// Existing contents of `*out` are kept (callers reusing a buffer clear it first). On
/// error `*out` is restored to its size on entry.
/// \return Invalid if a string or key is not valid UTF-8 (CBOR text must be), or if
/// maps/arrays nest deeper than kMaxNestingDepth; NotImplemented for
/// `string_value_strindex` (a profiles string-table reference).
arrow::Status EncodeAnyValue(const pb_common::AnyValue& value, std::string* out);

/// \brief Append `kvlist` as an indefinite-length CBOR map (the `ser` of a Map value).
/// Same contract as EncodeAnyValue.
arrow::Status EncodeKeyValueList(const pb_common::KeyValueList& kvlist, std::string* out);

/// \brief Append `array` as an indefinite-length CBOR array (the `ser` of a Slice value).
/// Same contract as EncodeAnyValue.
arrow::Status EncodeArray(const pb_common::ArrayValue& array, std::string* out);

/// \brief Decode exactly one CBOR item, the whole of `cbor`, into `*out`.
///
/// `*out` is cleared first; on error it is left cleared. Map → kvlist_value (keys must
/// be text; a null key gives an empty key), array → array_value, text → string_value,
/// bytes → bytes_value, bool, integer → int_value, half/single/double → double_value,
/// null/undefined → nothing set. Definite and indefinite lengths are accepted,
/// including chunked strings. Every map entry gets a `value` (an empty AnyValue for
/// null), as upstream's Rust reader does.
///
/// Decode(Encode(v)) == v for every AnyValue v, except that NaN payloads are not kept
/// (all NaNs encode alike) and a KeyValue without a value comes back with an empty one.
///
/// \return Invalid ("invalid CBOR in ser: ...", naming the byte offset) for truncated
/// or malformed input, tags, simple values other than false/true/null/undefined,
/// non-text map keys, integers outside int64, text that is not UTF-8, nesting deeper
/// than kMaxNestingDepth, or bytes left after the item.
arrow::Status DecodeAnyValue(std::string_view cbor, pb_common::AnyValue* out);

}  // namespace otap_parquet::cbor
