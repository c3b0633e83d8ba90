// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/file/file_exporter.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "otap_parquet/engine/testing/fake_effect.h"
#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/equivalence.h"
#include "otap_parquet/otlp/otlp_file.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::nodes {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FileExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("otap_fileexp_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    sink_ = std::make_shared<fakes::Outcomes>();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  arrow::Result<std::unique_ptr<engine::Node>> MakeNode(const std::string& yaml,
                                                        int num_cores = 1) {
    engine::NodeSettings settings;
    settings.node_id = "file";
    settings.config_path = "nodes.file.config";
    settings.num_cores = num_cores;
    settings.logger = spdlog::default_logger();
    return kFileExporterFactory.create(settings, YAML::Load(yaml));
  }

  std::string PathConfig(const std::string& name) {
    return "path: '" + (dir_ / name).string() + "'\n";
  }

  // One generated request of `signal`, as the OTAP batches the pipeline carries.
  std::vector<engine::PData> Messages(Signal signal, uint64_t seed,
                                      std::vector<otlp::OtlpRequest>* sent) {
    generator::GeneratorOptions options;
    options.seed = seed;
    options.items_per_scope = 5;
    generator::OtlpGenerator gen(options);
    auto request = gen.Next(signal);
    sent->push_back(request);
    std::vector<engine::PData> out;
    for (auto& batch : otlp::ToOtap(request).ValueOrDie()) {
      engine::PData msg(std::move(batch));
      msg.context.Subscribe(sink_, {0, next_++});
      out.push_back(std::move(msg));
    }
    return out;
  }

  arrow::Status ExportAll(engine::Node& node, std::vector<engine::PData> msgs) {
    for (auto& msg : msgs) {
      ARROW_RETURN_NOT_OK(
          static_cast<engine::Exporter&>(node).Export(std::move(msg), effect_));
    }
    return arrow::Status::OK();
  }

  fs::path dir_;
  std::shared_ptr<fakes::Outcomes> sink_;
  fakes::FakeEffect effect_{"file"};
  uint64_t next_ = 0;
};

// Scenario: every config mistake at once.
// Guarantees: each is reported with the node's YAML path; a valid config passes.
TEST_F(FileExporterTest, ConfigErrorsCarryTheirPath) {
  config::ConfigErrors errors;
  kFileExporterFactory.validate_config(
      YAML::Load("open_mode: truncate\ntail_recovery: fail\nmax_frame_bytes: 1GiB\n"
                 "format: parquet\npth: x\n"),
      "nodes.file.config", &errors);
  const std::string text = errors.ToStatus().ToString();
  EXPECT_THAT(text, HasSubstr("nodes.file.config.path (line 1): is required"));
  EXPECT_THAT(text, HasSubstr("nodes.file.config.tail_recovery (line 2): applies only "
                              "with open_mode: append"));
  EXPECT_THAT(text, HasSubstr("max_frame_bytes (line 3): must be at most 256MiB"));
  EXPECT_THAT(text, HasSubstr("nodes.file.config.format (line 4)"));
  EXPECT_THAT(text, HasSubstr("nodes.file.config.pth (line 5): unknown key"));

  config::ConfigErrors twice;
  kFileExporterFactory.validate_config(YAML::Load("path: a-{signal}-{signal}.jsonl"), "n",
                                       &twice);
  EXPECT_THAT(twice.ToStatus().ToString(), HasSubstr("{signal} may appear at most once"));

  config::ConfigErrors none;
  kFileExporterFactory.validate_config(
      YAML::Load("path: /x/{signal}-{core_id}-{generation}.jsonl\n"
                 "durability: sync_data\nopen_mode: create_new\n"),
      "n", &none);
  EXPECT_TRUE(none.empty()) << none.ToStatus().ToString();

  // Several instances need {core_id}, or they would share a file.
  ASSERT_RAISES(Invalid, MakeNode("path: out.jsonl", 2).status());
  EXPECT_OK(MakeNode("path: out-{core_id}.jsonl", 2).status());
}

