// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/otlp/otlp_types.h"
#include "otap_parquet/schema/payload_type.h"

/// \file
/// OTLP files: JSON lines (the Collector file exporter's format) and
/// length-delimited protobuf, read one request at a time and written atomically.

namespace otap_parquet::otlp {

enum class OtlpFileFormat {
  /// One OTLP/JSON export request per line (`.jsonl`, `.json`, `.ndjson`). A file
  /// whose first JSON value spans several lines (pretty-printed) is read as one
  /// JSON value, hence one request.
  kJsonLines,
  /// Export requests, each prefixed by its varint length, as protobuf's
  /// `SerializeDelimitedTo*` writes them (`.pb`, `.binpb`, `.otlp`); one signal
  /// per file.
  kProtobuf,
};

/// \brief The format a file name's extension implies; Invalid, listing the
/// accepted extensions, for any other.
arrow::Result<OtlpFileFormat> FormatFromPath(std::string_view path);

/// \brief The signal a file name names as a whole word separated by '.', '-' or
/// '_': `logs`, `traces` or `spans`, `metrics` (e.g. `x.logs.pb`,
/// `otel-metrics.binpb`). nullopt if none or more than one.
std::optional<Signal> SignalFromPath(std::string_view path);

/// \brief Streams the requests of one OTLP file, holding one at a time.
///
/// Errors are Invalid and name the file and, for JSON, its line
/// ("in.jsonl:17: resourceLogs[0]...: invalid hex ..."), for protobuf the record
/// index and byte offset. After an error on a JSON line, Next() goes on with the
/// next line; protobuf errors are final. Not thread-safe.
class OtlpFileReader {
 public:
  ~OtlpFileReader();

  /// \brief Opens `path`; the format comes from its extension (FormatFromPath).
  ///
  /// \param signal protobuf files: the signal of every record; if nullopt it comes
  /// from the file name (SignalFromPath), else from trial-parsing the first record
  /// as each request type (Invalid asking for --signal if that is ambiguous).
  /// JSON files: the signal of objects with no resourceX key (`{}`); otherwise each
  /// line's key decides, so a file may mix signals.
  static arrow::Result<std::unique_ptr<OtlpFileReader>> Open(
      const std::string& path, std::optional<Signal> signal = std::nullopt);

  /// \brief The next request, or nullopt at the end of the file.
  arrow::Result<std::optional<OtlpRequest>> Next();

  const std::string& path() const;
  OtlpFileFormat format() const;

  class Impl;  ///< implementation detail (one per format)

 private:
  explicit OtlpFileReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// \brief Reads every request of an OTLP file (see OtlpFileReader::Open).
arrow::Result<std::vector<OtlpRequest>> ReadOtlpFile(
    const std::string& path, std::optional<Signal> signal = std::nullopt);

/// \brief Writes OTLP requests to a file, atomically: data goes to a temporary
/// file of its own, `<path>.tmp.<pid>.<n>`, renamed to `path` by Close(). Destroying an
/// unclosed writer (or a failed Close()) removes the temporary file, so a failed run
/// leaves no half file. Write errors are IOError naming the path and strerror. Not
/// thread-safe.
class OtlpFileWriter {
 public:
  ~OtlpFileWriter();

  /// \brief Creates a new `<path>.tmp.<pid>.<n>` (never an existing file).
  static arrow::Result<std::unique_ptr<OtlpFileWriter>> Open(const std::string& path,
                                                             OtlpFileFormat format);

  /// \brief Appends one request: a line of OTLP/JSON, or a length-delimited
  /// message. A protobuf file holds one signal: a request of another signal than
  /// the first is Invalid (and nothing is written).
  arrow::Status Write(const OtlpRequest& request);

  /// \brief Flushes, closes and renames the file into place. A second call is a
  /// no-op; Write() after Close() is Invalid. After an I/O error in Write() the
  /// temporary file is removed and Write() and Close() return that error.
  arrow::Status Close();

  const std::string& path() const { return path_; }
  OtlpFileFormat format() const { return format_; }
  /// \brief Requests written so far.
  int64_t requests_written() const { return requests_written_; }

 private:
  OtlpFileWriter(std::string path, std::string tmp_path, OtlpFileFormat format, int fd);
  arrow::Status WriteAll(std::string_view data);
  void Abandon();

  std::string path_;
  std::string tmp_path_;
  OtlpFileFormat format_;
  int fd_;
  std::optional<Signal> signal_;
  int64_t requests_written_ = 0;
  bool closed_ = false;
  arrow::Status error_;  ///< the first I/O error; the file is gone after it
};

}  // namespace otap_parquet::otlp
