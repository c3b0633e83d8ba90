// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/replay_checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "otap_parquet/dataset/compaction.h"
#include "otap_parquet/storage/kill_points.h"
#include "otap_parquet/storage/storage.h"
#include "otap_parquet/util/fsync.h"

namespace otap_parquet::dataset {

namespace {

using arrow::Status;

Status WriteLocalAtomically(const std::string& path, const std::string& text) {
  namespace stdfs = std::filesystem;
  const stdfs::path target(path);
  const stdfs::path dir = target.has_parent_path() ? target.parent_path() : ".";
  std::error_code ec;
  stdfs::create_directories(dir, ec);
  const std::string tmp =
      (dir / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid())))
          .string();
  {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      return Status::IOError("cannot create '", tmp, "': ", std::strerror(errno));
    }
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return Status::IOError("writing '", tmp, "': ", std::strerror(err));
      }
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::IOError("fsync '", tmp, "': ", std::strerror(err));
    }
    ::close(fd);
  }
  StorageEvent("move", path);  // tests: a crash point (storage/kill_points.h)
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Status::IOError("renaming '", tmp, "' to '", path, "': ", std::strerror(err));
  }
  return util::FsyncPath(dir.string(), /*directory=*/true);
}

}  // namespace

Status WriteSmallFileAtomically(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                const std::string& path, const std::string& text) {
  if (IsLocalFileSystem(*fs)) return WriteLocalAtomically(path, text);
  auto out = fs->OpenOutputStream(path);
  if (!out.ok()) {
    return Status::IOError("writing ", DisplayUri(*fs, path), ": ",
                           out.status().message());
  }
  auto st = (*out)->Write(text.data(), static_cast<int64_t>(text.size()));
  if (st.ok()) st = (*out)->Close();
  if (!st.ok()) {
    (void)(*out)->Abort();
    return Status::IOError("writing ", DisplayUri(*fs, path), ": ", st.message());
  }
  return Status::OK();
}

bool IsSmallFileTempName(std::string_view name) {
  const size_t tmp = name.rfind(".tmp-");
  if (name.size() < 2 || name.front() != '.' || tmp == std::string_view::npos ||
      tmp < 2 || tmp + 5 == name.size()) {
    return false;
  }
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(tmp) + 5, name.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// --------------------------------------------------------------------------------
// ReplayCheckpoint

std::string ReplayCheckpoint::Serialize(int64_t written_unix_nano) const {
  YAML::Emitter out;
  out.SetStringFormat(YAML::DoubleQuoted);
  // Flow style throughout, every string quoted: the text is JSON.
  out << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "format" << YAML::Value << std::string(kFormat);
  out << YAML::Key << "version" << YAML::Value << kVersion;
  out << YAML::Key << "dataset" << YAML::Value << dataset;
  out << YAML::Key << "written_unix_nano" << YAML::Value << written_unix_nano;
  if (!time_range.empty()) out << YAML::Key << "time_range" << YAML::Value << time_range;
  out << YAML::Key << "units" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& [unit, progress] : units) {
    out << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "signal" << YAML::Value << std::string(SignalName(unit.signal));
    out << YAML::Key << "partition" << YAML::Value << unit.partition;
    out << YAML::Key << "files_done" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& file : progress.files_done) out << file;
    out << YAML::EndSeq;
    out << YAML::Key << "file" << YAML::Value << progress.file;
    out << YAML::Key << "row" << YAML::Value << progress.row;
    if (!progress.partial.empty()) {
      out << YAML::Key << "partial" << YAML::Value << YAML::Flow << YAML::BeginMap;
      for (const auto& [file, row] : progress.partial) {
        out << YAML::Key << file << YAML::Value << row;
      }
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  // A last line marks a complete file (a truncated copy is refused).
  return std::string(out.c_str()) + "\n# end\n";
}

arrow::Result<ReplayCheckpoint> ReplayCheckpoint::Parse(std::string_view text,
                                                        const std::string& where) {
  auto invalid = [&](const std::string& what) {
    return Status::Invalid("checkpoint ", where, " is not a valid replay checkpoint (",
                           what, "); fix or remove it to replay from the beginning");
  };
  const std::string_view trailer = "\n# end\n";
  if (text.size() < trailer.size() ||
      text.substr(text.size() - trailer.size()) != trailer) {
    return invalid("truncated: no end marker");
  }
  ReplayCheckpoint checkpoint;
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsMap()) return invalid("not a map");
    if (!root["format"] || root["format"].as<std::string>() != kFormat) {
      return invalid("format is not \"" + std::string(kFormat) + "\"");
    }
    if (!root["version"] || root["version"].as<int>() != kVersion) {
      return invalid("unsupported version");
    }
    if (root["dataset"]) checkpoint.dataset = root["dataset"].as<std::string>();
    if (root["time_range"]) checkpoint.time_range = root["time_range"].as<std::string>();
    const YAML::Node units = root["units"];
    if (!units || !units.IsSequence()) return invalid("\"units\" is not a list");
    for (const auto& node : units) {
      if (!node.IsMap() || !node["signal"] || !node["partition"]) {
        return invalid("a unit lacks signal or partition");
      }
      ReplayUnit unit;
      const auto signal = SignalFromName(node["signal"].as<std::string>());
      if (!signal) return invalid("unknown signal " + node["signal"].as<std::string>());
      unit.signal = *signal;
      unit.partition = node["partition"].as<std::string>();
      UnitProgress progress;
      if (const YAML::Node done = node["files_done"]) {
        if (!done.IsSequence()) return invalid("files_done is not a list");
        for (const auto& file : done) progress.files_done.insert(file.as<std::string>());
      }
      if (node["file"]) progress.file = node["file"].as<std::string>();
      if (node["row"]) progress.row = node["row"].as<int64_t>();
      if (progress.row < 0) return invalid("negative row");
      if (const YAML::Node partial = node["partial"]) {
        if (!partial.IsMap()) return invalid("partial is not a map");
        for (const auto& entry : partial) {
          const auto row = entry.second.as<int64_t>();
          if (row < 0) return invalid("negative row in partial");
          progress.partial[entry.first.as<std::string>()] = row;
        }
      }
      checkpoint.units[unit] = std::move(progress);
    }
  } catch (const YAML::Exception& e) {
    return invalid(e.what());
  }
  return checkpoint;
}

