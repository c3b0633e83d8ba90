// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string_view>

#include <arrow/filesystem/filesystem.h>

namespace otap_parquet::dataset {

/// \brief Test support for the reliability suite (tests/reliability/): deterministic
/// crash points at storage changes. Every change a dataset command makes to its
/// storage (a file opened for writing, closed, moved, copied or deleted, a
/// directory created or deleted, a small file written atomically) is one event,
/// numbered from 1 in the order the process makes them. With the environment
/// variable OTAP_PARQUET_TEST_KILL_AT_EVENT=N the process kills itself (SIGKILL)
/// at event N, before the change happens; with OTAP_PARQUET_TEST_EVENT_LOG=FILE
/// each event is appended to FILE as a line "<n> <what> <path>" (how a test learns
/// how many events a run makes). Neither set: nothing happens.
void StorageEvent(std::string_view what, std::string_view path);

/// \brief `fs` wrapped so its changes are StorageEvent()s when either variable is
/// set; `fs` itself otherwise. The wrapper keeps `fs`'s type_name().
std::shared_ptr<arrow::fs::FileSystem> WithStorageEvents(
    std::shared_ptr<arrow::fs::FileSystem> fs);

}  // namespace otap_parquet::dataset
