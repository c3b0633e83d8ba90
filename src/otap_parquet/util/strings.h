// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

/// \file
/// ASCII string helpers shared by config parsing, HTTP and file-name handling.

namespace otap_parquet::util {

/// \brief `s` with ASCII letters lower-cased (other bytes unchanged, so UTF-8 is safe).
inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace otap_parquet::util
