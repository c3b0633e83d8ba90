// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/otlp/otlp_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <utility>

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

#include "otap_parquet/otlp/otlp_json.h"
#include "otap_parquet/otlp/protobuf_log_internal.h"
#include "otap_parquet/util/strings.h"

namespace otap_parquet::otlp {

using arrow::Result;
using arrow::Status;

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

std::string_view BaseName(std::string_view path) {
  auto slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string ErrnoMessage(int err) { return std::strerror(err); }

OtlpRequest EmptyRequest(Signal signal) {
  switch (signal) {
    case Signal::kTraces:
      return TracesRequest();
    case Signal::kMetrics:
      return MetricsRequest();
    case Signal::kLogs:
      break;
  }
  return LogsRequest();
}

Message& AsMessage(OtlpRequest& request) {
  return std::visit([](auto& r) -> Message& { return r; }, request);
}

const Message& AsMessage(const OtlpRequest& request) {
  return std::visit([](const auto& r) -> const Message& { return r; }, request);
}

// Expected length in bytes of an OTLP trace/span id field, 0 if not an id field.
size_t IdLength(const FieldDescriptor* field) {
  if (field->type() != FieldDescriptor::TYPE_BYTES || field->is_repeated()) return 0;
  const std::string& name = field->name();
  if (name == "trace_id") return 16;
  if (name == "span_id" || name == "parent_span_id") return 8;
  return 0;
}

// Whether a message parsed as some request type looks like that type: no unknown
// fields anywhere in the tree and every trace/span id empty or of the right size.
// Field numbers of a different request type mostly land in unknown fields (other
// wire types) or in ids of the wrong size.
bool LooksWellTyped(const Message& message, std::string* why) {
  const auto* reflection = message.GetReflection();
  if (!reflection->GetUnknownFields(message).empty()) {
    *why = "unknown fields in " + message.GetDescriptor()->full_name();
    return false;
  }
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        int n = reflection->FieldSize(message, field);
        for (int i = 0; i < n; ++i) {
          if (!LooksWellTyped(reflection->GetRepeatedMessage(message, field, i), why)) {
            return false;
          }
        }
      } else if (!LooksWellTyped(reflection->GetMessage(message, field), why)) {
        return false;
      }
    } else if (size_t length = IdLength(field); length != 0) {
      std::string scratch;
      const std::string& id = reflection->GetStringReference(message, field, &scratch);
      if (!id.empty() && id.size() != length) {
        *why = field->full_name() + " of " + std::to_string(id.size()) + " bytes";
        return false;
      }
    }
  }
  return true;
}

