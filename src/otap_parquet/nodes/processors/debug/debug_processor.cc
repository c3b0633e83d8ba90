// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/processors/debug/debug_processor.h"

#include <utility>

#include <fmt/format.h>

#include "otap_parquet/nodes/common/batch_text.h"

namespace otap_parquet::nodes {

namespace {

// One item of a signal, as signal mode numbers them.
const char* ItemName(Signal signal) {
  switch (signal) {
    case Signal::kLogs:
      return "log record";
    case Signal::kTraces:
      return "span";
    case Signal::kMetrics:
      return "metric";
  }
  return "item";
}

}  // namespace

DebugProcessorConfig DebugProcessorConfig::Read(config::ConfigReader& reader) {
  DebugProcessorConfig c;
  c.verbosity = reader.Enum("verbosity",
                            {{"basic", Verbosity::kBasic},
                             {"normal", Verbosity::kNormal},
                             {"detailed", Verbosity::kDetailed}},
                            c.verbosity);
  c.mode =
      reader.Enum("mode", {{"batch", Mode::kBatch}, {"signal", Mode::kSignal}}, c.mode);
  if (auto list = reader.StringList("signals")) {
    c.signals = {false, false, false};
    for (const auto& name : *list) {
      if (name == "logs") {
        c.signals[0] = true;
      } else if (name == "spans" || name == "traces") {
        c.signals[1] = true;
      } else if (name == "metrics") {
        c.signals[2] = true;
      } else {
        reader.Error("signals", fmt::format("unknown signal \"{}\"; expected logs, "
                                            "metrics or spans",
                                            name));
      }
    }
  }
  const YAML::Node output = reader.Raw("output");
  if (output.IsDefined() && !output.IsNull()) {
    if (output.IsScalar()) {
      c.output = output.Scalar();
    } else {
      reader.Error("output",
                   "output ports are not supported yet; use a file path or "
                   "omit for the console");
    }
  }
  const YAML::Node filters = reader.Raw("filters");
  if (filters.IsDefined() && !filters.IsNull() &&
      !(filters.IsSequence() && filters.size() == 0)) {
    reader.Error("filters", "filters are not supported yet");
  }
  if (reader.Has("sampling")) {
    config::ConfigReader sampling = reader.Child("sampling");
    sampling.Accept("type", {"no_sampling"});
    sampling.Finish();
  }
  return c;
}

arrow::Result<std::unique_ptr<engine::Node>> DebugProcessor::Make(
    const engine::NodeSettings& settings, const YAML::Node& config) {
  ARROW_ASSIGN_OR_RAISE(
      auto c, config::ParseTyped<DebugProcessorConfig>(config, settings.config_path));
  return std::unique_ptr<engine::Node>(new DebugProcessor(
      std::move(c), fmt::format("{}/{}", settings.group, settings.pipeline)));
}

arrow::Status DebugProcessor::Start(engine::EffectHandler& effect) {
  ARROW_ASSIGN_OR_RAISE(sink_, TextSink::Open(config_.output));
  (void)effect;
  return arrow::Status::OK();
}

arrow::Status DebugProcessor::Process(engine::PData msg, engine::EffectHandler& effect) {
  const int s = static_cast<int>(msg.signal());
  batches_[s]++;
  items_[s] += msg.num_items();
  if (config_.signals[s]) {
    const std::string prefix =
        fmt::format("debug node={} core={} {} batch #{}:", effect.node_id(),
                    effect.core(), SignalName(msg.signal()), batches_[s]);
    if (config_.verbosity == DebugProcessorConfig::Verbosity::kBasic) {
      sink_->WriteLine(fmt::format("{} {} {} (total {})", prefix, msg.num_items(),
                                   ItemNoun(msg.signal()), items_[s]));
    } else {
      sink_->WriteLine(fmt::format("{} {}", prefix, SummarizeBatch(msg.batch)));
    }
    const bool detailed = config_.verbosity == DebugProcessorConfig::Verbosity::kDetailed;
    arrow::Status rendered;
    if (config_.mode == DebugProcessorConfig::Mode::kSignal &&
        config_.verbosity != DebugProcessorConfig::Verbosity::kBasic) {
      // As upstream: one report per item, numbered from 0 within the batch.
      auto items =
          ItemsToOtlpJson(msg.batch, detailed ? ItemFields::kAll : ItemFields::kSummary);
      rendered = items.status();
      if (items.ok()) {
        const char* noun = ItemName(msg.signal());
        for (size_t i = 0; i < items->size(); ++i) {
          sink_->WriteLine(fmt::format("{} {} #{}: {}", prefix, noun, i, (*items)[i]));
        }
      }
    } else if (detailed) {
      auto json = BatchToOtlpJson(msg.batch);
      rendered = json.status();
      if (json.ok()) sink_->WriteLine(*json);
    }
    if (!rendered.ok()) {
      effect.metrics().errors++;
      sink_->WriteLine(
          fmt::format("{} <cannot render: {}>", prefix, rendered.ToString()));
    }
  }
  return effect.Send(std::move(msg));
}

arrow::Future<> DebugProcessor::Shutdown(engine::Clock::time_point,
                                         engine::EffectHandler& effect) {
  if (sink_) {
    sink_->WriteLine(fmt::format(
        "debug node={} core={} totals: logs={} batches/{} items, traces={}/{}, "
        "metrics={}/{}",
        effect.node_id(), effect.core(), batches_[0], items_[0], batches_[1], items_[1],
        batches_[2], items_[2]));
  }
  return arrow::Future<>::MakeFinished();
}

const engine::NodeFactory kDebugProcessorFactory{
    .urn = "urn:otel:processor:debug",
    .kind = engine::NodeKind::kProcessor,
    .description = "prints counts, summaries or content; forwards data unchanged",
    .validate_config = &config::ValidateTyped<DebugProcessorConfig>,
    .create = &DebugProcessor::Make};

}  // namespace otap_parquet::nodes
