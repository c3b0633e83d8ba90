// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/otlp/otlp_file.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <arrow/result.h>
#include <arrow/status.h>
#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "otap_parquet/testing/gtest_util.h"

#include "otap_parquet/otlp/otlp_json.h"

// Small stand-ins for arrow/testing/gtest_util.h (libarrow_testing is not shipped).

namespace otap_parquet::otlp {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr std::string_view kLogsLine =
    R"({"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":)"
    R"({"stringValue":"svc"}}]},"scopeLogs":[{"scope":{"name":"lib"},"logRecords":[)"
    R"({"timeUnixNano":"1544712660300000000","severityNumber":10,"traceId":)"
    R"("5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","body":)"
    R"({"stringValue":"hello"}}]}]}]})";
constexpr std::string_view kTracesLine =
    R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":)"
    R"("5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"op",)"
    R"("kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":)"
    R"("1544712661000000000"}]}]}]})";
constexpr std::string_view kMetricsLine =
    R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"my.counter","sum":)"
    R"({"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[{"asInt":"5",)"
    R"("timeUnixNano":"1544712660300000000"}]}}]}]}]})";

template <typename T>
arrow::Status StatusOf(const arrow::Result<T>& result) {
  return result.status();
}

bool Equal(const OtlpRequest& a, const OtlpRequest& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        return google::protobuf::util::MessageDifferencer::Equals(x, std::get<T>(b));
      },
      a);
}

OtlpRequest Parse(std::string_view json) {
  auto result = ParseOtlpJson(json);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : OtlpRequest();
}

std::string Serialized(const OtlpRequest& request) {
  return std::visit([](const auto& r) { return r.SerializeAsString(); }, request);
}

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

class OtlpFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "otlp_file_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string PathOf(std::string_view name) const { return (dir_ / name).string(); }
  // Temporary files of writers of `path` (`<path>.tmp.<pid>.<n>`).
  static int Temporaries(const std::string& path) {
    const std::string prefix = fs::path(path).filename().string() + ".tmp.";
    int n = 0;
    for (const auto& entry : fs::directory_iterator(fs::path(path).parent_path())) {
      n += entry.path().filename().string().rfind(prefix, 0) == 0;
    }
    return n;
  }

  std::string WriteRaw(std::string_view name, std::string_view bytes) const {
    std::string path = PathOf(name);
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
  }

  static std::string ReadRaw(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string WriteRequests(std::string_view name, OtlpFileFormat format,
                            const std::vector<OtlpRequest>& requests) {
    std::string path = PathOf(name);
    auto writer = OtlpFileWriter::Open(path, format);
    EXPECT_TRUE(writer.ok()) << writer.status().ToString();
    if (!writer.ok()) return path;
    for (const auto& r : requests) {
      auto st = (*writer)->Write(r);
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
    auto st = (*writer)->Close();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return path;
  }

  fs::path dir_;
};

// Scenario: file names with each accepted extension, upper case, and others.
// Guarantees: the format follows the extension; others are Invalid listing the
// accepted ones.
TEST(OtlpFileFormatTest, FormatFromPath) {
  for (auto p : {"a.jsonl", "dir.pb/a.json", "x.NDJSON"}) {
    auto format = FormatFromPath(p);
    ASSERT_TRUE(format.ok()) << p;
    EXPECT_EQ(*format, OtlpFileFormat::kJsonLines) << p;
  }
  for (auto p : {"a.pb", "/t/x.logs.binpb", "b.otlp"}) {
    auto format = FormatFromPath(p);
    ASSERT_TRUE(format.ok()) << p;
    EXPECT_EQ(*format, OtlpFileFormat::kProtobuf) << p;
  }
  for (auto p : {"a.txt", "jsonl", "a.json.gz", "dir.json/file"}) {
    auto st = StatusOf(FormatFromPath(p));
    ASSERT_TRUE(st.IsInvalid()) << p;
    EXPECT_THAT(st.message(), HasSubstr(p));
    EXPECT_THAT(st.message(), HasSubstr(".jsonl, .json or .ndjson"));
    EXPECT_THAT(st.message(), HasSubstr(".pb, .binpb or .otlp"));
  }
}

// Scenario: signal words in file names, as whole words only.
// Guarantees: logs/traces/spans/metrics are found between '.', '-', '_'; partial
// words, other directories and conflicting words give nullopt.
TEST(OtlpFileFormatTest, SignalFromPath) {
  EXPECT_EQ(SignalFromPath("x.logs.pb"), Signal::kLogs);
  EXPECT_EQ(SignalFromPath("/data/otel-traces-2024.pb"), Signal::kTraces);
  EXPECT_EQ(SignalFromPath("my_spans.binpb"), Signal::kTraces);
  EXPECT_EQ(SignalFromPath("METRICS.otlp"), Signal::kMetrics);
  EXPECT_EQ(SignalFromPath("logsfile.pb"), std::nullopt);
  EXPECT_EQ(SignalFromPath("/logs/data.pb"), std::nullopt);
  EXPECT_EQ(SignalFromPath("logs-and-metrics.pb"), std::nullopt);
  EXPECT_EQ(SignalFromPath("data.pb"), std::nullopt);
}

// Scenario: a JSON lines file mixing all three signals, with blank lines, CRLF
// line ends and a byte-order mark.
// Guarantees: one request per non-blank line, each with its own signal, streamed.
TEST_F(OtlpFileTest, JsonLinesMixSignals) {
  std::string text = "\xEF\xBB\xBF";
  text += std::string(kLogsLine) + "\n\n" + std::string(kTracesLine) + "\r\n   \n" +
          std::string(kMetricsLine);  // no final newline
  std::string path = WriteRaw("mixed.jsonl", text);
  ASSERT_OK_AND_ASSIGN(auto reader, OtlpFileReader::Open(path));
  EXPECT_EQ(reader->format(), OtlpFileFormat::kJsonLines);
  std::vector<Signal> signals;
  while (true) {
    ASSERT_OK_AND_ASSIGN(auto request, reader->Next());
    if (!request) break;
    signals.push_back(SignalOf(*request));
  }
  EXPECT_EQ(signals,
            (std::vector<Signal>{Signal::kLogs, Signal::kTraces, Signal::kMetrics}));
  ASSERT_OK_AND_ASSIGN(auto again, reader->Next());
  EXPECT_FALSE(again.has_value());
}

// Scenario: a .json file holding one pretty-printed request over many lines.
// Guarantees: it is read as one request.
TEST_F(OtlpFileTest, PrettyPrintedJsonFile) {
  std::string text =
      "\n{\n  \"resourceSpans\": [\n    {\n      \"scopeSpans\": [\n        {\n"
      "          \"spans\": [ { \"traceId\": \"5B8EFFF798038103D269B633813FC60C\",\n"
      "                       \"name\": \"op\" } ]\n        }\n      ]\n    }\n  ]\n}\n";
  std::string path = WriteRaw("pretty.json", text);
  ASSERT_OK_AND_ASSIGN(auto requests, ReadOtlpFile(path));
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(std::get<TracesRequest>(requests[0])
                .resource_spans(0)
                .scope_spans(0)
                .spans(0)
                .name(),
            "op");
}

// Scenario: empty files of both formats, and a JSON file of only blank lines.
// Guarantees: zero requests, no error, no signal needed.
TEST_F(OtlpFileTest, EmptyFilesHaveNoRequests) {
  for (auto [name, text] :
       {std::pair{"e.jsonl", ""}, {"b.json", "\n  \n"}, {"e.pb", ""}}) {
    std::string path = WriteRaw(name, text);
    ASSERT_OK_AND_ASSIGN(auto requests, ReadOtlpFile(path));
    EXPECT_TRUE(requests.empty()) << name;
  }
}

// Scenario: requests of all signals written as JSON lines and read back.
// Guarantees: one line each, equal messages, no temporary file left.
TEST_F(OtlpFileTest, JsonLinesWriteReadRoundTrip) {
  std::vector<OtlpRequest> requests = {Parse(kLogsLine), Parse(kTracesLine),
                                       Parse(kMetricsLine), Parse(kLogsLine)};
  std::string path = WriteRequests("out.jsonl", OtlpFileFormat::kJsonLines, requests);
  EXPECT_EQ(Temporaries(path), 0);
  std::string text = ReadRaw(path);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4);
  EXPECT_THAT(text, HasSubstr(R"("traceId":"5b8efff798038103d269b633813fc60c")"));
  ASSERT_OK_AND_ASSIGN(auto back, ReadOtlpFile(path));
  ASSERT_EQ(back.size(), requests.size());
  for (size_t i = 0; i < back.size(); ++i) EXPECT_TRUE(Equal(back[i], requests[i])) << i;
}

