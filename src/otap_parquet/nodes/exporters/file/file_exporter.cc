// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/file/file_exporter.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "otap_parquet/nodes/common/batch_text.h"
#include "otap_parquet/nodes/exporters/file/metrics.h"

namespace otap_parquet::nodes {

namespace {

constexpr std::string_view kPlaceholders[] = {"{signal}", "{core_id}", "{generation}"};

size_t CountOf(const std::string& text, std::string_view what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos;
       pos = text.find(what, pos + what.size())) {
    ++n;
  }
  return n;
}

void ReplaceAll(std::string* text, std::string_view what, std::string_view with) {
  for (size_t pos = text->find(what); pos != std::string::npos;
       pos = text->find(what, pos + with.size())) {
    text->replace(pos, what.size(), with);
  }
}

arrow::Status ErrnoError(std::string_view what, const std::string& path) {
  return arrow::Status::IOError(what, " ", path, ": ", std::strerror(errno));
}

// Writes all of `data` at the end of `fd` (opened O_APPEND).
arrow::Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return arrow::Status::OK();
}

// Size of `fd`'s content up to and including its last '\n' (0 if none).
arrow::Result<int64_t> CompleteLinesSize(int fd, int64_t size, const std::string& path) {
  std::vector<char> chunk(64 * 1024);
  int64_t end = size;
  while (end > 0) {
    const int64_t begin = std::max<int64_t>(0, end - static_cast<int64_t>(chunk.size()));
    const ssize_t n = ::pread(fd, chunk.data(), static_cast<size_t>(end - begin), begin);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot read", path);
    }
    for (ssize_t i = n - 1; i >= 0; --i) {
      if (chunk[static_cast<size_t>(i)] == '\n') return begin + i + 1;
    }
    end = begin;
  }
  return 0;
}

}  // namespace

FileExporterConfig FileExporterConfig::Read(config::ConfigReader& reader) {
  FileExporterConfig c;
  if (auto v = reader.String("path")) {
    c.path = *v;
    if (c.path.empty()) reader.Error("path", "must not be empty");
    for (auto placeholder : kPlaceholders) {
      if (CountOf(c.path, placeholder) > 1) {
        reader.Error("path", fmt::format("{} may appear at most once", placeholder));
      }
    }
  } else if (!reader.Has("path")) {
    reader.Error("path",
                 "is required (e.g. out/{signal}-{core_id}.jsonl; placeholders "
                 "{signal}, {core_id}, {generation})");
  }
  if (auto v = reader.Bool("create_directories")) c.create_directories = *v;
  using C = FileExporterConfig;
  reader.Accept("format", {"otlp_json"});
  c.open_mode = reader.Enum("open_mode",
                            {{"append", C::OpenMode::kAppend},
                             {"truncate", C::OpenMode::kTruncate},
                             {"create_new", C::OpenMode::kCreateNew}},
                            c.open_mode);
  c.durability = reader.Enum(
      "durability",
      {{"write", C::Durability::kWrite}, {"sync_data", C::Durability::kSyncData}},
      c.durability);
  if (auto v = reader.Bytes("max_frame_bytes", 1)) {
    if (*v > (int64_t{256} << 20)) {
      reader.Error("max_frame_bytes", "must be at most 256MiB");
    } else {
      c.max_frame_bytes = *v;
    }
  }
  if (auto v = reader.Enum<C::TailRecovery>(
          "tail_recovery", {{"truncate_partial", C::TailRecovery::kTruncatePartial},
                            {"fail", C::TailRecovery::kFail}})) {
    c.tail_recovery = *v;
    if (c.open_mode != C::OpenMode::kAppend) {
      reader.Error("tail_recovery", "applies only with open_mode: append");
    }
  }
  return c;
}

std::string ExpandFileExporterPath(const std::string& path_template,
                                   std::string_view signal, int core) {
  std::string path = path_template;
  ReplaceAll(&path, "{signal}", signal);
  ReplaceAll(&path, "{core_id}", std::to_string(core));
  ReplaceAll(&path, "{generation}", "0");
  return path;
}

arrow::Result<std::unique_ptr<engine::Node>> FileExporter::Make(
    const engine::NodeSettings& settings, const YAML::Node& config) {
  ARROW_ASSIGN_OR_RAISE(
      auto c, config::ParseTyped<FileExporterConfig>(config, settings.config_path));
  // Two instances appending to one file would interleave (and roll back) each
  // other's lines.
  if (settings.num_cores > 1 && c.path.find("{core_id}") == std::string::npos) {
    return arrow::Status::Invalid(
        settings.config_path, ".path: must contain {core_id} when the pipeline runs on ",
        settings.num_cores, " cores");
  }
  return std::unique_ptr<engine::Node>(new FileExporter(std::move(c)));
}

FileExporter::~FileExporter() { CloseAll(); }

arrow::Status FileExporter::Start(engine::EffectHandler& effect) {
  per_signal_ = config_.path.find("{signal}") != std::string::npos;
  for (int s = 0; s < (per_signal_ ? 3 : 1); ++s) {
    files_[s].path = ExpandFileExporterPath(
        config_.path, per_signal_ ? SignalName(static_cast<Signal>(s)) : "",
        effect.core());
  }
  // Files open on first use (a signal that never comes leaves no empty file), but
  // a directory that cannot hold them fails the start, not the first batch.
  for (int s = 0; s < (per_signal_ ? 3 : 1); ++s) {
    const auto dir = std::filesystem::path(files_[s].path).parent_path();
    if (dir.empty()) continue;
    std::error_code ec;
    if (config_.create_directories) {
      std::filesystem::create_directories(dir, ec);
      if (ec) {
        return arrow::Status::IOError(effect.node_id(), ": cannot create directory ",
                                      dir.string(), ": ", ec.message());
      }
    } else if (!std::filesystem::is_directory(dir, ec)) {
      return arrow::Status::IOError(effect.node_id(), ": directory ", dir.string(),
                                    " does not exist (set create_directories: true)");
    }
  }
  return arrow::Status::OK();
}

