// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/hex.h"

#include <cstdio>

#include <arrow/status.h>

namespace otap_parquet::util {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Printable ASCII as itself, anything else as \xNN, so messages stay valid UTF-8.
std::string DescribeChar(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string(1, c);
  char buf[8];
  std::snprintf(buf, sizeof(buf), "\\x%02x", u);
  return buf;
}

}  // namespace

std::string HexEncode(std::string_view bytes) {
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto u = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHexDigits[u >> 4];
    out[2 * i + 1] = kHexDigits[u & 0x0f];
  }
  return out;
}

arrow::Result<std::string> HexDecode(std::string_view hex) {
  // Report a bad character before an odd length: it is the more specific error.
  for (size_t i = 0; i < hex.size(); ++i) {
    if (HexValue(hex[i]) < 0) {
      return arrow::Status::Invalid("invalid hex character '", DescribeChar(hex[i]),
                                    "' at position ", i);
    }
  }
  if (hex.size() % 2 != 0) {
    return arrow::Status::Invalid("odd number of hex digits (", hex.size(), ")");
  }
  std::string out;
  out.resize(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>((HexValue(hex[2 * i]) << 4) | HexValue(hex[2 * i + 1]));
  }
  return out;
}

}  // namespace otap_parquet::util
