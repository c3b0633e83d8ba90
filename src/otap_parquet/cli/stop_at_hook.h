// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "otap_parquet/util/test_hook.h"

/// \file
/// The environment test hooks of the dataset commands, in one place.

namespace otap_parquet::cli {

/// \brief For tests: a step hook (CompactOptions::crash_hook,
/// RetentionOptions::test_hook) that stops this process with SIGSTOP at the step
/// named by the environment variable `stop_env`, the first time it is reached (a run
/// paused there while the test acts; it then sends SIGCONT, or SIGKILL for a crash
/// there). Empty (no hook) when it is not set.
util::TestHook StopAtHook(const char* stop_env);

}  // namespace otap_parquet::cli