// Scenario: JSON → length-delimited protobuf file → read → JSON, per signal.
// Guarantees: the JSON is unchanged; the file is protobuf's delimited format.
TEST_F(OtlpFileTest, JsonToProtobufFileToJson) {
  for (auto line : {kLogsLine, kTracesLine, kMetricsLine}) {
    OtlpRequest request = Parse(line);
    ASSERT_OK_AND_ASSIGN(auto json, ToOtlpJson(request));
    std::string name =
        std::string("rt.") + std::string(SignalName(SignalOf(request))) + ".pb";
    std::string path = WriteRequests(name, OtlpFileFormat::kProtobuf, {request, request});
    std::string one = Serialized(request);
    EXPECT_EQ(ReadRaw(path), Varint(one.size()) + one + Varint(one.size()) + one);
    ASSERT_OK_AND_ASSIGN(auto back, ReadOtlpFile(path));
    ASSERT_EQ(back.size(), 2u);
    for (const auto& r : back) {
      ASSERT_OK_AND_ASSIGN(auto json_back, ToOtlpJson(r));
      EXPECT_EQ(json_back, json);
    }
  }
}

// Scenario: protobuf files whose names carry no signal, one per signal.
// Guarantees: trial parsing finds the signal; an explicit signal also works.
TEST_F(OtlpFileTest, ProtobufSignalByTrial) {
  for (auto line : {kLogsLine, kTracesLine, kMetricsLine}) {
    OtlpRequest request = Parse(line);
    std::string path =
        WriteRequests("data.pb", OtlpFileFormat::kProtobuf, {request, request, request});
    ASSERT_OK_AND_ASSIGN(auto back, ReadOtlpFile(path));
    ASSERT_EQ(back.size(), 3u);
    for (const auto& r : back) EXPECT_TRUE(Equal(r, request));
    ASSERT_OK_AND_ASSIGN(back, ReadOtlpFile(path, SignalOf(request)));
    EXPECT_EQ(back.size(), 3u);
  }
}

// Scenario: a protobuf file named x.metrics.pb holding a logs request.
// Guarantees: the name decides (no trial); an explicit signal overrides the name.
TEST_F(OtlpFileTest, ProtobufSignalByName) {
  OtlpRequest logs = Parse(kLogsLine);
  std::string path = WriteRequests("x.logs.pb", OtlpFileFormat::kProtobuf, {logs});
  ASSERT_OK_AND_ASSIGN(auto back, ReadOtlpFile(path));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(SignalOf(back[0]), Signal::kLogs);

  // An empty request parses as any signal; the name settles it.
  std::string empty = WriteRaw("y_metrics.binpb", Varint(0));
  ASSERT_OK_AND_ASSIGN(back, ReadOtlpFile(empty));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(SignalOf(back[0]), Signal::kMetrics);
  ASSERT_OK_AND_ASSIGN(back, ReadOtlpFile(empty, Signal::kTraces));
  EXPECT_EQ(SignalOf(back[0]), Signal::kTraces);
}

