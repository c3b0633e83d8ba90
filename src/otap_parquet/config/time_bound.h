// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>

#include <arrow/result.h>

/// \file
/// Time bounds as the CLI flags and receiver:parquet's config write them.

namespace otap_parquet::config {

/// \brief Parses a time bound: integer Unix nanoseconds, or RFC 3339 UTC
/// ("2026-11-23T10:00:00Z", fractional seconds allowed).
arrow::Result<int64_t> ParseTimeBound(const std::string& text);

}  // namespace otap_parquet::config
