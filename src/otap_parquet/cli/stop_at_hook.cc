// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cli/stop_at_hook.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

namespace otap_parquet::cli {

util::TestHook StopAtHook(const char* stop_env) {
  const char* stop_at = std::getenv(stop_env);
  if (!stop_at) return {};
  // The stop fires the first time only: a step reached once per directory would
  // otherwise stop the run again after the test's single SIGCONT.
  return [stop_point = std::string(stop_at)](std::string_view at) mutable {
    if (!stop_point.empty() && at == stop_point) {
      stop_point.clear();
      ::kill(::getpid(), SIGSTOP);
    }
  };
}

}  // namespace otap_parquet::cli