// Parses a protobuf-encoded request; protobuf's log lines (e.g. invalid UTF-8 in a
// string field) become the error message instead of going to stderr.
Status ParseRequest(std::string_view bytes, Message* message) {
  internal::ProtobufLogCapture capture;
  if (!message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    std::string why = capture.empty() ? "malformed protobuf" : capture.messages();
    return Status::Invalid("cannot parse as ", message->GetDescriptor()->name(), ": ",
                           why);
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------

}  // namespace

class OtlpFileReader::Impl {
 public:
  Impl(std::string path, OtlpFileFormat format)
      : path_(std::move(path)), format_(format) {}
  virtual ~Impl() = default;
  virtual Result<std::optional<OtlpRequest>> Next() = 0;

  const std::string& path() const { return path_; }
  OtlpFileFormat format() const { return format_; }

 protected:
  std::string path_;
  OtlpFileFormat format_;
};

namespace {

Result<std::ifstream> OpenInput(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::IOError("cannot open ", path, ": ", ErrnoMessage(EISDIR));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    return Status::IOError("cannot open ", path, ": ", ErrnoMessage(errno));
  }
  return in;
}

bool IsBlank(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

// One OTLP/JSON request per line; or, when the first line is not a complete JSON
// value, the whole file as a single (pretty-printed) request.
class JsonLinesReader : public OtlpFileReader::Impl {
 public:
  JsonLinesReader(std::string path, std::ifstream in, std::optional<Signal> signal)
      : Impl(std::move(path), OtlpFileFormat::kJsonLines),
        in_(std::move(in)),
        signal_(signal) {}

  Status Init() {
    std::string line;
    while (ReadLine(&line)) {
      if (IsBlank(line)) continue;
      if (!IsIncompleteJson(line)) {
        pending_ = std::move(line);
        return Status::OK();
      }
      // The first value spans lines: read the file as one JSON value.
      in_.clear();
      in_.seekg(0);
      std::string all((std::istreambuf_iterator<char>(in_)),
                      std::istreambuf_iterator<char>());
      if (in_.bad()) return Status::IOError("reading ", path_, ": ", ErrnoMessage(errno));
      if (all.starts_with(kBom)) all.erase(0, kBom.size());
      whole_file_ = std::move(all);
      return Status::OK();
    }
    return Status::OK();  // empty file
  }

  Result<std::optional<OtlpRequest>> Next() override {
    if (whole_file_) {
      std::string text = std::move(*whole_file_);
      whole_file_.reset();
      auto parsed = ParseOtlpJson(text, signal_);
      if (!parsed.ok()) {
        return parsed.status().WithMessage(path_, ": ", parsed.status().message());
      }
      return std::optional<OtlpRequest>(std::move(*parsed));
    }
    std::string line;
    if (pending_) {
      line = std::move(*pending_);
      pending_.reset();
    } else {
      do {
        if (!ReadLine(&line)) {
          if (in_.bad()) {
            return Status::IOError("reading ", path_, ": ", ErrnoMessage(errno));
          }
          return std::nullopt;
        }
      } while (IsBlank(line));
    }
    auto parsed = ParseOtlpJson(line, signal_);
    if (!parsed.ok()) {
      return parsed.status().WithMessage(path_, ":", line_number_, ": ",
                                         parsed.status().message());
    }
    return std::optional<OtlpRequest>(std::move(*parsed));
  }

 private:
  static constexpr std::string_view kBom = "\xEF\xBB\xBF";

  bool ReadLine(std::string* line) {
    if (!std::getline(in_, *line)) return false;
    if (line_number_ == 0 && line->starts_with(kBom)) line->erase(0, kBom.size());
    ++line_number_;
    if (!line->empty() && line->back() == '\r') line->pop_back();
    return true;
  }

  // True if `text` is a prefix of a JSON value: parsing fails at its end.
  static bool IsIncompleteJson(const std::string& text) {
    try {
      auto value = nlohmann::json::parse(text);
      (void)value;
      return false;
    } catch (const nlohmann::json::parse_error& e) {
      return e.byte > text.size();
    } catch (const std::exception&) {
      return false;
    }
  }

  std::ifstream in_;
  std::optional<Signal> signal_;
  int64_t line_number_ = 0;
  std::optional<std::string> pending_;
  std::optional<std::string> whole_file_;
};

// Varint-length-delimited requests of one signal.
class ProtobufReader : public OtlpFileReader::Impl {
 public:
  ProtobufReader(std::string path, std::ifstream in, uint64_t file_size)
      : Impl(std::move(path), OtlpFileFormat::kProtobuf),
        in_(std::move(in)),
        file_size_(file_size) {}

  Status Init(std::optional<Signal> signal) {
    if (!signal) signal = SignalFromPath(path_);
    if (signal) {
      signal_ = *signal;
      return Status::OK();
    }
    // Trial-parse the first record as each request type.
    auto record = ReadRecord();
    if (!record.ok()) {
      error_ = record.status();
      return record.status();
    }
    if (!*record) return Status::OK();  // empty file: no signal needed
    std::vector<std::pair<Signal, OtlpRequest>> matches;
    std::string reasons;
    for (Signal s : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
      OtlpRequest request = EmptyRequest(s);
      Status st = ParseRequest(**record, &AsMessage(request));
      std::string why;
      if (st.ok() && LooksWellTyped(AsMessage(request), &why)) {
        matches.emplace_back(s, std::move(request));
        continue;
      }
      if (!reasons.empty()) reasons += "; ";
      reasons += std::string("not ") + std::string(SignalName(s)) + ": " +
                 (st.ok() ? why : st.message());
    }
    if (matches.size() == 1) {
      signal_ = matches[0].first;
      pending_ = std::move(matches[0].second);
      return Status::OK();
    }
    std::string found;
    if (matches.empty()) {
      found = "it parses as no OTLP request type (" + reasons + ")";
    } else {
      found = "it parses as";
      for (size_t i = 0; i < matches.size(); ++i) {
        found += (i == 0 ? " " : " and ");
        found += SignalName(matches[i].first);
      }
    }
    error_ = Status::Invalid(
        path_,
        ": record 0 at byte offset 0: cannot tell the signal of this protobuf "
        "file: ",
        found,
        "; pass --signal (logs, traces or metrics) or name the file like "
        "x.logs.pb");
    return error_;
  }

  Result<std::optional<OtlpRequest>> Next() override {
    ARROW_RETURN_NOT_OK(error_);
    if (pending_) {
      OtlpRequest request = std::move(*pending_);
      pending_.reset();
      return std::optional<OtlpRequest>(std::move(request));
    }
    auto result = NextImpl();
    if (!result.ok()) error_ = result.status();
    return result;
  }

 private:
  Result<std::optional<OtlpRequest>> NextImpl() {
    uint64_t offset = record_offset_;
    int64_t index = record_index_;
    ARROW_ASSIGN_OR_RAISE(auto record, ReadRecord());
    if (!record) return std::nullopt;
    OtlpRequest request = EmptyRequest(signal_);
    Status st = ParseRequest(*record, &AsMessage(request));
    if (!st.ok()) {
      return st.WithMessage(path_, ": record ", index, " at byte offset ", offset, ": ",
                            st.message());
    }
    return std::optional<OtlpRequest>(std::move(request));
  }

  // Reads the next length-prefixed record's bytes; nullopt at a clean end of file.
  Result<std::optional<std::string>> ReadRecord() {
    const uint64_t start = record_offset_;
    auto fail = [&](auto&&... args) {
      return Status::Invalid(path_, ": record ", record_index_, " at byte offset ", start,
                             ": ", std::forward<decltype(args)>(args)...);
    };
    uint64_t size = 0;
    int shift = 0;
    uint64_t pos = start;
    while (true) {
      int c = in_.get();
      if (c == std::char_traits<char>::eof()) {
        if (in_.bad())
          return Status::IOError("reading ", path_, ": ", ErrnoMessage(errno));
        if (pos == start) return std::nullopt;
        return fail("truncated: the length prefix is cut off by the end of the file");
      }
      ++pos;
      size |= static_cast<uint64_t>(c & 0x7f) << shift;
      if ((c & 0x80) == 0) break;
      shift += 7;
      if (shift >= 35) return fail("bad length prefix (more than 5 varint bytes)");
    }
    if (size > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
      return fail("length prefix ", size, " exceeds protobuf's 2 GiB message limit");
    }
    if (size > file_size_ - std::min(pos, file_size_)) {
      return fail("truncated: the length prefix says ", size, " bytes but only ",
                  file_size_ - std::min(pos, file_size_), " remain");
    }
    std::string bytes(size, '\0');
    in_.read(bytes.data(), static_cast<std::streamsize>(size));
    if (static_cast<uint64_t>(in_.gcount()) != size) {
      if (in_.bad()) return Status::IOError("reading ", path_, ": ", ErrnoMessage(errno));
      return fail("truncated: the length prefix says ", size, " bytes but only ",
                  in_.gcount(), " remain");
    }
    record_offset_ = pos + size;
    ++record_index_;
    return std::optional<std::string>(std::move(bytes));
  }

  std::ifstream in_;
  uint64_t file_size_;
  Signal signal_ = Signal::kLogs;
  uint64_t record_offset_ = 0;
  int64_t record_index_ = 0;
  std::optional<OtlpRequest> pending_;
  Status error_;
};

}  // namespace

// ---------------------------------------------------------------------------

Result<OtlpFileFormat> FormatFromPath(std::string_view path) {
  std::string_view base = BaseName(path);
  auto dot = base.find_last_of('.');
  std::string ext =
      dot == std::string_view::npos ? "" : util::AsciiLower(base.substr(dot));
  if (ext == ".jsonl" || ext == ".json" || ext == ".ndjson") {
    return OtlpFileFormat::kJsonLines;
  }
  if (ext == ".pb" || ext == ".binpb" || ext == ".otlp") return OtlpFileFormat::kProtobuf;
  return Status::Invalid(path,
                         ": unknown OTLP file extension; use .jsonl, .json or .ndjson "
                         "(JSON lines) or .pb, .binpb or .otlp (length-delimited "
                         "protobuf)");
}

std::optional<Signal> SignalFromPath(std::string_view path) {
  std::string base = util::AsciiLower(BaseName(path));
  std::optional<Signal> found;
  size_t start = 0;
  while (start <= base.size()) {
    size_t end = base.find_first_of(".-_", start);
    if (end == std::string::npos) end = base.size();
    auto signal = SignalFromName(std::string_view(base).substr(start, end - start));
    if (signal) {
      if (found && *found != *signal) return std::nullopt;
      found = signal;
    }
    start = end + 1;
  }
  return found;
}

OtlpFileReader::OtlpFileReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OtlpFileReader::~OtlpFileReader() = default;

Result<std::unique_ptr<OtlpFileReader>> OtlpFileReader::Open(
    const std::string& path, std::optional<Signal> signal) {
  try {
    ARROW_ASSIGN_OR_RAISE(auto format, FormatFromPath(path));
    ARROW_ASSIGN_OR_RAISE(auto in, OpenInput(path));
    std::unique_ptr<Impl> impl;
    if (format == OtlpFileFormat::kJsonLines) {
      auto reader = std::make_unique<JsonLinesReader>(path, std::move(in), signal);
      ARROW_RETURN_NOT_OK(reader->Init());
      impl = std::move(reader);
    } else {
      std::error_code ec;
      uint64_t size = std::filesystem::file_size(path, ec);
      if (ec) return Status::IOError("cannot open ", path, ": ", ec.message());
      auto reader = std::make_unique<ProtobufReader>(path, std::move(in), size);
      ARROW_RETURN_NOT_OK(reader->Init(signal));
      impl = std::move(reader);
    }
    return std::unique_ptr<OtlpFileReader>(new OtlpFileReader(std::move(impl)));
  } catch (const std::exception& e) {
    return Status::IOError("opening ", path, ": ", e.what());
  }
}

Result<std::optional<OtlpRequest>> OtlpFileReader::Next() {
  try {
    return impl_->Next();
  } catch (const std::bad_alloc&) {
    return Status::OutOfMemory("reading ", impl_->path(), ": out of memory");
  } catch (const std::exception& e) {
    return Status::IOError("reading ", impl_->path(), ": ", e.what());
  }
}

const std::string& OtlpFileReader::path() const { return impl_->path(); }
OtlpFileFormat OtlpFileReader::format() const { return impl_->format(); }

Result<std::vector<OtlpRequest>> ReadOtlpFile(const std::string& path,
                                              std::optional<Signal> signal) {
  ARROW_ASSIGN_OR_RAISE(auto reader, OtlpFileReader::Open(path, signal));
  std::vector<OtlpRequest> requests;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto request, reader->Next());
    if (!request) break;
    requests.push_back(std::move(*request));
  }
  return requests;
}

