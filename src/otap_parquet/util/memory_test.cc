// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/memory.h"

#include <cstdlib>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace otap_parquet::util {
namespace {

// Restores an environment variable when the test ends.
class SavedVariable {
 public:
  explicit SavedVariable(const char* name) : name_(name) {
    if (const char* value = std::getenv(name)) value_ = value;
  }
  ~SavedVariable() {
    if (value_) {
      ::setenv(name_, value_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> value_;
};

// Scenario: the policy applied with JE_ARROW_MALLOC_CONF unset, then with the user's
// own value. Guarantees: ours is set (freed pages decay into MADV_FREE'd pages that
// are never purged); the user's value is never replaced.
TEST(MemoryPolicyTest, JemallocOptionsYieldToTheUser) {
  SavedVariable saved("JE_ARROW_MALLOC_CONF");
  ::unsetenv("JE_ARROW_MALLOC_CONF");
  ApplyProcessMemoryPolicy();
  ASSERT_NE(std::getenv("JE_ARROW_MALLOC_CONF"), nullptr);
  EXPECT_EQ(std::string(std::getenv("JE_ARROW_MALLOC_CONF")),
            "dirty_decay_ms:10000,muzzy_decay_ms:-1");
  ::setenv("JE_ARROW_MALLOC_CONF", "dirty_decay_ms:1000", 1);
  ApplyProcessMemoryPolicy();
  EXPECT_EQ(std::string(std::getenv("JE_ARROW_MALLOC_CONF")), "dirty_decay_ms:1000");
}

}  // namespace
}  // namespace otap_parquet::util
