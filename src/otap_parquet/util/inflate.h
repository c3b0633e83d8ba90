// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <arrow/result.h>

namespace otap_parquet::util {

/// \brief What a deflate body is wrapped in.
enum class DeflateFormat {
  kGzip,  ///< RFC 1952 (one or more members): gRPC's and HTTP's "gzip"
  kZlib,  ///< RFC 1950: gRPC's and HTTP's "deflate"
  kAuto,  ///< either, told apart by the first bytes (zlib detects which)
};

/// \brief Inflates `compressed` to at most `max_size` bytes. Stops as soon as the
/// output would exceed `max_size` (CapacityError), so a small body that expands to
/// gigabytes costs no more than `max_size`; corrupt, truncated or followed by
/// other bytes → Invalid.
arrow::Result<std::string> Inflate(std::string_view compressed, size_t max_size,
                                   DeflateFormat format);

/// \brief Up to the first `n` bytes `compressed` inflates to (fewer when it ends
/// or is corrupt before them): a peek that never inflates more than `n` bytes.
std::string InflatePrefix(std::string_view compressed, size_t n, DeflateFormat format);

/// \brief `plain` deflated in `format` (kAuto: gzip) at zlib's `level` (-1: its
/// default).
arrow::Result<std::string> Deflate(std::string_view plain, DeflateFormat format,
                                   int level = -1);

}  // namespace otap_parquet::util
