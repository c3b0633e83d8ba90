// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include <arrow/memory_pool.h>

/// \file
/// The process memory policy: which allocator serves Arrow buffers.

namespace otap_parquet::util {

/// \brief The pool for Arrow buffers on the data path (OTLP → Arrow builders,
/// Parquet encoders and decoders): Arrow's default pool when the user chose one with
/// `ARROW_DEFAULT_MEMORY_POOL`, else Arrow's jemalloc pool when the Arrow build has
/// it, else the default pool.
///
/// jemalloc keeps freed pages for reuse for its decay time (ApplyProcessMemoryPolicy
/// sets 10 s), while the pyarrow wheel's default mimalloc pool hands them back to the
/// OS within milliseconds and then pays a page fault per 4 KiB (zeroed) to get them
/// back: at our allocation rates that was a quarter of the writer's CPU time.
arrow::MemoryPool* DataMemoryPool();

/// \brief What ApplyProcessMemoryPolicy decided, for logs.
struct MemoryPolicy {
  /// Backend of arrow::default_memory_pool(): "jemalloc", "mimalloc" or "system".
  std::string arrow_pool;
  /// The user set ARROW_DEFAULT_MEMORY_POOL (ours was not applied).
  bool arrow_pool_from_user = false;

  std::string ToString() const;
};

/// \brief Applies the process memory policy; call once at the top of main(), before
/// any thread starts or Arrow allocates. Each part yields to the user's own setting:
///  - `ARROW_DEFAULT_MEMORY_POOL` unset: set to `jemalloc` (when the Arrow build has
///    it), so that every Arrow allocation, not only ours, goes to DataMemoryPool();
///  - `JE_ARROW_MALLOC_CONF` unset: jemalloc's dirty/muzzy decay 10 s instead of 1 s.
/// glibc's malloc (protobuf, gRPC, zstd's per-page compression contexts) is left at
/// its defaults: fixed mmap/trim thresholds and no fastbins (`GLIBC_TUNABLES`) moved
/// no measurable time (BENCHMARKS.md), the heap does not grow or shrink per page.
MemoryPolicy ApplyProcessMemoryPolicy();

}  // namespace otap_parquet::util
