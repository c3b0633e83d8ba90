// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <string_view>

/// \file
/// The environment test hooks of the dataset commands, in one place.

namespace otap_parquet::cli {

/// \brief For tests: a step hook (CompactOptions::crash_hook,
/// RetentionOptions::test_hook) that stops this process with SIGSTOP at the step
/// named by the environment variable `stop_env`, the first time it is reached (a run
/// paused there while the test acts; it then sends SIGCONT, or SIGKILL for a crash
/// there). Empty (no hook) when it is not set.
std::function<void(std::string_view)> StopAtHook(const char* stop_env);

}  // namespace otap_parquet::cli