std::string TimeRangeKey(const std::optional<TimeRange>& range) {
  if (!range) return "all";
  return fmt::format("[{}, {})", range->start_unix_nano, range->end_unix_nano);
}

ResumePoint ResumeFrom(const UnitProgress* progress, const PartitionPlan& partition,
                       Signal signal) {
  ResumePoint resume;
  if (!progress) return resume;
  const auto& files = partition.FilesOf(RootPayloadType(signal));
  bool all_done = true;
  for (const auto& file : files) {
    const std::string name = BaseName(file.path);
    if (progress->files_done.count(name)) {
      resume.done_files.push_back(file.path);
    } else {
      all_done = false;
      if (name == progress->file && progress->row > 0) {
        resume.file = file.path;
        resume.row = progress->row;
      }
    }
  }
  resume.skip = all_done;
  return resume;
}

// --------------------------------------------------------------------------------
// CheckpointStore

std::string CheckpointStore::display() const { return DisplayUri(*fs_, path_); }

arrow::Result<std::optional<ReplayCheckpoint>> CheckpointStore::Load() const {
  auto info = fs_->GetFileInfo(path_);
  if (!info.ok()) {
    return Status::IOError("cannot stat checkpoint ", display(), ": ",
                           info.status().message());
  }
  if (info->type() == arrow::fs::FileType::NotFound) return std::nullopt;
  if (info->type() != arrow::fs::FileType::File) {
    return Status::Invalid("checkpoint ", display(), " is not a file");
  }
  auto input = fs_->OpenInputStream(path_);
  if (!input.ok()) {
    return Status::IOError("cannot open checkpoint ", display(), ": ",
                           input.status().message());
  }
  std::string text;
  while (true) {
    auto chunk = (*input)->Read(1 << 16);
    if (!chunk.ok()) {
      return Status::IOError("cannot read checkpoint ", display(), ": ",
                             chunk.status().message());
    }
    if ((*chunk)->size() == 0) break;
    text.append(reinterpret_cast<const char*>((*chunk)->data()),
                static_cast<size_t>((*chunk)->size()));
  }
  ARROW_ASSIGN_OR_RAISE(auto checkpoint, ReplayCheckpoint::Parse(text, display()));
  return checkpoint;
}

Status CheckpointStore::Save(const ReplayCheckpoint& checkpoint) const {
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string text = checkpoint.Serialize(now);
  if (IsLocalFileSystem(*fs_)) {
    auto st = WriteLocalAtomically(path_, text);
    if (!st.ok()) return st.WithMessage("writing checkpoint: ", st.message());
    return Status::OK();
  }
  // Object stores: the object becomes visible whole when the stream closes.
  auto out = fs_->OpenOutputStream(path_);
  if (!out.ok()) {
    return Status::IOError("writing checkpoint ", display(), ": ",
                           out.status().message());
  }
  auto st = (*out)->Write(text.data(), static_cast<int64_t>(text.size()));
  if (st.ok()) st = (*out)->Close();
  if (!st.ok()) {
    (void)(*out)->Abort();
    return Status::IOError("writing checkpoint ", display(), ": ", st.message());
  }
  return Status::OK();
}

// --------------------------------------------------------------------------------
// ReplayProgress

ResumePoint ReplayProgress::ResumeFor(const PartitionPlan& partition,
                                      Signal signal) const {
  auto it = emitted_.find(ReplayUnit{signal, partition.path});
  if (partition.compaction) {
    // Remembered for DropPartials (the entries of Emitted carry no plan).
    Superseded& superseded = superseded_[ReplayUnit{signal, partition.path}];
    superseded.unit = ReplayUnit{signal, partition.compaction->supersedes};
    superseded.files.clear();
    const auto old_files = partition.compaction->old_files.find(
        std::string(TableName(RootPayloadType(signal))));
    if (old_files != partition.compaction->old_files.end()) {
      for (const auto& file : old_files->second) superseded.files.push_back(file.name);
    }
  }
  if (it == emitted_.end() && partition.compaction) {
    // Not started here: continue from the progress in the partition it supersedes.
    auto old = emitted_.find(ReplayUnit{signal, partition.compaction->supersedes});
    return ResumeCompacted(*partition.compaction,
                           old == emitted_.end() ? nullptr : &old->second, partition,
                           signal);
  }
  return ResumeFrom(it == emitted_.end() ? nullptr : &it->second, partition, signal);
}