// ---------------------------------------------------------------------------

OtlpFileWriter::OtlpFileWriter(std::string path, std::string tmp_path,
                               OtlpFileFormat format, int fd)
    : path_(std::move(path)), tmp_path_(std::move(tmp_path)), format_(format), fd_(fd) {}

OtlpFileWriter::~OtlpFileWriter() {
  if (!closed_) Abandon();
}

Result<std::unique_ptr<OtlpFileWriter>> OtlpFileWriter::Open(const std::string& path,
                                                             OtlpFileFormat format) {
  // A temporary file of this writer's own (O_EXCL): two writers of one path (two
  // runs to one OUTPUT) would otherwise write into one file and rename a mix, and
  // a file of the user's named `<path>.tmp` would be truncated and renamed away.
  static std::atomic<uint64_t> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    tmp = fmt::format("{}.tmp.{}.{}", path, ::getpid(), counter.fetch_add(1));
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && (errno != EEXIST || attempt == 100)) {
      return Status::IOError("cannot create ", tmp, " (for ", path,
                             "): ", ErrnoMessage(errno));
    }
  }
  return std::unique_ptr<OtlpFileWriter>(new OtlpFileWriter(path, tmp, format, fd));
}

void OtlpFileWriter::Abandon() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_path_.c_str());
  closed_ = true;
}

