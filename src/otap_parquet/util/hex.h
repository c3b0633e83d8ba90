// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include <arrow/result.h>

/// \file
/// Hexadecimal encoding of byte strings (trace and span ids in OTLP/JSON).

namespace otap_parquet::util {

/// \brief Encodes `bytes` as lower-case hex, two digits per byte.
std::string HexEncode(std::string_view bytes);

/// \brief Decodes hex digits (upper or lower case) into bytes.
///
/// Strict: an empty input gives an empty string; an odd number of digits or any
/// character that is not a hex digit (whitespace and "0x" included) fails with
/// Invalid naming the character and its 0-based position.
arrow::Result<std::string> HexDecode(std::string_view hex);

}  // namespace otap_parquet::util
