// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/test_hook.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace otap_parquet::util {
namespace {

// Scenario: a hook left unset, then one set from a lambda (by assignment, as tests
// set the fields of options structs) that keeps state between calls, then copied.
// Guarantees: the unset hook is false and calling it does nothing; the set one is
// true and sees every point in order, its copy shares nothing with it.
TEST(TestHookTest, UnsetDoesNothingSetSeesEveryPoint) {
  TestHook hook;
  EXPECT_FALSE(hook);
  hook("ignored");

  std::vector<std::string> points;
  int calls = 0;
  hook = [&points, calls](std::string_view point) mutable {
    points.push_back(std::string(point) + "#" + std::to_string(++calls));
  };
  EXPECT_TRUE(hook);
  hook("listed");
  hook("directories");
  const TestHook copy = hook;
  copy("committed");
  hook("removing");
  EXPECT_EQ(points, (std::vector<std::string>{"listed#1", "directories#2", "committed#3",
                                              "removing#3"}));
}

}  // namespace
}  // namespace otap_parquet::util
