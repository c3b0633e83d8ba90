// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <arrow/compute/initialize.h>
#include <arrow/status.h>

namespace otap_parquet::util {

/// \brief Registers Arrow's compute kernels once per process. Arrow >= 21 registers
/// most of them (take, filter, cast of nested types…) only on request.
inline arrow::Status EnsureComputeInitialized() {
  static const arrow::Status status = arrow::compute::Initialize();
  return status;
}

}  // namespace otap_parquet::util