arrow::Status FileExporter::Open(OpenFile* file, engine::EffectHandler& effect) {
  // Read access too: tail recovery looks for the last complete line.
  int flags = O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC;
  if (config_.open_mode == FileExporterConfig::OpenMode::kTruncate) flags |= O_TRUNC;
  if (config_.open_mode == FileExporterConfig::OpenMode::kCreateNew) flags |= O_EXCL;
  const int fd = ::open(file->path.c_str(), flags, 0644);
  if (fd < 0) return ErrnoError("cannot open", file->path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    auto status = ErrnoError("cannot stat", file->path);
    ::close(fd);
    return status;
  }
  int64_t size = st.st_size;
  if (size > 0) {
    // A crash mid-write leaves a partial last line; the next line must not be
    // glued to it.
    auto complete = CompleteLinesSize(fd, size, file->path);
    if (!complete.ok()) {
      ::close(fd);
      return complete.status();
    }
    if (*complete != size) {
      if (config_.tail_recovery == FileExporterConfig::TailRecovery::kFail) {
        ::close(fd);
        return arrow::Status::IOError(file->path, " ends with a partial line (",
                                      size - *complete,
                                      " bytes); tail_recovery: fail refuses to append");
      }
      if (::ftruncate(fd, *complete) != 0) {
        auto status = ErrnoError("cannot truncate the partial last line of", file->path);
        ::close(fd);
        return status;
      }
      effect.logger().warn("{}: dropped a partial last line of {} bytes from {}",
                           effect.node_id(), size - *complete, file->path);
      size = *complete;
    }
  }
  file->fd = fd;
  file->size = size;
  return arrow::Status::OK();
}

arrow::Result<FileExporter::OpenFile*> FileExporter::FileFor(
    int signal, engine::EffectHandler& effect) {
  OpenFile* file = &files_[per_signal_ ? signal : 0];
  if (file->fd < 0) ARROW_RETURN_NOT_OK(Open(file, effect));
  return file;
}

arrow::Status FileExporter::Export(engine::PData msg, engine::EffectHandler& effect) {
  auto publish = [&] {
    using M = FileExporterMetrics;
    auto& m = effect.metrics();
    m.Set(M::bytes_written, bytes_written_);
    m.Set(M::lines_written, lines_written_);
    m.Set(M::write_errors, write_errors_);
  };
  auto json = BatchToOtlpJson(msg.batch);
  if (!json.ok()) {
    effect.metrics().errors++;
    msg.context.Nack({fmt::format("{}: cannot render the batch as OTLP/JSON: {}",
                                  effect.node_id(), json.status().message()),
                      /*permanent=*/true});
    return arrow::Status::OK();
  }
  std::string line = std::move(*json);
  line.push_back('\n');
  if (static_cast<int64_t>(line.size()) > config_.max_frame_bytes) {
    effect.metrics().errors++;
    msg.context.Nack({fmt::format("{}: a line of {} bytes exceeds max_frame_bytes ({})",
                                  effect.node_id(), line.size(), config_.max_frame_bytes),
                      /*permanent=*/true});
    return arrow::Status::OK();
  }
  auto file = FileFor(static_cast<int>(msg.signal()), effect);
  arrow::Status status = file.status();
  if (status.ok()) {
    status = WriteAll((*file)->fd, line, (*file)->path);
    if (status.ok() && config_.durability == FileExporterConfig::Durability::kSyncData &&
        ::fdatasync((*file)->fd) != 0) {
      status = ErrnoError("cannot sync", (*file)->path);
    }
    if (!status.ok() && ::ftruncate((*file)->fd, (*file)->size) != 0) {
      // The file now holds part of a line we Nack: stop rather than corrupt it
      // further.
      ++write_errors_;
      publish();
      msg.context.Nack({status.ToString(), false});
      return ErrnoError("cannot roll back a failed write of", (*file)->path);
    }
  }
  if (!status.ok()) {
    ++write_errors_;
    publish();
    effect.logger().error("{}: {}", effect.node_id(), status.ToString());
    msg.context.Nack({fmt::format("{}: {}", effect.node_id(), status.ToString()), false});
    return arrow::Status::OK();
  }
  (*file)->size += static_cast<int64_t>(line.size());
  bytes_written_ += static_cast<int64_t>(line.size());
  ++lines_written_;
  publish();
  msg.context.Ack();
  return arrow::Status::OK();
}

arrow::Future<> FileExporter::Shutdown(engine::Clock::time_point,
                                       engine::EffectHandler& effect) {
  for (auto& file : files_) {
    if (file.fd >= 0 && ::fsync(file.fd) != 0) {
      effect.logger().warn("{}: cannot sync {}: {}", effect.node_id(), file.path,
                           std::strerror(errno));
    }
  }
  CloseAll();
  return arrow::Future<>::MakeFinished();
}

void FileExporter::CloseAll() {
  for (auto& file : files_) {
    if (file.fd >= 0) ::close(file.fd);
    file.fd = -1;
  }
}

const engine::NodeFactory kFileExporterFactory{
    .urn = "urn:otel:exporter:file",
    .kind = engine::NodeKind::kExporter,
    .description = "appends batches as OTLP/JSON lines to a file per signal",
    .validate_config = &config::ValidateTyped<FileExporterConfig>,
    .create = &FileExporter::Make};

}  // namespace otap_parquet::nodes