// Scenario: the first record of an unnamed protobuf file parses as several
// request types (empty request), or as none (garbage).
// Guarantees: Invalid naming the file and asking for --signal.
TEST_F(OtlpFileTest, ProtobufSignalAmbiguousOrUnknown) {
  std::string path = WriteRaw("data.pb", Varint(0));
  auto st = StatusOf(ReadOtlpFile(path));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr(path + ": record 0 at byte offset 0"));
  EXPECT_THAT(st.message(), HasSubstr("parses as logs and traces and metrics"));
  EXPECT_THAT(st.message(), HasSubstr("--signal"));

  std::string garbage = "\x0a\x03\xff\xff\xff";
  path = WriteRaw("garbage.otlp", Varint(garbage.size()) + garbage);
  st = StatusOf(ReadOtlpFile(path));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr("parses as no OTLP request type"));
  EXPECT_THAT(st.message(), HasSubstr("--signal"));
}

// Scenario: requests of two signals written to one protobuf file.
// Guarantees: Invalid for the second signal; the file keeps the first.
TEST_F(OtlpFileTest, ProtobufWriterRejectsSecondSignal) {
  std::string path = PathOf("one.pb");
  ASSERT_OK_AND_ASSIGN(auto writer,
                       OtlpFileWriter::Open(path, OtlpFileFormat::kProtobuf));
  ASSERT_OK(writer->Write(Parse(kLogsLine)));
  auto st = writer->Write(Parse(kTracesLine));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr("a protobuf OTLP file holds one signal"));
  EXPECT_THAT(st.message(), HasSubstr(path));
  ASSERT_OK(writer->Close());
  ASSERT_OK_AND_ASSIGN(auto back, ReadOtlpFile(path));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(writer->requests_written(), 1);
  st = writer->Write(Parse(kLogsLine));
  EXPECT_TRUE(st.IsInvalid());
  ASSERT_OK(writer->Close());
}

// Scenario: bad lines in a JSON lines file: malformed JSON, invalid hex, wrong
// id length, unknown enum name, invalid UTF-8.
// Guarantees: Invalid with "file:line: field path: problem"; reading goes on with
// the next line.
TEST_F(OtlpFileTest, JsonLineErrorsNameFileLineAndField) {
  std::string text =
      std::string(kLogsLine) + "\n" +  // 1
      R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{)"
      "\n" +  // 2
      R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"zz"}]}]}]})"
      "\n" +  // 3
      "\n" +  // 4
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"01"}]}]}]})"
      "\n" +  // 5
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SERVER"}]}]}]})"
      "\n" +  // 6
      R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityText":"\xff"}]}]}]})"
      "\n" +  // 7
      std::string(kMetricsLine) +
      "\n";  // 8
  text.replace(text.find("\\xff"), 4, "\xff");
  std::string path = WriteRaw("in.jsonl", text);
  ASSERT_OK_AND_ASSIGN(auto reader, OtlpFileReader::Open(path));
  ASSERT_OK_AND_ASSIGN(auto first, reader->Next());
  ASSERT_TRUE(first.has_value());

  auto st = StatusOf(reader->Next());
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr(path + ":2: malformed JSON"));

  st = StatusOf(reader->Next());
  EXPECT_THAT(st.message(),
              HasSubstr(path + ":3: resourceLogs[0].scopeLogs[0].logRecords[0].traceId: "
                               "invalid hex 'zz'"));

  st = StatusOf(reader->Next());
  EXPECT_THAT(st.message(),
              HasSubstr(path + ":5: resourceSpans[0].scopeSpans[0].spans[0].spanId: span "
                               "id must be 8 bytes"));

  st = StatusOf(reader->Next());
  EXPECT_THAT(
      st.message(),
      HasSubstr(path + ":6: resourceSpans[0].scopeSpans[0].spans[0].kind: unknown "
                       "enum value name 'SERVER'"));

  st = StatusOf(reader->Next());
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr(path + ":7: malformed JSON"));
  EXPECT_THAT(st.message(), HasSubstr("UTF-8"));

  ASSERT_OK_AND_ASSIGN(auto last, reader->Next());
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(SignalOf(*last), Signal::kMetrics);
  ASSERT_OK_AND_ASSIGN(auto end, reader->Next());
  EXPECT_FALSE(end.has_value());
}

