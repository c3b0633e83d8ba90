// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: Parquet table files as receiver:parquet and `convert` read them.
// The input is up to four files, each `[table byte][u32 LE length][bytes]` (the last
// one may be cut short): the table byte picks a payload type, and the bytes are
// written to an in-memory file system as `<table>/_part_id=x/part-<n>-a.parquet`;
// then DatasetReader replays the dataset to its end. A bad file must be skipped and
// counted (never a crash, never an error from Next()), and every batch emitted must
// validate. Then `inspect` and `inspect --check` (dataset/inspect.h) look at the same
// files: a bad file is a problem in their report, never an error or a crash.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <arrow/filesystem/mockfs.h>
#include <arrow/io/interfaces.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/dataset/inspect.h"
#include "otap_parquet/schema/payload_type.h"

namespace {

using otap_parquet::PayloadType;
namespace dataset = otap_parquet::dataset;

constexpr PayloadType kTables[] = {
    PayloadType::kLogs,
    PayloadType::kLogAttrs,
    PayloadType::kResourceAttrs,
    PayloadType::kScopeAttrs,
    PayloadType::kSpans,
    PayloadType::kSpanAttrs,
    PayloadType::kSpanEvents,
    PayloadType::kSpanLinks,
    PayloadType::kSpanEventAttrs,
    PayloadType::kUnivariateMetrics,
    PayloadType::kNumberDataPoints,
    PayloadType::kNumberDpAttrs,
    PayloadType::kHistogramDataPoints,
    PayloadType::kMetricAttrs,
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "parquet_table_fuzz: %s\n", what.c_str());
  std::abort();
}

arrow::Status Run(const uint8_t* data, size_t size) {
  auto fs = std::make_shared<arrow::fs::internal::MockFileSystem>(
      arrow::fs::TimePoint(std::chrono::seconds(1)));
  ARROW_RETURN_NOT_OK(fs->CreateDir("base"));
  for (int n = 1; n <= 4 && size >= 1; ++n) {
    PayloadType type = kTables[data[0] % std::size(kTables)];
    size_t length = size - 1;
    const uint8_t* bytes = data + 1;
    if (size >= 5) {
      uint32_t declared;
      std::memcpy(&declared, data + 1, 4);
      bytes = data + 5;
      length = std::min<size_t>(declared, size - 5);
    }
    std::string dir =
        "base/" + std::string(otap_parquet::TableName(type)) + "/_part_id=x";
    ARROW_RETURN_NOT_OK(fs->CreateDir(dir));
    ARROW_ASSIGN_OR_RAISE(
        auto out,
        fs->OpenOutputStream(dir + "/part-" + std::to_string(n) + "-a.parquet"));
    ARROW_RETURN_NOT_OK(out->Write(bytes, static_cast<int64_t>(length)));
    ARROW_RETURN_NOT_OK(out->Close());
    const size_t used = static_cast<size_t>(bytes - data) + length;
    data += used;
    size -= used;
  }
  dataset::ReaderOptions options;
  options.batch_size = 5;  // small, so that chunking and buffering are reached
  ARROW_ASSIGN_OR_RAISE(auto reader, dataset::DatasetReader::Make(fs, "base", options));
  for (int batches = 0; batches < 10000; ++batches) {
    auto next = reader->Next();
    if (!next.ok()) Fail("Next() failed: " + next.status().ToString());
    if (!next->has_value()) break;
    if (arrow::Status st = (*next)->Validate(); !st.ok()) {
      // Known and reported (issue 13): string columns are not checked for UTF-8 when
      // read, so such a batch fails later, in the exporter. Everything else fails here.
      if (st.message().find("Invalid UTF8") != std::string::npos) continue;
      Fail("emitted batch does not validate: " + st.ToString());
    }
  }
  for (bool check : {false, true}) {
    dataset::InspectOptions inspect;
    inspect.check = check;
    inspect.grace_period = std::chrono::milliseconds(0);
    inspect.parallelism = 1;
    auto report = dataset::Inspect(fs, "base", inspect);
    if (!report.ok()) Fail("Inspect failed: " + report.status().ToString());
  }
  return arrow::Status::OK();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // each skipped file logs a warning
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (4 << 20)) return 0;
  if (arrow::Status st = Run(data, size); !st.ok()) Fail("setup: " + st.ToString());
  return 0;
}
