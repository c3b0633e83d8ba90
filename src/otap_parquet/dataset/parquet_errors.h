// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>
#include <type_traits>
#include <utility>

#include <arrow/result.h>
#include <arrow/status.h>

/// \file
/// The one place where exceptions of the Parquet C++ API (ParquetException,
/// ParquetStatusException, std::bad_alloc, and what Arrow throws from footers and
/// statistics) become an arrow::Status naming the file, as Arrow's own
/// dataset/file_parquet.cc does. Dataset code calls Parquet through CatchParquet
/// instead of writing its own try/catch.

namespace otap_parquet::dataset {

/// \brief The exception being handled (call only inside a catch block) as a Status
/// `<path>: <what>` (`<what>` when `path` is empty, where the caller's message
/// names the file): a ParquetStatusException keeps its status code and detail,
/// std::bad_alloc becomes OutOfMemory, any other exception `fallback` (IOError by
/// default; Invalid where the caller knows it reads bytes already fetched).
arrow::Status StatusFromCurrentException(
    std::string_view path, arrow::StatusCode fallback = arrow::StatusCode::IOError);

/// \brief `fn()` (returning Status or Result<T>), with any exception it throws
/// turned into a Status by StatusFromCurrentException.
template <typename Fn>
auto CatchParquet(std::string_view path, Fn&& fn,
                  arrow::StatusCode fallback = arrow::StatusCode::IOError)
    -> decltype(std::forward<Fn>(fn)()) {
  try {
    return std::forward<Fn>(fn)();
  } catch (...) {
    return StatusFromCurrentException(path, fallback);
  }
}

}  // namespace otap_parquet::dataset