Status OtlpFileWriter::WriteAll(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      Abandon();
      error_ = Status::IOError("writing ", tmp_path_, " (for ", path_,
                               "): ", ErrnoMessage(err));
      return error_;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Status OtlpFileWriter::Write(const OtlpRequest& request) {
  ARROW_RETURN_NOT_OK(error_);
  if (closed_) return Status::Invalid(path_, ": write after the file was closed");
  try {
    if (format_ == OtlpFileFormat::kJsonLines) {
      auto json = ToOtlpJson(request);
      if (!json.ok()) {
        return json.status().WithMessage(path_, ": request ", requests_written_, ": ",
                                         json.status().message());
      }
      json->push_back('\n');
      ARROW_RETURN_NOT_OK(WriteAll(*json));
      ++requests_written_;
      return Status::OK();
    }
    Signal signal = SignalOf(request);
    if (signal_ && *signal_ != signal) {
      return Status::Invalid(path_, ": a protobuf OTLP file holds one signal; it has ",
                             SignalName(*signal_), ", cannot add ", SignalName(signal));
    }
    const Message& message = AsMessage(request);
    std::string payload;
    {
      internal::ProtobufLogCapture capture;
      bool ok = message.SerializeToString(&payload);
      if (!ok || !capture.empty()) {
        // Protobuf serializes invalid UTF-8 with a logged error; readers reject it.
        return Status::Invalid(
            path_, ": request ", requests_written_, ": cannot encode as protobuf: ",
            capture.empty() ? "serialization failed" : capture.messages());
      }
    }
    uint8_t prefix[5];  // a varint32 takes at most 5 bytes
    uint8_t* end = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(
        static_cast<uint32_t>(payload.size()), prefix);
    payload.insert(0, reinterpret_cast<const char*>(prefix),
                   static_cast<size_t>(end - prefix));
    ARROW_RETURN_NOT_OK(WriteAll(payload));
    signal_ = signal;
    ++requests_written_;
    return Status::OK();
  } catch (const std::bad_alloc&) {
    return Status::OutOfMemory(path_, ": out of memory encoding request ",
                               requests_written_);
  }
}

Status OtlpFileWriter::Close() {
  ARROW_RETURN_NOT_OK(error_);
  if (closed_) return Status::OK();
  int err = 0;
  if (::fsync(fd_) != 0) err = errno;
  if (::close(fd_) != 0 && err == 0) err = errno;
  fd_ = -1;
  if (err != 0) {
    Abandon();
    error_ =
        Status::IOError("closing ", tmp_path_, " (for ", path_, "): ", ErrnoMessage(err));
    return error_;
  }
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    err = errno;
    Abandon();
    error_ =
        Status::IOError("renaming ", tmp_path_, " to ", path_, ": ", ErrnoMessage(err));
    return error_;
  }
  closed_ = true;
  return Status::OK();
}

}  // namespace otap_parquet::otlp
