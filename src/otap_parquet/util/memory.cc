// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/memory.h"

#include <cstdlib>

#include <fmt/format.h>

namespace otap_parquet::util {

namespace {

constexpr const char* kArrowPoolVariable = "ARROW_DEFAULT_MEMORY_POOL";

bool HasJemalloc() {
  arrow::MemoryPool* pool = nullptr;
  return arrow::jemalloc_memory_pool(&pool).ok() && pool != nullptr;
}

}  // namespace

arrow::MemoryPool* DataMemoryPool() {
  static arrow::MemoryPool* const pool = []() -> arrow::MemoryPool* {
    // An explicit choice wins (e.g. the sanitizer run's `system`, which ASan sees).
    if (std::getenv(kArrowPoolVariable) != nullptr) return arrow::default_memory_pool();
    arrow::MemoryPool* jemalloc = nullptr;
    if (arrow::jemalloc_memory_pool(&jemalloc).ok() && jemalloc != nullptr) {
      return jemalloc;
    }
    return arrow::default_memory_pool();
  }();
  return pool;
}

std::string MemoryPolicy::ToString() const {
  return fmt::format("arrow pool {} ({})", arrow_pool,
                     arrow_pool_from_user ? "ARROW_DEFAULT_MEMORY_POOL" : "default");
}

MemoryPolicy ApplyProcessMemoryPolicy() {
  MemoryPolicy policy;
  // jemalloc reads this once, when it starts; keep freed pages 10 s instead of 1 s
  // so that encoders reuse them rather than fault in fresh zeroed pages.
  ::setenv("JE_ARROW_MALLOC_CONF", "dirty_decay_ms:10000,muzzy_decay_ms:10000",
           /*overwrite=*/0);
  policy.arrow_pool_from_user = std::getenv(kArrowPoolVariable) != nullptr;
  // Arrow reads the variable on the first call of default_memory_pool(), so this
  // reaches every Arrow allocation of the process (converters, compute kernels,
  // Parquet's own scratch buffers), not only those given DataMemoryPool().
  if (!policy.arrow_pool_from_user && HasJemalloc()) {
    ::setenv(kArrowPoolVariable, "jemalloc", /*overwrite=*/0);
  }
  policy.arrow_pool = arrow::default_memory_pool()->backend_name();
  return policy;
}

}  // namespace otap_parquet::util
