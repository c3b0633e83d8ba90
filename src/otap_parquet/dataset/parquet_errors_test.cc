// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/parquet_errors.h"

#include <memory>
#include <new>
#include <sstream>
#include <stdexcept>

#include <parquet/exception.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/util/event_log.h"

namespace otap_parquet::dataset {
namespace {

using ::testing::HasSubstr;

// Scenario: what the Parquet API throws, through CatchParquet with a file path.
// Guarantees: a ParquetStatusException keeps its code, bad_alloc is OutOfMemory,
// any other exception takes the fallback code; every message starts with the path.
TEST(ParquetErrorsTest, ExceptionsBecomeStatusesNamingTheFile) {
  const arrow::Status status =
      CatchParquet("/d/logs/part-1.parquet", []() -> arrow::Status {
        throw parquet::ParquetStatusException(arrow::Status::IOError("short read"));
      });
  EXPECT_TRUE(status.IsIOError());
  EXPECT_EQ(status.message(), "/d/logs/part-1.parquet: short read");

  const arrow::Status memory =
      CatchParquet("/f", []() -> arrow::Status { throw std::bad_alloc(); });
  EXPECT_TRUE(memory.IsOutOfMemory());
  EXPECT_THAT(memory.message(), HasSubstr("/f: "));

  const arrow::Status corrupt = CatchParquet(
      "/f", []() -> arrow::Status { throw parquet::ParquetException("bad page header"); },
      arrow::StatusCode::Invalid);
  EXPECT_TRUE(corrupt.IsInvalid());
  EXPECT_EQ(corrupt.message(), "/f: bad page header");

  // No path: the caller's own message names the file.
  const arrow::Status bare =
      CatchParquet("", []() -> arrow::Status { throw std::runtime_error("boom"); });
  EXPECT_TRUE(bare.IsIOError());
  EXPECT_EQ(bare.message(), "boom");
}

// Guarantees: results and statuses that are not exceptions pass through unchanged.
TEST(ParquetErrorsTest, ValuesAndStatusesPassThrough) {
  auto value = CatchParquet("/f", []() -> arrow::Result<int> { return 42; });
  ASSERT_OK(value.status());
  EXPECT_EQ(*value, 42);
  auto failed = CatchParquet(
      "/f", []() -> arrow::Result<int> { return arrow::Status::Invalid("no"); });
  EXPECT_EQ(failed.status().message(), "no");
}

// Scenario: an util::EventLog with a node's scope, one with the default scope, a null
// one. Guarantees: events are named <scope>.<event>; Null() writes nothing.
TEST(EventLogTest, EventsAreNamedByTheInjectedScope) {
  std::ostringstream lines;
  auto logger = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines));
  logger->set_pattern("%v");
  util::EventLog(logger, "receiver.parquet").Warn("file.drop", "uri={}", "/a");
  util::EventLog(logger, "dataset").Info("file.retry", "attempt={}", 1);
  util::EventLog::Null().Warn("file.drop", "uri={}", "/b");
  EXPECT_EQ(lines.str(),
            "receiver.parquet.file.drop uri=/a\ndataset.file.retry attempt=1\n");
}

}  // namespace
}  // namespace otap_parquet::dataset