// Scenario: a pretty-printed .json file with a syntax error deep inside.
// Guarantees: Invalid naming the file and the line within it.
TEST_F(OtlpFileTest, BrokenPrettyJsonNamesFileAndLine) {
  std::string path =
      WriteRaw("broken.json", "{\n  \"resourceLogs\": [\n    {,\n  ]\n}\n");
  auto st = StatusOf(ReadOtlpFile(path));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr(path + ": malformed JSON"));
  EXPECT_THAT(st.message(), HasSubstr("line 3"));
}

// Scenario: protobuf files cut short: in a record's body, inside a length
// prefix, and with a length larger than the file.
// Guarantees: the complete records read; then Invalid naming file, record index
// and byte offset; the error is final.
TEST_F(OtlpFileTest, TruncatedProtobufIsInvalid) {
  OtlpRequest logs = Parse(kLogsLine);
  std::string one = Serialized(logs);
  std::string record = Varint(one.size()) + one;
  std::string path =
      WriteRaw("cut.logs.pb", record + record.substr(0, record.size() - 3));
  ASSERT_OK_AND_ASSIGN(auto reader, OtlpFileReader::Open(path));
  ASSERT_OK_AND_ASSIGN(auto first, reader->Next());
  ASSERT_TRUE(first.has_value());
  auto st = StatusOf(reader->Next());
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr(path + ": record 1 at byte offset " +
                                      std::to_string(record.size()) + ": truncated"));
  EXPECT_TRUE(StatusOf(reader->Next()).IsInvalid());

  path = WriteRaw("cut2.logs.pb", record + "\x80");
  st = StatusOf(ReadOtlpFile(path));
  EXPECT_THAT(st.message(),
              HasSubstr("record 1 at byte offset " + std::to_string(record.size()) +
                        ": truncated: the length prefix is cut off"));

  path = WriteRaw("huge.pb", Varint(1u << 30) + "abc");
  st = StatusOf(ReadOtlpFile(path, Signal::kLogs));
  EXPECT_THAT(st.message(), HasSubstr("record 0 at byte offset 0: truncated: the length "
                                      "prefix says 1073741824 bytes but only 3 remain"));
  // Without a signal the trial read reports the same.
  st = StatusOf(ReadOtlpFile(path));
  EXPECT_THAT(st.message(), HasSubstr("record 0 at byte offset 0: truncated"));
}

// Scenario: a record whose bytes are not a valid message for the signal.
// Guarantees: Invalid naming file, record and offset.
TEST_F(OtlpFileTest, MalformedProtobufRecordIsInvalid) {
  std::string garbage = "\x0a\x05\x01";  // field 1, length 5, only 1 byte
  std::string path = WriteRaw("bad.traces.pb", Varint(garbage.size()) + garbage);
  auto st = StatusOf(ReadOtlpFile(path));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(),
              HasSubstr(path + ": record 0 at byte offset 0: cannot parse as "
                               "ExportTraceServiceRequest"));
}

