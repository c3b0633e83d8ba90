// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
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
/// jemalloc keeps freed pages for reuse (ApplyProcessMemoryPolicy: kJemallocOptions),
/// while the pyarrow wheel's default mimalloc pool hands them back to the
/// OS within milliseconds and then pays a page fault per 4 KiB (zeroed) to get them
/// back: at our allocation rates that was a quarter of the writer's CPU time.
arrow::MemoryPool* DataMemoryPool();

/// \brief What ApplyProcessMemoryPolicy decided, for logs.
struct MemoryPolicy {
  /// Backend of arrow::default_memory_pool(): "jemalloc", "mimalloc" or "system".
  std::string arrow_pool;
  /// The user set ARROW_DEFAULT_MEMORY_POOL (ours was not applied).
  bool arrow_pool_from_user = false;
  /// jemalloc's effective dirty / muzzy decay in ms (-1: never), as jemalloc reports
  /// them; unset without jemalloc.
  std::optional<int64_t> dirty_decay_ms, muzzy_decay_ms;

  std::string ToString() const;
};

/// \brief jemalloc's options unless the user set `JE_ARROW_MALLOC_CONF`: dirty pages
/// decay over 10 s (instead of 1 s) into "muzzy" ones (MADV_FREE: the kernel takes
/// them back only under memory pressure), which are never purged (MADV_DONTNEED).
/// Purged pages that a later allocation of the same size reuses fault in again as
/// zeroed pages: 148k vs 54k minor faults and ~15% of the CPU of a replay in
/// 65,535-root batches (40 MB buffers per batch), ~half the faults of a convert.
inline constexpr const char* kJemallocOptions = "dirty_decay_ms:10000,muzzy_decay_ms:-1";

/// \brief Applies the process memory policy; call once at the top of main(), before
/// any thread starts or Arrow allocates. Each part yields to the user's own setting.
///
/// libarrow's jemalloc reads `JE_ARROW_MALLOC_CONF` when it initializes, which is
/// before main() (libarrow's compiled-in options then apply: 1 s decay, purged by a
/// background thread). So with `argv` given and the variable unset, the process sets
/// it and executes itself again (/proc/self/exe, same pid, arguments and
/// environment otherwise); if that fails it goes on with Arrow's options.
///  - `ARROW_DEFAULT_MEMORY_POOL` unset: set to `jemalloc` (when the Arrow build has
///    it), so that every Arrow allocation, not only ours, goes to DataMemoryPool();
///  - `JE_ARROW_MALLOC_CONF` unset: kJemallocOptions (freed pages kept 10 s, then
///    handed back lazily with MADV_FREE only).
/// glibc's malloc (protobuf, gRPC, zstd's per-page compression contexts) is left at
/// its defaults: fixed mmap/trim thresholds and no fastbins (`GLIBC_TUNABLES`) moved
/// no measurable time (BENCHMARKS.md), the heap does not grow or shrink per page.
MemoryPolicy ApplyProcessMemoryPolicy(char** argv = nullptr);

}  // namespace otap_parquet::util