// Scenario: logs, traces and metrics through one exporter with {signal} in the path.
// Guarantees: one file per signal, each line one batch, every batch Acked after its
// write, and the files hold exactly the telemetry sent (read back by the OTLP file
// reader and compared field by field).
TEST_F(FileExporterTest, WritesOneFilePerSignalThatReadsBackEquivalent) {
  ASSERT_OK_AND_ASSIGN(auto node, MakeNode(PathConfig("{signal}-{core_id}.jsonl") +
                                           "durability: sync_data\n"));
  ASSERT_OK(node->Start(effect_));
  std::vector<otlp::OtlpRequest> sent[3];
  for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      ASSERT_OK(
          ExportAll(*node, Messages(signal, seed, &sent[static_cast<int>(signal)])));
    }
  }
  ASSERT_OK(node->Shutdown(engine::Clock::now(), effect_).status());
  EXPECT_EQ(sink_->acked_count(), next_);
  EXPECT_EQ(sink_->nacked_count(), 0u);
  for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
    const auto path = dir_ / (std::string(SignalName(signal)) + "-0.jsonl");
    ASSERT_OK_AND_ASSIGN(auto back, otlp::ReadOtlpFile(path.string()));
    EXPECT_OK(otlp::CheckEquivalent(sent[static_cast<int>(signal)], back));
  }
  EXPECT_GT(effect_.metrics().extra("file_bytes_written"), 0);
  EXPECT_EQ(effect_.metrics().extra("file_lines_written"), static_cast<int64_t>(next_));
}

// Scenario: a file left by a crash mid-line, then opened in append mode, with
// tail_recovery truncate_partial and fail.
// Guarantees: truncate_partial drops only the partial line and appends after the
// complete ones; fail refuses the file (Nack naming it) and leaves it untouched.
TEST_F(FileExporterTest, TailRecoveryOfAPartialLastLine) {
  const auto path = dir_ / "all.jsonl";
  {
    std::ofstream out(path);
    out << "{\"resourceLogs\":[]}\n{\"resourceLo";
  }
  {
    ASSERT_OK_AND_ASSIGN(auto node,
                         MakeNode(PathConfig("all.jsonl") + "tail_recovery: fail\n"));
    ASSERT_OK(node->Start(effect_));
    std::vector<otlp::OtlpRequest> sent;
    ASSERT_OK(ExportAll(*node, Messages(Signal::kLogs, 1, &sent)));
    ASSERT_EQ(sink_->nacked_count(), 1u);
    EXPECT_THAT(sink_->nacks[0].reason, HasSubstr("ends with a partial line"));
    EXPECT_THAT(sink_->nacks[0].reason, HasSubstr(path.string()));
    EXPECT_EQ(ReadAll(path), "{\"resourceLogs\":[]}\n{\"resourceLo");
  }
  ASSERT_OK_AND_ASSIGN(auto node, MakeNode(PathConfig("all.jsonl")));
  ASSERT_OK(node->Start(effect_));
  std::vector<otlp::OtlpRequest> sent;
  ASSERT_OK(ExportAll(*node, Messages(Signal::kLogs, 2, &sent)));
  ASSERT_OK(node->Shutdown(engine::Clock::now(), effect_).status());
  EXPECT_EQ(sink_->acked_count(), 1u);
  ASSERT_OK_AND_ASSIGN(auto back, otlp::ReadOtlpFile(path.string()));
  ASSERT_EQ(back.size(), 2u);  // the old complete line, then ours
  EXPECT_OK(otlp::CheckEquivalent(std::span(sent), std::span(back).subspan(1)));
}

// Scenario: open_mode create_new on an existing file; truncate on one.
// Guarantees: create_new Nacks naming the file and leaves it; truncate replaces it.
TEST_F(FileExporterTest, OpenModes) {
  const auto path = dir_ / "x.jsonl";
  { std::ofstream(path) << "old\n"; }
  std::vector<otlp::OtlpRequest> sent;
  {
    ASSERT_OK_AND_ASSIGN(auto node,
                         MakeNode(PathConfig("x.jsonl") + "open_mode: create_new\n"));
    ASSERT_OK(node->Start(effect_));
    ASSERT_OK(ExportAll(*node, Messages(Signal::kTraces, 1, &sent)));
    ASSERT_EQ(sink_->nacked_count(), 1u);
    EXPECT_THAT(sink_->nacks[0].reason, HasSubstr("cannot open " + path.string()));
    EXPECT_EQ(ReadAll(path), "old\n");
  }
  sent.clear();
  ASSERT_OK_AND_ASSIGN(auto node,
                       MakeNode(PathConfig("x.jsonl") + "open_mode: truncate\n"));
  ASSERT_OK(node->Start(effect_));
  ASSERT_OK(ExportAll(*node, Messages(Signal::kTraces, 1, &sent)));
  ASSERT_OK_AND_ASSIGN(auto back, otlp::ReadOtlpFile(path.string()));
  EXPECT_OK(otlp::CheckEquivalent(sent, back));
}