// Scenario: a protobuf string field (log body) holding invalid UTF-8.
// Guarantees: Invalid naming record and offset and the UTF-8 problem; protobuf
// prints nothing to stderr, neither when reading nor when writing such data.
TEST_F(OtlpFileTest, InvalidUtf8InProtobufStringIsInvalid) {
  OtlpRequest logs = Parse(kLogsLine);
  std::string good = Serialized(logs);
  std::string bad = good;
  auto pos = bad.find("hello");
  ASSERT_NE(pos, std::string::npos);
  bad.replace(pos, 2, "\xff\xfe");
  std::string content = Varint(good.size()) + good + Varint(bad.size()) + bad;
  std::string path = WriteRaw("utf8.logs.pb", content);

  ::testing::internal::CaptureStderr();
  auto result = ReadOtlpFile(path);
  auto st_trial = StatusOf(ReadOtlpFile(WriteRaw("utf8.pb", Varint(bad.size()) + bad)));
  std::string stderr_text = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(stderr_text, "");

  auto st = StatusOf(result);
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(),
              HasSubstr(path + ": record 1 at byte offset " +
                        std::to_string(Varint(good.size()).size() + good.size())));
  EXPECT_THAT(st.message(), HasSubstr("invalid UTF-8"));
  EXPECT_THAT(st.message(), HasSubstr("AnyValue.string_value"));
  ASSERT_TRUE(st_trial.IsInvalid());
  EXPECT_THAT(st_trial.message(), HasSubstr("invalid UTF-8"));

  // Writing such a request is refused the same way, silently.
  LogsRequest request;
  request.add_resource_logs()->add_scope_logs()->add_log_records()->set_severity_text(
      "\xff");
  ::testing::internal::CaptureStderr();
  std::string out = PathOf("w.pb");
  auto writer = OtlpFileWriter::Open(out, OtlpFileFormat::kProtobuf);
  ASSERT_TRUE(writer.ok());
  auto write_st = (*writer)->Write(OtlpRequest(request));
  auto json_writer = OtlpFileWriter::Open(PathOf("w.jsonl"), OtlpFileFormat::kJsonLines);
  ASSERT_TRUE(json_writer.ok());
  auto json_st = (*json_writer)->Write(OtlpRequest(request));
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  ASSERT_TRUE(write_st.IsInvalid());
  EXPECT_THAT(write_st.message(), HasSubstr("invalid UTF-8"));
  EXPECT_TRUE(json_st.IsInvalid());
}

// Scenario: output in a directory that does not exist, or under a regular file.
// Guarantees: IOError naming the path and strerror; nothing is created.
TEST_F(OtlpFileTest, UnwritableOutputIsIOError) {
  std::string path = PathOf("missing/dir/out.jsonl");
  auto st = StatusOf(OtlpFileWriter::Open(path, OtlpFileFormat::kJsonLines));
  ASSERT_TRUE(st.IsIOError());
  EXPECT_THAT(st.message(), HasSubstr(path));
  EXPECT_THAT(st.message(), HasSubstr("No such file or directory"));

  std::string file = WriteRaw("plain", "x");
  path = file + "/out.pb";
  st = StatusOf(OtlpFileWriter::Open(path, OtlpFileFormat::kProtobuf));
  ASSERT_TRUE(st.IsIOError());
  EXPECT_THAT(st.message(), HasSubstr(path));
  EXPECT_THAT(st.message(), HasSubstr("Not a directory"));
}

// Scenario: a writer destroyed without Close() (a failed run).
// Guarantees: neither the file nor its temporary remains; an older file at the
// path is untouched.
TEST_F(OtlpFileTest, UnclosedWriterLeavesNoFile) {
  std::string path = PathOf("partial.jsonl");
  {
    ASSERT_OK_AND_ASSIGN(auto writer,
                         OtlpFileWriter::Open(path, OtlpFileFormat::kJsonLines));
    ASSERT_OK(writer->Write(Parse(kLogsLine)));
    EXPECT_EQ(Temporaries(path), 1);
    EXPECT_FALSE(fs::exists(path));
  }
  EXPECT_EQ(Temporaries(path), 0);
  EXPECT_FALSE(fs::exists(path));

  std::string old = WriteRaw("old.jsonl", std::string(kTracesLine) + "\n");
  {
    ASSERT_OK_AND_ASSIGN(auto writer,
                         OtlpFileWriter::Open(old, OtlpFileFormat::kJsonLines));
    ASSERT_OK(writer->Write(Parse(kLogsLine)));
  }
  EXPECT_EQ(ReadRaw(old), std::string(kTracesLine) + "\n");
}

