// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/registry.h"

/// \file
/// `exporter:file`: appends each batch as one line of OTLP/JSON to a file per
/// signal (upstream's `exporter:file`), and Acks once the line is written (or
/// synced, with `durability: sync_data`). The files are what `otap-parquet
/// convert`/`compare` read.

namespace otap_parquet::nodes {

struct FileExporterConfig {
  /// Template with `{signal}`, `{core_id}`, `{generation}`, each at most once.
  std::string path;
  bool create_directories = false;
  enum class OpenMode { kAppend, kTruncate, kCreateNew };
  OpenMode open_mode = OpenMode::kAppend;  ///< append | truncate | create_new
  enum class Durability { kWrite, kSyncData };
  Durability durability = Durability::kWrite;  ///< write | sync_data
  int64_t max_frame_bytes = int64_t{64} << 20;
  /// A last line without its newline (a crash mid-write) at start: cut it off, or
  /// refuse to start.
  enum class TailRecovery { kTruncatePartial, kFail };
  TailRecovery tail_recovery =
      TailRecovery::kTruncatePartial;  ///< truncate_partial | fail

  static FileExporterConfig Read(config::ConfigReader& reader);
};

/// \brief The file name for `signal` ("logs", ...) on `core`: the template with its
/// placeholders replaced (`{generation}` is 0: files are never rotated).
std::string ExpandFileExporterPath(const std::string& path_template,
                                   std::string_view signal, int core);

class FileExporter : public engine::Exporter {
 public:
  static arrow::Result<std::unique_ptr<engine::Node>> Make(
      const engine::NodeSettings& settings, const YAML::Node& config);
  ~FileExporter() override;

  arrow::Status Start(engine::EffectHandler& effect) override;
  /// \brief Writes the batch's line; Ack after the write (and sync), Nack
  /// (retryable) after a failed write that was rolled back, Nack (permanent) for a
  /// batch that cannot be rendered or exceeds max_frame_bytes. A failed rollback
  /// fails the node.
  arrow::Status Export(engine::PData msg, engine::EffectHandler& effect) override;
  arrow::Future<> Shutdown(engine::Clock::time_point deadline,
                           engine::EffectHandler& effect) override;

 private:
  struct OpenFile {
    std::string path;
    int fd = -1;
    int64_t size = 0;  ///< bytes of complete lines; a failed write rolls back to it
  };

  explicit FileExporter(FileExporterConfig config) : config_(std::move(config)) {}
  /// \brief The open file for a signal index (opening it on first use).
  arrow::Result<OpenFile*> FileFor(int signal, engine::EffectHandler& effect);
  arrow::Status Open(OpenFile* file, engine::EffectHandler& effect);
  void CloseAll();

  FileExporterConfig config_;
  bool per_signal_ = false;
  /// One file per signal, or only [0] when the template has no `{signal}`.
  std::array<OpenFile, 3> files_;
  int64_t bytes_written_ = 0;
  int64_t lines_written_ = 0;
  int64_t write_errors_ = 0;
};

extern const engine::NodeFactory kFileExporterFactory;

}  // namespace otap_parquet::nodes
