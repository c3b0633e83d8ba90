// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/processors/batch/batch_processor.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <spdlog/logger.h>

#include "otap_parquet/nodes/processors/batch/metrics.h"
#include "otap_parquet/pdata/otap_concat.h"

namespace otap_parquet::nodes {

using engine::Clock;

namespace {

BatchFormatConfig ReadFormat(config::ConfigReader reader, BatchFormatConfig defaults,
                             const char* sizer) {
  if (!reader.node().IsMap()) {
    reader.Finish();
    return defaults;
  }
  // Once the object is given, omitted sizes are null (as upstream's serde).
  BatchFormatConfig c{std::nullopt, std::nullopt, sizer};
  reader.AllowNull({"min_size", "max_size"});
  c.min_size = reader.Int("min_size", 1);
  c.max_size = reader.Int("max_size", 1);
  reader.Accept("sizer", {sizer});
  if (!reader.Has("sizer")) {
    reader.Error("", fmt::format("missing required key \"sizer\" (must be {})", sizer));
  }
  for (auto key : {"max_split_fragments", "max_split_overhead_bytes",
                   "max_split_fragments_per_flush"}) {
    reader.Ignore(key);
  }
  if (!c.min_size && !c.max_size && !reader.Has("min_size") && !reader.Has("max_size")) {
    reader.Error("", "set at least one of min_size and max_size");
  }
  if (c.min_size && c.max_size && *c.max_size < *c.min_size) {
    reader.Error("max_size", fmt::format("must be >= min_size ({}), got {}", *c.min_size,
                                         *c.max_size));
  }
  reader.Finish();
  return c;
}

}  // namespace

BatchProcessorConfig BatchProcessorConfig::Read(config::ConfigReader& reader) {
  BatchProcessorConfig c;
  if (reader.Has("otap")) c.otap = ReadFormat(reader.Child("otap"), c.otap, "items");
  if (reader.Has("otlp")) c.otlp = ReadFormat(reader.Child("otlp"), c.otlp, "bytes");
  if (auto d = reader.Duration("max_batch_duration")) c.max_batch_duration = *d;
  if (auto v = reader.Int("inbound_request_limit", 1)) c.inbound_request_limit = *v;
  if (auto v = reader.Int("outbound_request_limit", 1)) c.outbound_request_limit = *v;
  c.format = reader.Enum(
      "format",
      {{"preserve", Format::kPreserve}, {"otap", Format::kOtap}, {"otlp", Format::kOtlp}},
      c.format);
  if (c.max_batch_duration.count() == 0 && (c.otap.min_size || !c.otap.max_size)) {
    reader.Error("max_batch_duration",
                 "0s (no timer) needs otap.min_size: null and otap.max_size set");
  }
  if (c.otap.max_size && *c.otap.max_size > 65535) {
    reader.Error("otap",
                 fmt::format("max_size must be <= 65535, got {}", *c.otap.max_size));
  }
  return c;
}

arrow::Result<std::unique_ptr<engine::Node>> BatchProcessor::Make(
    const engine::NodeSettings& settings, const YAML::Node& config) {
  ARROW_ASSIGN_OR_RAISE(
      auto c, config::ParseTyped<BatchProcessorConfig>(config, settings.config_path));
  return std::unique_ptr<engine::Node>(new BatchProcessor(std::move(c)));
}

arrow::Result<std::unique_ptr<BatchProcessor>> BatchProcessor::Create(
    BatchProcessorConfig config) {
  return std::unique_ptr<BatchProcessor>(new BatchProcessor(std::move(config)));
}

arrow::Status BatchProcessor::Start(engine::EffectHandler& effect) {
  if (config_.max_batch_duration.count() > 0) {
    // Ticks at a quarter of the duration: a batch waits at most 1.25x the duration.
    const auto period = std::max<Clock::duration>(
        std::chrono::duration_cast<Clock::duration>(config_.max_batch_duration / 4),
        std::chrono::milliseconds(1));
    effect.StartPeriodicTimer(period);
  }
  return arrow::Status::OK();
}

arrow::Status BatchProcessor::Process(engine::PData msg, engine::EffectHandler& effect) {
  // The engine stops feeding at the limit (AcceptsPdata); only a caller that
  // ignores it gets here at the limit.
  if (pending_messages_ + static_cast<int64_t>(inbound_.size()) >=
      config_.inbound_request_limit) {
    effect.metrics().refused++;
    msg.context.Nack({"processor:batch: inbound request limit reached", false});
    return arrow::Status::OK();
  }
  const int s = static_cast<int>(msg.signal());
  Pending& pending = pending_[s];
  if (pending.inputs.empty()) pending.first_arrival = Clock::now();
  pending.items += msg.num_items();
  pending.inputs.push_back(std::move(msg));
  pending_messages_++;
  const int64_t threshold =
      config_.otap.min_size.value_or(config_.otap.max_size.value_or(1));
  if (pending.items >= threshold)
    return Flush(static_cast<Signal>(s), effect, FlushReason::kBySize);
  if (pending_messages_ >= config_.inbound_request_limit) {
    // Pending inputs alone fill the limit: intake stays paused until they are
    // flushed, so flush them now rather than wait for the timer (or forever).
    arrow::Status first;
    for (int other = 0; other < 3; ++other) {
      auto st = Flush(static_cast<Signal>(other), effect, FlushReason::kByLimit);
      if (first.ok() && !st.ok()) first = st;
    }
    return first;
  }
  return arrow::Status::OK();
}

bool BatchProcessor::AcceptsPdata() const {
  // Backpressure, not Nacks: inputs and outputs waiting for their outcome settle
  // by themselves.
  return pending_messages_ + static_cast<int64_t>(inbound_.size()) <
             config_.inbound_request_limit &&
         static_cast<int64_t>(outbound_.size()) < config_.outbound_request_limit;
}

arrow::Status BatchProcessor::OnTimer(Clock::time_point now,
                                      engine::EffectHandler& effect) {
  arrow::Status first;  // a failed flush of one signal does not hold up the others
  for (int s = 0; s < 3; ++s) {
    const Pending& pending = pending_[s];
    if (!pending.inputs.empty() &&
        now - pending.first_arrival >= config_.max_batch_duration) {
      auto st = Flush(static_cast<Signal>(s), effect, FlushReason::kByTimer);
      if (first.ok() && !st.ok()) first = st;
    }
  }
  return first;
}

void BatchProcessor::CountFlush(FlushReason reason, int64_t inputs, int64_t outputs,
                                engine::EffectHandler& effect) {
  static constexpr const char* kReasons[] = {"size", "timer", "shutdown", "limit"};
  const int r = static_cast<int>(reason);
  flushes_[r]++;
  merged_inputs_ += inputs;
  if (outputs > 1) splits_++;
  engine::NodeMetrics& m = effect.metrics();
  m.Set(BatchProcessorMetrics::flushes, flushes_[r], kReasons[r]);
  m.Set(BatchProcessorMetrics::inputs_flushed, merged_inputs_);
  m.Set(BatchProcessorMetrics::split_flushes, splits_);
}

arrow::Status BatchProcessor::Flush(Signal signal, engine::EffectHandler& effect,
                                    FlushReason reason) {
  Pending& pending = pending_[static_cast<int>(signal)];
  std::vector<engine::PData> inputs = std::move(pending.inputs);
  pending.inputs.clear();
  const int64_t items = pending.items;
  pending.items = 0;
  pending_messages_ -= static_cast<int64_t>(inputs.size());
  if (inputs.empty()) return arrow::Status::OK();
  return Emit(signal, std::move(inputs), items, effect, reason);
}

arrow::Status BatchProcessor::Emit(Signal signal, std::vector<engine::PData> inputs,
                                   int64_t items, engine::EffectHandler& effect,
                                   FlushReason reason) {
  const std::optional<int64_t>& max_size = config_.otap.max_size;
  if (inputs.size() == 1 && (!max_size || items <= *max_size)) {
    // Nothing to merge or split: forward the message with its own context.
    CountFlush(reason, 1, 1, effect);
    return effect.Send(std::move(inputs.front()));
  }

  // Merge natively: ids are offset per input and the tables concatenated, then cut
  // into runs of root rows of at most max_size items (and 65535 roots) each.
  ConcatOptions concat;
  concat.max_items = max_size;
  std::vector<OtapBatch> batches;
  batches.reserve(inputs.size());
  for (const auto& input : inputs) batches.push_back(input.batch);
  auto merged = ConcatOtapBatches(batches, concat);
  if (!merged.ok()) {
    const arrow::Status st =
        merged.status().WithMessage("merging ", inputs.size(), " ", SignalName(signal),
                                    " batches: ", merged.status().message());
    if (inputs.size() > 1) {
      // One input can fail the merge of all (a table that does not normalize, ids
      // that overflow UInt32 once offset by the inputs before it): each input goes
      // on by itself, so only one that fails alone is refused.
      for (auto& input : inputs) {
        const int64_t n = input.num_items();
        std::vector<engine::PData> one;
        one.push_back(std::move(input));
        (void)Emit(signal, std::move(one), n, effect, reason);  // error logged below
      }
      return st;
    }
    inputs.front().context.Nack(
        {"processor:batch: " + merged.status().message(), /*permanent=*/true});
    return st;
  }
  std::vector<OtapBatch> outputs = std::move(*merged);
  // No outbound refusal: at outbound_request_limit intake pauses (AcceptsPdata), so
  // a flush exceeds it at most by its own outputs. Refusing instead Nacked inputs
  // already taken, and a flush of more outputs than the limit on every retry.
  CountFlush(reason, static_cast<int64_t>(inputs.size()),
             static_cast<int64_t>(outputs.size()), effect);

  std::vector<uint64_t> inbound_ids;
  for (auto& input : inputs) {
    if (!input.context.has_subscribers()) continue;  // nobody waits for it
    const uint64_t id = next_id_++;
    inbound_.emplace(id, Inbound{std::move(input.context),
                                 static_cast<int64_t>(outputs.size()), std::nullopt});
    inbound_ids.push_back(id);
  }
  if (outputs.empty()) {
    // Inputs held no items: they are done.
    for (uint64_t id : inbound_ids) {
      inbound_[id].context.Ack();
      inbound_.erase(id);
    }
    return arrow::Status::OK();
  }
  // Every output is sent even after a failed Send (which Nacks its output): the
  // inputs wait for all outputs.size() outcomes, so none may be skipped.
  arrow::Status first;
  for (auto& out : outputs) {
    engine::PData msg(std::move(out));
    if (!inbound_ids.empty()) {
      const uint64_t id = next_id_++;
      outbound_.emplace(id, inbound_ids);
      effect.Subscribe(msg, id);
    }
    auto st = effect.Send(std::move(msg));
    if (first.ok() && !st.ok()) first = st;
  }
  return first;
}

void BatchProcessor::Settle(uint64_t outbound_id, const engine::NackInfo* nack) {
  auto it = outbound_.find(outbound_id);
  if (it == outbound_.end()) return;
  for (uint64_t inbound_id : it->second) {
    auto in = inbound_.find(inbound_id);
    if (in == inbound_.end()) continue;
    // The first reason, but a retryable one over a permanent one: the source's
    // retry re-sends the refused part too (refused again, and then for good), while a
    // permanent Nack would give up the part that only failed for now.
    if (nack &&
        (!in->second.failure || (in->second.failure->permanent && !nack->permanent))) {
      in->second.failure = *nack;
    }
    if (--in->second.outstanding > 0) continue;
    if (in->second.failure) {
      in->second.context.Nack(*in->second.failure);
    } else {
      in->second.context.Ack();
    }
    inbound_.erase(in);
  }
  outbound_.erase(it);
}

void BatchProcessor::OnAck(uint64_t calldata, engine::AckContext,
                           engine::EffectHandler&) {
  Settle(calldata, nullptr);
}

void BatchProcessor::OnNack(uint64_t calldata, const engine::NackInfo& nack,
                            engine::AckContext, engine::EffectHandler&) {
  Settle(calldata, &nack);
}

arrow::Future<> BatchProcessor::Shutdown(Clock::time_point,
                                         engine::EffectHandler& effect) {
  arrow::Status first;
  for (int s = 0; s < 3; ++s) {
    auto st = Flush(static_cast<Signal>(s), effect, FlushReason::kByShutdown);
    if (first.ok() && !st.ok()) first = st;
  }
  return arrow::Future<>::MakeFinished(first);
}

const engine::NodeFactory kBatchProcessorFactory{
    .urn = "urn:otel:processor:batch",
    .kind = engine::NodeKind::kProcessor,
    .description = "merges and splits batches per signal, tracking Acks",
    .validate_config = &config::ValidateTyped<BatchProcessorConfig>,
    .create = &BatchProcessor::Make};

}  // namespace otap_parquet::nodes