// Scenario: two writers of one path open at once (two `convert` runs to one
// OUTPUT), and a file of the user's named `<path>.tmp` next to it.
// Guarantees: each writer has a temporary file of its own, so the path ends up
// holding one writer's requests whole (the last Close), never a mix; the user's
// `<path>.tmp` is untouched; no temporary file is left.
TEST_F(OtlpFileTest, WritersOfOnePathKeepTheirTemporariesApart) {
  const std::string path = PathOf("shared.jsonl");
  const std::string users = WriteRaw("shared.jsonl.tmp", "mine\n");
  ASSERT_OK_AND_ASSIGN(auto a, OtlpFileWriter::Open(path, OtlpFileFormat::kJsonLines));
  ASSERT_OK(a->Write(Parse(kTracesLine)));
  ASSERT_OK(a->Write(Parse(kTracesLine)));
  ASSERT_OK_AND_ASSIGN(auto b, OtlpFileWriter::Open(path, OtlpFileFormat::kJsonLines));
  ASSERT_OK(b->Write(Parse(kLogsLine)));
  ASSERT_OK(a->Close());
  EXPECT_EQ(ReadRaw(path), std::string(ToOtlpJson(Parse(kTracesLine)).ValueOrDie()) +
                               "\n" + ToOtlpJson(Parse(kTracesLine)).ValueOrDie() + "\n");
  ASSERT_OK(b->Close());
  EXPECT_EQ(ReadRaw(path), ToOtlpJson(Parse(kLogsLine)).ValueOrDie() + "\n");
  EXPECT_EQ(ReadRaw(users), "mine\n");
  int files = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(path).parent_path())) {
    files += entry.path().filename().string().rfind("shared.jsonl", 0) == 0;
  }
  EXPECT_EQ(files, 2);  // the output and the user's file
}

// Scenario: reading a missing file, a directory, a file with an unknown extension.
// Guarantees: IOError / Invalid naming the path.
TEST_F(OtlpFileTest, OpenErrorsNameThePath) {
  std::string path = PathOf("nope.jsonl");
  auto st = StatusOf(OtlpFileReader::Open(path));
  ASSERT_TRUE(st.IsIOError());
  EXPECT_THAT(st.message(), HasSubstr(path));
  std::string dir = PathOf("dir.jsonl");
  fs::create_directory(dir);
  st = StatusOf(OtlpFileReader::Open(dir));
  ASSERT_TRUE(st.IsIOError());
  EXPECT_THAT(st.message(), HasSubstr(dir + ": Is a directory"));
  path = WriteRaw("data.csv", "a,b\n");
  st = StatusOf(OtlpFileReader::Open(path));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr(path));
}

// Scenario: JSON lines with `{}` and a signal passed to Open.
// Guarantees: the signal applies to objects without a resourceX key only.
TEST_F(OtlpFileTest, JsonSignalArgumentIsDefault) {
  std::string path = WriteRaw("d.ndjson", "{}\n" + std::string(kTracesLine) + "\n");
  ASSERT_OK_AND_ASSIGN(auto requests, ReadOtlpFile(path, Signal::kMetrics));
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(SignalOf(requests[0]), Signal::kMetrics);
  EXPECT_EQ(SignalOf(requests[1]), Signal::kTraces);
  auto st = StatusOf(ReadOtlpFile(path));
  EXPECT_THAT(st.message(), HasSubstr(path + ":1: not an OTLP export request"));
}

}  // namespace
}  // namespace otap_parquet::otlp
