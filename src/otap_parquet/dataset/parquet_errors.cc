// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/parquet_errors.h"

#include <exception>
#include <new>
#include <string>

#include <parquet/exception.h>

namespace otap_parquet::dataset {

arrow::Status StatusFromCurrentException(std::string_view path,
                                         arrow::StatusCode fallback) {
  const std::string prefix = path.empty() ? "" : std::string(path) + ": ";
  try {
    throw;
  } catch (const parquet::ParquetStatusException& e) {
    // Keeps the code and detail (a storage failure stays one).
    return e.status().WithMessage(prefix, e.status().message());
  } catch (const std::bad_alloc&) {
    return arrow::Status::OutOfMemory(prefix, "out of memory");
  } catch (const std::exception& e) {
    return arrow::Status(fallback, prefix + e.what());
  } catch (...) {
    return arrow::Status(fallback, prefix + "unknown exception");
  }
}

}  // namespace otap_parquet::dataset
