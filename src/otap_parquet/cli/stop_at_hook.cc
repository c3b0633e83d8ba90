// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cli/stop_at_hook.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace otap_parquet::cli {

std::function<void(std::string_view)> StopAtHook(const char* stop_env,
                                                 const char* kill_env) {
  const char* stop_at = std::getenv(stop_env);
  const char* kill_at = kill_env ? std::getenv(kill_env) : nullptr;
  if (!stop_at && !kill_at) return {};
  return [stop_point = std::string(stop_at ? stop_at : ""),
          kill_point = std::string(kill_at ? kill_at : "")](std::string_view at) {
    if (at == kill_point) ::kill(::getpid(), SIGKILL);
    if (at == stop_point) ::kill(::getpid(), SIGSTOP);
  };
}

}  // namespace otap_parquet::cli
