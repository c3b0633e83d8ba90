// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/memory.h"

#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

namespace otap_parquet::util {

namespace {

constexpr const char* kArrowPoolVariable = "ARROW_DEFAULT_MEMORY_POOL";
constexpr const char* kJemallocVariable = "JE_ARROW_MALLOC_CONF";

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
  std::string out =
      fmt::format("arrow pool {} ({})", arrow_pool,
                  arrow_pool_from_user ? "ARROW_DEFAULT_MEMORY_POOL" : "default");
  if (dirty_decay_ms && muzzy_decay_ms) {
    out += fmt::format(", jemalloc dirty_decay_ms {} muzzy_decay_ms {}", *dirty_decay_ms,
                       *muzzy_decay_ms);
  }
  return out;
}

MemoryPolicy ApplyProcessMemoryPolicy(char** argv) {
  MemoryPolicy policy;
  // jemalloc read its options before main(): set ours and start again (once: the
  // variable is then set), so that encoders and decoders reuse freed pages rather
  // than fault in fresh zeroed ones.
  if (std::getenv(kJemallocVariable) == nullptr) {
    ::setenv(kJemallocVariable, kJemallocOptions, /*overwrite=*/0);
    if (argv != nullptr && argv[0] != nullptr) ::execv("/proc/self/exe", argv);
  }
  policy.arrow_pool_from_user = std::getenv(kArrowPoolVariable) != nullptr;
  // Arrow reads the variable on the first call of default_memory_pool(), so this
  // reaches every Arrow allocation of the process (converters, compute kernels,
  // Parquet's own scratch buffers), not only those given DataMemoryPool().
  if (!policy.arrow_pool_from_user && HasJemalloc()) {
    ::setenv(kArrowPoolVariable, "jemalloc", /*overwrite=*/0);
  }
  policy.arrow_pool = arrow::default_memory_pool()->backend_name();
  if (HasJemalloc()) {
    auto dirty = arrow::jemalloc_get_stat("opt.dirty_decay_ms");
    auto muzzy = arrow::jemalloc_get_stat("opt.muzzy_decay_ms");
    if (dirty.ok()) policy.dirty_decay_ms = *dirty;
    if (muzzy.ok()) policy.muzzy_decay_ms = *muzzy;
  }
  return policy;
}

}  // namespace otap_parquet::util