void ReplayProgress::Push(Entry entry, const std::vector<PlannedFile>& root_files,
                          const std::string& next_file) {
  UnitProgress& emitted = emitted_[entry.unit];
  // Every root file before next_file (plan order) is consumed; all when exhausted.
  for (const auto& file : root_files) {
    if (!next_file.empty() && file.path == next_file) break;
    std::string name = BaseName(file.path);
    if (emitted.files_done.insert(name).second) entry.newly_done.push_back(name);
  }
  entry.file = next_file.empty() ? std::string() : BaseName(next_file);
  if (entry.file.empty()) entry.row = 0;
  // The file in progress left the plan unfinished (a compaction superseded it) and
  // the unit moves on to files added later: keep its count for ResumeCompacted.
  if (!emitted.file.empty() && emitted.row > 0 && emitted.file != entry.file &&
      !emitted.files_done.contains(emitted.file) &&
      std::none_of(root_files.begin(), root_files.end(), [&](const PlannedFile& f) {
        return BaseName(f.path) == emitted.file;
      })) {
    emitted.partial[emitted.file] = emitted.row;
    entry.newly_partial.emplace_back(emitted.file, emitted.row);
  }
  emitted.file = entry.file;
  emitted.row = entry.row;
  DropPartials(emitted_, entry.unit);
  entries_.push_back(std::move(entry));
}

void ReplayProgress::DropPartials(std::map<ReplayUnit, UnitProgress>& state,
                                  const ReplayUnit& unit) const {
  auto drop = [&](const Superseded& superseded) {
    auto old = state.find(superseded.unit);
    if (old == state.end()) return;
    for (const auto& name : superseded.files) old->second.partial.erase(name);
  };
  // A compacted unit with progress of its own: its superseded unit's counts of the
  // files it replaced are never read again.
  if (auto it = superseded_.find(unit); it != superseded_.end()) drop(it->second);
  // A superseded unit that got a count after its compacted unit had started.
  auto self = state.find(unit);
  if (self == state.end() || self->second.partial.empty()) return;
  for (const auto& [compacted, superseded] : superseded_) {
    if (superseded.unit == unit && state.contains(compacted)) drop(superseded);
  }
}

uint64_t ReplayProgress::Emitted(const ReplayUnit& unit,
                                 const std::vector<PlannedFile>& root_files,
                                 const std::string& next_file, int64_t next_row,
                                 int64_t items) {
  Entry entry;
  entry.token = next_token_++;
  entry.unit = unit;
  entry.row = next_row;
  entry.items = items;
  entry.batch = true;
  Push(std::move(entry), root_files, next_file);
  ++lag_batches_;
  lag_items_ += items;
  return entries_.back().token;
}

void ReplayProgress::UnitDone(const ReplayUnit& unit,
                              const std::vector<PlannedFile>& root_files) {
  Entry entry;
  entry.token = next_token_++;  // never awaited
  entry.unit = unit;
  entry.state = State::kAcked;
  Push(std::move(entry), root_files, "");
  Advance();
}

ReplayProgress::Entry* ReplayProgress::Find(uint64_t token) {
  // Tokens increase along the deque.
  auto it = std::lower_bound(entries_.begin(), entries_.end(), token,
                             [](const Entry& e, uint64_t t) { return e.token < t; });
  return it != entries_.end() && it->token == token ? &*it : nullptr;
}

bool ReplayProgress::Acked(uint64_t token) {
  Entry* entry = Find(token);
  if (!entry || entry->state != State::kPending) return false;
  entry->state = State::kAcked;
  return Advance();
}

void ReplayProgress::Nacked(uint64_t token) {
  Entry* entry = Find(token);
  if (!entry || entry->state != State::kPending) return;
  entry->state = State::kNacked;
  ++nacked_;
}

bool ReplayProgress::Advance() {
  bool moved = false;
  while (!entries_.empty() && entries_.front().state == State::kAcked) {
    Entry& entry = entries_.front();
    UnitProgress& acked = acked_[entry.unit];
    for (auto& name : entry.newly_done) acked.files_done.insert(std::move(name));
    for (auto& [name, row] : entry.newly_partial) acked.partial[std::move(name)] = row;
    if (entry.batch) {
      ++covered_batches_;
      --lag_batches_;
      lag_items_ -= entry.items;
    }
    acked.file = std::move(entry.file);
    acked.row = entry.row;
    DropPartials(acked_, entry.unit);
    entries_.pop_front();
    moved = true;
  }
  return moved;
}

}  // namespace otap_parquet::dataset
