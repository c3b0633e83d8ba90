// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: write-ahead log recovery (exporter:parquet's wal), as a restart
// reads a segment back. The first byte holds flags, the rest is written as segment
// `0000000000000001.wal` of an empty log directory; with flag 1 the target first
// fixes the CRC of every frame whose header (magic, length) fits, so that inputs
// reach the record decoder and the salvage of valid frames after bad bytes (a
// random CRC would almost never match).
//
// Wal::Open must recover (or fail with a status), never crash or hang; every record
// Replay hands out must be valid Arrow data (ValidateFull), and Read() must give
// the same record back. A second Open of the same directory must find nothing to
// repair (the first one truncated and salvaged) and the same live records.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <arrow/record_batch.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/wal/wal.h"

namespace {

namespace fs = std::filesystem;
namespace wal = otap_parquet::wal;

constexpr uint32_t kMagic = 0x4c41574f;  // "OWAL" little endian
constexpr size_t kHeaderSize = 12;

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "wal_fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

uint32_t GetU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Sets the CRC of each frame (magic and a length that fits) found walking `segment`.
void FixCrcs(std::string& segment) {
  auto* p = reinterpret_cast<uint8_t*>(segment.data());
  size_t at = 0;
  while (at + kHeaderSize <= segment.size()) {
    const uint32_t length = GetU32(p + at + 4);
    if (GetU32(p + at) != kMagic || length > segment.size() - at - kHeaderSize) {
      ++at;
      continue;
    }
    PutU32(p + at + 8, wal::Crc32(p + at + kHeaderSize, length));
    at += kHeaderSize + length;
  }
}

fs::path& Dir() {
  static fs::path dir;
  return dir;
}

wal::WalOptions Options() {
  wal::WalOptions options;
  options.dir = Dir().string();
  options.fsync = false;
  options.sync_dir_for_testing = [](const std::string&) { return arrow::Status::OK(); };
  return options;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // tmpfs where there is one: each input is a few files written and read back.
  const fs::path base =
      fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  Dir() = base / ("otap_wal_fuzz_" + std::to_string(::getpid()));
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "wal_fuzz", std::make_shared<spdlog::sinks::null_sink_mt>()));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  std::string segment(reinterpret_cast<const char*>(data + 1), size - 1);
  if (flags & 1) FixCrcs(segment);
  std::error_code ec;
  fs::remove_all(Dir(), ec);
  fs::create_directories(Dir());
  {
    std::ofstream out(Dir() / "0000000000000001.wal", std::ios::binary);
    out.write(segment.data(), static_cast<std::streamsize>(segment.size()));
  }
  int64_t live = 0;
  {
    auto opened = wal::Wal::Open(Options(), nullptr);
    if (!opened.ok()) return 0;
    auto& log = **opened;
    live = log.metrics().live_records;
    std::vector<wal::RecordId> ids;
    auto st = log.Replay([&](wal::RecordId id, otap_parquet::OtapBatch batch) {
      for (auto type : batch.payload_types()) {
        if (auto valid = batch.Get(type)->ValidateFull(); !valid.ok()) {
          Fail("replayed an invalid record batch", valid.ToString());
        }
      }
      ids.push_back(id);
      return arrow::Status::OK();
    });
    if (!st.ok()) Fail("Replay", st.ToString());
    for (const auto& id : ids) {
      auto again = log.Read(id);
      if (!again.ok()) Fail("Read of a replayed record", again.status().ToString());
    }
  }
  auto reopened = wal::Wal::Open(Options(), nullptr);
  if (!reopened.ok()) Fail("second Open", reopened.status().ToString());
  const auto m = (*reopened)->metrics();
  if (m.torn_tails != 0 || m.corrupt_regions != 0) {
    Fail("second Open repaired again", std::to_string(m.torn_tails) + " torn, " +
                                           std::to_string(m.corrupt_regions) +
                                           " corrupt");
  }
  if (m.live_records != live) {
    Fail("live records changed",
         std::to_string(live) + " -> " + std::to_string(m.live_records));
  }
  return 0;
}