// Scenario: a batch larger than max_frame_bytes; a missing directory.
// Guarantees: the batch is Nacked permanently (nothing written); the missing
// directory fails Start with a message naming it, unless create_directories.
TEST_F(FileExporterTest, OversizedFrameAndMissingDirectory) {
  ASSERT_OK_AND_ASSIGN(auto node,
                       MakeNode(PathConfig("f.jsonl") + "max_frame_bytes: 64\n"));
  ASSERT_OK(node->Start(effect_));
  std::vector<otlp::OtlpRequest> sent;
  ASSERT_OK(ExportAll(*node, Messages(Signal::kLogs, 1, &sent)));
  ASSERT_EQ(sink_->nacked_count(), 1u);
  EXPECT_TRUE(sink_->nacks[0].permanent);
  EXPECT_THAT(sink_->nacks[0].reason, HasSubstr("exceeds max_frame_bytes (64)"));
  EXPECT_FALSE(fs::exists(dir_ / "f.jsonl"));

  ASSERT_OK_AND_ASSIGN(auto missing, MakeNode(PathConfig("sub/dir/{signal}.jsonl")));
  auto st = missing->Start(effect_);
  ASSERT_RAISES(IOError, st);
  EXPECT_THAT(st.message(), HasSubstr((dir_ / "sub/dir").string()));
  ASSERT_OK_AND_ASSIGN(auto created, MakeNode(PathConfig("sub/dir/{signal}.jsonl") +
                                              "create_directories: true\n"));
  EXPECT_OK(created->Start(effect_));
  EXPECT_TRUE(fs::is_directory(dir_ / "sub/dir"));
}

// Scenario: the file size limit (RLIMIT_FSIZE, a real EFBIG from the kernel) hits
// in the middle of a line.
// Guarantees: the batch is Nacked (retryable) with the OS error, the partial line
// is rolled back so the file holds only complete lines, and the exporter keeps
// working once there is room again.
TEST_F(FileExporterTest, FailedWriteRollsBackAndNacks) {
  ASSERT_OK_AND_ASSIGN(auto node, MakeNode(PathConfig("f.jsonl")));
  ASSERT_OK(node->Start(effect_));
  std::vector<otlp::OtlpRequest> sent;
  ASSERT_OK(ExportAll(*node, Messages(Signal::kLogs, 1, &sent)));
  ASSERT_EQ(sink_->acked_count(), 1u);
  const auto size = fs::file_size(dir_ / "f.jsonl");

  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = size + 100;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::vector<otlp::OtlpRequest> lost;
  auto st = ExportAll(*node, Messages(Signal::kLogs, 2, &lost));
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_OK(st);
  ASSERT_EQ(sink_->nacked_count(), 1u);
  EXPECT_FALSE(sink_->nacks[0].permanent);
  EXPECT_THAT(sink_->nacks[0].reason, HasSubstr("File too large"));
  EXPECT_EQ(fs::file_size(dir_ / "f.jsonl"), size);
  EXPECT_EQ(effect_.metrics().extra("file_write_errors"), 1);

  ASSERT_OK(ExportAll(*node, Messages(Signal::kLogs, 3, &sent)));
  ASSERT_OK(node->Shutdown(engine::Clock::now(), effect_).status());
  ASSERT_OK_AND_ASSIGN(auto back, otlp::ReadOtlpFile((dir_ / "f.jsonl").string()));
  EXPECT_OK(otlp::CheckEquivalent(sent, back));
}

}  // namespace
}  // namespace otap_parquet::nodes
