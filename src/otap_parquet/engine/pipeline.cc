// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/engine/pipeline.h"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace otap_parquet::engine {

namespace {

// Messages a processor or exporter may take from its input per loop turn, so that
// one busy node does not starve timers and completions.
constexpr int kMaxBatchPerTurn = 32;

// Calldata of the frame the engine pushes on every message it hands to an
// exporter, so that the exporter's Ack/Nack is counted on the exporter's own
// metrics before the outcome goes on upstream. Exporters never subscribe with it.
constexpr uint64_t kExportOutcomeCalldata = UINT64_MAX;

void UpdateQueueDepth(NodeMetrics& metrics, int64_t depth) {
  metrics.queue_depth = depth;
  int64_t max = metrics.queue_depth_max.load(std::memory_order_relaxed);
  while (depth > max && !metrics.queue_depth_max.compare_exchange_weak(max, depth)) {
  }
}

}  // namespace

const char* PipelineStateName(PipelineState state) {
  switch (state) {
    case PipelineState::kCreated:
      return "created";
    case PipelineState::kStarting:
      return "starting";
    case PipelineState::kRunning:
      return "running";
    case PipelineState::kDraining:
      return "draining";
    case PipelineState::kStopped:
      return "stopped";
  }
  return "unknown";
}

/// Completed frames waiting for the pipeline thread. Thread-safe.
class CompletionQueue : public CompletionSink {
 public:
  struct Item {
    AckFrame frame;
    std::optional<NackInfo> nack;
    AckContext rest;
  };

  explicit CompletionQueue(std::shared_ptr<Wakeup> wakeup) : wakeup_(std::move(wakeup)) {}

  void Deliver(const AckFrame& frame, const NackInfo* nack, AckContext rest) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!closed_) {
        items_.push_back({frame, nack ? std::optional<NackInfo>(*nack) : std::nullopt,
                          std::move(rest)});
        wakeup_->Notify();
        return;
      }
    }
    // Closed: the pipeline instance is being destroyed and its nodes are gone;
    // `rest` (if it has frames) Nacks itself on destruction, outside the lock, and
    // is dropped here too.
  }

  std::deque<Item> TakeAll() {
    std::deque<Item> out;
    std::lock_guard<std::mutex> lock(mutex_);
    out.swap(items_);
    return out;
  }

  void Close() {
    std::deque<Item> dropped;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
      dropped.swap(items_);
    }
  }

 private:
  std::shared_ptr<Wakeup> wakeup_;
  std::mutex mutex_;
  std::deque<Item> items_;
  bool closed_ = false;
};

struct OutPort {
  std::string name;
  std::vector<int> dests;  // node indexes
  std::atomic<uint64_t> next{0};
};

// A message waiting for room in its port's destinations.
struct OutboxEntry {
  const OutPort* port;
  int dest;  // the destination picked for it, tried first
  PData msg;
};

struct NodeRuntime {
  int index = 0;
  std::string id;
  std::string urn;
  NodeKind kind = NodeKind::kReceiver;
  std::unique_ptr<Node> node;
  std::unique_ptr<BoundedChannel<PData>> input;  // processors and exporters
  std::vector<int> upstream;
  std::vector<std::unique_ptr<OutPort>> ports;
  std::string default_port;
  std::deque<OutboxEntry> outbox;
  std::shared_ptr<NodeMetrics> metrics;
  std::unique_ptr<EffectHandler> effect;

  std::optional<Clock::duration> timer_period;
  Clock::time_point next_tick = Clock::time_point::max();
  Clock::time_point next_poll = Clock::time_point::min();
  bool started = false;
  bool finished = false;  // receiver reported it has nothing more to produce
  bool drain_called = false;
  bool shutdown_called = false;
  std::optional<arrow::Future<>> shutdown_future;
  bool done = false;
  int64_t error_logs = 0;

  Receiver* receiver() const {
    return kind == NodeKind::kReceiver ? static_cast<Receiver*>(node.get()) : nullptr;
  }
  Processor* processor() const {
    return kind == NodeKind::kProcessor ? static_cast<Processor*>(node.get()) : nullptr;
  }
  Exporter* exporter() const {
    return kind == NodeKind::kExporter ? static_cast<Exporter*>(node.get()) : nullptr;
  }
  bool AcceptsPdata() const {
    if (auto* p = processor()) return p->AcceptsPdata();
    if (auto* e = exporter()) return e->AcceptsPdata();
    return false;
  }
};

class PipelineInstance::Effect : public EffectHandler {
 public:
  Effect(PipelineInstance* pipeline, NodeRuntime* node)
      : pipeline_(pipeline), node_(node) {}

  const std::string& node_id() const override { return node_->id; }
  int core() const override { return pipeline_->settings_.core; }
  spdlog::logger& logger() override { return *pipeline_->logger_; }
  NodeMetrics& metrics() override { return *node_->metrics; }

  arrow::Status Send(PData msg, std::string_view port) override {
    ARROW_ASSIGN_OR_RAISE(OutPort * out, FindPort(port, &msg));
    const int dest = Pick(*out);
    node_->metrics->sent_batches++;
    node_->metrics->sent_items += msg.num_items();
    if (node_->outbox.empty()) {
      switch (pipeline_->PushToPort(*node_, *out, dest, msg)) {
        case PushResult::kOk:
        case PushResult::kClosed:  // Nacked and counted
          return arrow::Status::OK();
        case PushResult::kFull:
          node_->metrics->send_blocked++;
          break;
      }
    }
    node_->outbox.push_back({out, dest, std::move(msg)});
    return arrow::Status::OK();
  }

  bool CanSend(std::string_view port) const override {
    if (!node_->outbox.empty()) return false;
    const OutPort* out = LookupPort(port);
    if (!out) return false;
    // one_of: a full destination is passed by (PushToPort).
    for (int dest : out->dests) {
      if (!pipeline_->nodes_[dest]->input->full()) return true;
    }
    return false;
  }

  arrow::Status SendFromAnyThread(PData& msg, Clock::time_point deadline,
                                  std::string_view port) override {
    const OutPort* out = LookupPort(port);
    if (!out) {
      return arrow::Status::Invalid("node ", node_->id,
                                    " has no connected output port \"",
                                    port.empty() ? node_->default_port : port, "\"");
    }
    int dest = Pick(const_cast<OutPort&>(*out));
    const int64_t items = msg.num_items();
    // one_of: a destination with room first; block only when all are full.
    for (size_t i = 1; i < out->dests.size() && pipeline_->nodes_[dest]->input->full();
         ++i) {
      dest = out->dests[(IndexOf(*out, dest) + 1) % out->dests.size()];
    }
    NodeRuntime& to = *pipeline_->nodes_[dest];
    arrow::Status st = to.input->Push(msg, deadline);
    if (st.ok()) {
      UpdateQueueDepth(*to.metrics, to.input->size());
      node_->metrics->sent_batches++;
      node_->metrics->sent_items += items;
    } else if (st.IsCapacityError()) {
      node_->metrics->refused++;
      return arrow::Status::CapacityError("RESOURCE_EXHAUSTED: pipeline ",
                                          pipeline_->name_, " is at capacity");
    }
    return st;
  }

  void Subscribe(PData& msg, uint64_t calldata) override {
    msg.context.Subscribe(pipeline_->completions_, AckFrame{node_->index, calldata});
  }

  void StartPeriodicTimer(Clock::duration period) override {
    if (period <= Clock::duration::zero()) period = std::chrono::milliseconds(1);
    node_->timer_period = period;
    node_->next_tick = Clock::now() + period;
  }
  void CancelTimer() override {
    node_->timer_period.reset();
    node_->next_tick = Clock::time_point::max();
  }

  void ReportFinished() override { node_->finished = true; }
  void ReportUndelivered(std::string_view how, int64_t batches, int64_t items) override {
    std::lock_guard<std::mutex> lock(pipeline_->undelivered_mutex_);
    for (auto& u : pipeline_->undelivered_) {
      if (u.node == node_->id && u.how == how) {
        u.batches += batches;
        u.items += items;
        return;
      }
    }
    pipeline_->undelivered_.push_back(
        {.node = node_->id, .how = std::string(how), .batches = batches, .items = items});
  }
  void Wake() override { pipeline_->wakeup_->Notify(); }
  void RequestPoll() override { node_->next_poll = Clock::time_point::min(); }

 private:
  const OutPort* LookupPort(std::string_view port) const {
    const std::string_view name = port.empty() ? node_->default_port : port;
    for (const auto& p : node_->ports) {
      if (p->name == name) return p.get();
    }
    if (port.empty() && node_->ports.size() == 1) return node_->ports[0].get();
    return nullptr;
  }

  arrow::Result<OutPort*> FindPort(std::string_view port, PData* msg) {
    const OutPort* out = LookupPort(port);
    if (!out) {
      auto st =
          arrow::Status::Invalid("node ", node_->id, " has no connected output port \"",
                                 port.empty() ? node_->default_port : port, "\"");
      msg->context.Nack({st.message(), true});
      return st;
    }
    return const_cast<OutPort*>(out);
  }

  static size_t IndexOf(const OutPort& out, int dest) {
    return static_cast<size_t>(std::find(out.dests.begin(), out.dests.end(), dest) -
                               out.dests.begin());
  }

  static int Pick(OutPort& out) {
    if (out.dests.size() == 1) return out.dests[0];
    return out.dests[out.next.fetch_add(1) % out.dests.size()];
  }

  PipelineInstance* pipeline_;
  NodeRuntime* node_;
};

std::vector<UndeliveredData> PipelineInstance::undelivered() const {
  std::lock_guard<std::mutex> lock(undelivered_mutex_);
  return undelivered_;
}

PipelineInstance::~PipelineInstance() {
  // A node may still settle contexts as it stops (an exporter whose requests were
  // in flight at the shutdown deadline Acks or Nacks them from its destructor), and
  // uses its EffectHandler until then. So the nodes go first, sinks first, while
  // their handles, the channels and the completion queue still exist; each one's
  // outcomes are delivered to the upstream nodes not destroyed yet (a receiver then
  // answers its waiting client with the real outcome, not "stopped").
  for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
    (*it)->node.reset();
    if (completions_) {
      while (DispatchCompletions()) {
      }
    }
  }
  if (completions_) completions_->Close();
}

arrow::Result<std::unique_ptr<PipelineInstance>> PipelineInstance::Make(
    const config::PipelineSpec& spec, const Registry& registry,
    PipelineSettings settings) {
  std::unique_ptr<PipelineInstance> p(new PipelineInstance());
  p->name_ = spec.path.empty() ? fmt::format("{}/{}", spec.group, spec.name)
                               : fmt::format("{}/{}", spec.group, spec.name);
  if (!settings.logger) settings.logger = spdlog::default_logger();
  if (!settings.metrics) {
    p->own_metrics_ = std::make_unique<MetricsRegistry>();
    settings.metrics = p->own_metrics_.get();
  }
  p->settings_ = settings;
  p->logger_ = settings.logger;
  p->wakeup_ = std::make_shared<Wakeup>();
  p->completions_ = std::make_shared<CompletionQueue>(p->wakeup_);

  std::map<std::string, int> index_of;
  for (const auto& id : config::TopologicalOrder(spec)) {
    const config::NodeSpec* ns = spec.FindNode(id);
    if (!ns || !ns->urn) return arrow::Status::Invalid("node ", id, " has no valid type");
    const NodeFactory* factory = registry.Find(ns->urn->canonical());
    if (!factory) {
      return arrow::Status::Invalid("unknown node type ", ns->urn->canonical(), " of ",
                                    id);
    }
    auto rt = std::make_unique<NodeRuntime>();
    rt->index = static_cast<int>(p->nodes_.size());
    rt->id = id;
    rt->urn = ns->urn->canonical();
    rt->kind = factory->kind;
    rt->default_port = ns->default_output.empty() ? "default" : ns->default_output;
    NodeSettings node_settings{id,
                               *ns->urn,
                               spec.group,
                               spec.name,
                               settings.core,
                               settings.num_cores,
                               ns->config_path(),
                               settings.logger,
                               spec.capacity.pdata};
    auto node = factory->create(node_settings, ns->config);
    if (!node.ok()) {
      return node.status().WithMessage("creating node ", id, " (", rt->urn,
                                       "): ", node.status().message());
    }
    rt->node = std::move(*node);
    if (rt->node->kind() != rt->kind) {
      return arrow::Status::Invalid("factory ", rt->urn,
                                    " created a node of another kind");
    }
    rt->metrics =
        settings.metrics->AddNode({spec.group, spec.name, id, rt->urn, settings.core});
    if (rt->kind != NodeKind::kReceiver) {
      rt->input =
          std::make_unique<BoundedChannel<PData>>(spec.capacity.pdata, p->wakeup_);
      rt->metrics->queue_capacity = spec.capacity.pdata;
    } else {
      p->receivers_++;
    }
    rt->effect = std::make_unique<Effect>(p.get(), rt.get());
    index_of[id] = rt->index;
    p->nodes_.push_back(std::move(rt));
  }
  if (p->nodes_.size() != spec.nodes.size()) {
    return arrow::Status::Invalid("pipeline ", p->name_, " has a cycle");
  }
  for (const auto& edge : spec.edges) {
    NodeRuntime& from = *p->nodes_[index_of.at(edge.from)];
    auto port = std::make_unique<OutPort>();
    port->name = edge.port;
    for (const auto& to : edge.to) {
      const int dest = index_of.at(to);
      port->dests.push_back(dest);
      auto& up = p->nodes_[dest]->upstream;
      if (std::find(up.begin(), up.end(), from.index) == up.end()) {
        up.push_back(from.index);
      }
    }
    from.ports.push_back(std::move(port));
  }
  return p;
}

Node* PipelineInstance::FindNode(const std::string& id) const {
  for (const auto& n : nodes_) {
    if (n->id == id) return n->node.get();
  }
  return nullptr;
}

std::shared_ptr<NodeMetrics> PipelineInstance::metrics_of(const std::string& id) const {
  for (const auto& n : nodes_) {
    if (n->id == id) return n->metrics;
  }
  return nullptr;
}

void PipelineInstance::RequestShutdown(Clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(shutdown_mutex_);
    shutdown_requested_ = true;
    requested_deadline_ = std::min(requested_deadline_, deadline);
  }
  wakeup_->Notify();
}

void PipelineInstance::LogNodeError(NodeRuntime& node, const char* what,
                                    const arrow::Status& st) {
  node.metrics->errors++;
  // Rate-limited: the first few, then every 1000th; the counter has them all.
  if (node.error_logs++ < 5 || node.error_logs % 1000 == 0) {
    logger_->error("node.{}.fail pipeline={} core={} node={} count={} error={}", what,
                   name_, settings_.core, node.id, node.error_logs, st.ToString());
  }
}

bool PipelineInstance::DispatchCompletions() {
  auto items = completions_->TakeAll();
  for (auto& item : items) {
    if (item.frame.node_index < 0 ||
        item.frame.node_index >= static_cast<int>(nodes_.size())) {
      continue;  // frames always come from this instance; defensive only
    }
    NodeRuntime& n = *nodes_[item.frame.node_index];
    if (item.frame.calldata == kExportOutcomeCalldata && n.kind == NodeKind::kExporter) {
      // The engine's own frame (see FeedNode): count, then pass the outcome on.
      if (item.nack) {
        (item.nack->permanent ? n.metrics->nacked_permanent
                              : n.metrics->nacked_retryable)++;
        item.rest.Nack(*item.nack);
      } else {
        n.metrics->acked++;
        item.rest.Ack();
      }
      continue;
    }
    // Destroyed already (~PipelineInstance): `rest` goes on upstream as a Nack.
    if (!n.node) continue;
    if (item.nack) {
      (item.nack->permanent ? n.metrics->nacked_permanent
                            : n.metrics->nacked_retryable)++;
      n.node->OnNack(item.frame.calldata, *item.nack, std::move(item.rest), *n.effect);
    } else {
      n.metrics->acked++;
      n.node->OnAck(item.frame.calldata, std::move(item.rest), *n.effect);
    }
  }
  return !items.empty();
}

bool PipelineInstance::RunTimers(Clock::time_point now) {
  bool progress = false;
  for (auto& n : nodes_) {
    if (!n->timer_period || n->next_tick > now || n->done || n->shutdown_called) continue;
    n->next_tick += *n->timer_period;
    if (n->next_tick <= now) n->next_tick = now + *n->timer_period;
    auto st = n->node->OnTimer(now, *n->effect);
    if (!st.ok()) LogNodeError(*n, "timer", st);
    progress = true;
  }
  return progress;
}

PushResult PipelineInstance::PushToPort(NodeRuntime& from, const OutPort& port, int dest,
                                        PData& msg) {
  // `dest` first, then (one_of: competing consumers) the next with room, so that one
  // full destination (a slow or stuck exporter) does not hold up the others.
  const size_t n = port.dests.size();
  const size_t first = static_cast<size_t>(
      std::find(port.dests.begin(), port.dests.end(), dest) - port.dests.begin());
  for (size_t i = 0; i < n; ++i) {
    const int to = port.dests[(first + i) % n];
    const PushResult r = nodes_[to]->input->TryPush(msg);
    if (r == PushResult::kFull) continue;
    if (r == PushResult::kOk) {
      UpdateQueueDepth(*nodes_[to]->metrics, nodes_[to]->input->size());
    } else {
      from.metrics->dropped++;
      msg.context.Nack({"destination " + nodes_[to]->id + " is closed", false});
    }
    return r;
  }
  return PushResult::kFull;
}

bool PipelineInstance::FlushOutbox(NodeRuntime& node) {
  bool progress = false;
  while (!node.outbox.empty()) {
    OutboxEntry& entry = node.outbox.front();
    if (PushToPort(node, *entry.port, entry.dest, entry.msg) == PushResult::kFull) break;
    node.outbox.pop_front();
    progress = true;
  }
  return progress;
}

bool PipelineInstance::FeedNode(NodeRuntime& node) {
  if (!node.input || node.shutdown_called) return false;
  bool progress = false;
  for (int i = 0; i < kMaxBatchPerTurn; ++i) {
    if (!node.outbox.empty() || !node.AcceptsPdata()) break;
    auto msg = node.input->TryPop();
    if (!msg) break;
    progress = true;
    node.metrics->received_batches++;
    node.metrics->received_items += msg->num_items();
    arrow::Status st;
    if (auto* p = node.processor()) {
      st = p->Process(std::move(*msg), *node.effect);
    } else {
      msg->context.Subscribe(completions_, AckFrame{node.index, kExportOutcomeCalldata});
      st = node.exporter()->Export(std::move(*msg), *node.effect);
    }
    if (!st.ok()) LogNodeError(node, "process", st);
  }
  UpdateQueueDepth(*node.metrics, node.input->size());
  return progress;
}

bool PipelineInstance::PollReceivers(Clock::time_point now) {
  bool progress = false;
  for (auto& n : nodes_) {
    Receiver* r = n->receiver();
    if (!r || n->finished || !n->outbox.empty() || n->next_poll > now) continue;
    n->next_poll = r->Poll(now, *n->effect);
    progress = true;
  }
  return progress;
}

void PipelineInstance::BeginDrain(Clock::time_point deadline) {
  draining_ = true;
  state_ = PipelineState::kDraining;
  deadline_ = deadline;
  logger_->info("pipeline.drain.start pipeline={} core={}", name_, settings_.core);
  for (auto& n : nodes_) {
    if (auto* r = n->receiver()) {
      n->timer_period.reset();
      n->next_tick = Clock::time_point::max();
      r->Drain(*n->effect);
      n->drain_called = true;
    }
    // Processors and exporters keep their timers until their Shutdown: one that
    // stopped intake until a timed flush must still get it, or its queued input
    // would never drain and be dropped at the deadline.
  }
}

bool PipelineInstance::AdvanceShutdown(Clock::time_point now) {
  bool progress = false;
  for (auto& n : nodes_) {
    if (n->done) continue;
    if (!n->shutdown_called) {
      bool ready;
      if (auto* r = n->receiver()) {
        ready = r->drained() && n->outbox.empty();
      } else {
        ready = n->outbox.empty() && n->input->size() == 0 &&
                std::all_of(n->upstream.begin(), n->upstream.end(),
                            [&](int up) { return nodes_[up]->done; });
      }
      if (!ready) continue;
      if (n->input) n->input->Close();
      n->shutdown_called = true;
      n->shutdown_future = n->node->Shutdown(deadline_, *n->effect);
      progress = true;
    }
    if (n->outbox.empty() && n->shutdown_future->is_finished()) {
      const arrow::Status st = n->shutdown_future->status();
      if (!st.ok()) LogNodeError(*n, "shutdown", st);
      n->done = true;
      progress = true;
    }
  }
  (void)now;
  return progress;
}

void PipelineInstance::ForceStop() {
  deadline_exceeded_ = true;
  int64_t dropped = 0;
  std::vector<std::string> unfinished;  // nodes whose drain the deadline cut short
  for (auto& n : nodes_) {
    if (!n->done) unfinished.push_back(n->id);
    if (!n->shutdown_called) {
      n->shutdown_called = true;
      n->shutdown_future = n->node->Shutdown(Clock::now(), *n->effect);
    }
    int64_t count = 0, items = 0;
    for (const auto& entry : n->outbox) {
      count++;
      items += entry.msg.num_items();
    }
    n->outbox.clear();  // each message's context Nacks itself
    if (n->input) {
      // Closed first: a producer blocked in Push must not refill the channel after
      // it was emptied (that message would be neither counted nor Nacked in time).
      n->input->Close();
      while (auto msg = n->input->TryPop()) {
        count++;
        items += msg->num_items();
      }
      UpdateQueueDepth(*n->metrics, 0);
    }
    n->metrics->dropped += count;
    dropped += count;
    if (count > 0) {
      // The run did not deliver this: `otap-parquet run` reports it and exits 3.
      n->effect->ReportUndelivered("dropped at the shutdown deadline", count, items);
    }
    n->done = true;
  }
  logger_->warn(
      "pipeline.drain.deadline_exceeded pipeline={} core={} dropped={} unfinished={}",
      name_, settings_.core, dropped, fmt::join(unfinished, ","));
}

Clock::time_point PipelineInstance::NextWake(Clock::time_point now) const {
  Clock::time_point wake = now + std::chrono::milliseconds(200);
  for (const auto& n : nodes_) {
    wake = std::min(wake, n->next_tick);
    if (!draining_ && n->receiver() && !n->finished && n->outbox.empty()) {
      wake = std::min(wake, n->next_poll);
    }
    // Outboxes waiting on a full channel of another thread's consumer cannot
    // happen (all consumers are on this thread), but shutdown futures may finish
    // on other threads without waking us: poll them.
    if (n->shutdown_called && !n->done) {
      wake = std::min(wake, now + std::chrono::milliseconds(5));
    }
  }
  if (draining_) wake = std::min(wake, deadline_);
  return wake;
}

arrow::Status PipelineInstance::Run() {
  logger_->debug("pipeline.start pipeline={} core={} nodes={}", name_, settings_.core,
                 nodes_.size());
  state_ = PipelineState::kStarting;
  // Start sinks first, so nothing is sent to a node that is not ready.
  for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
    NodeRuntime& n = **it;
    auto st = n.node->Start(*n.effect);
    if (!st.ok()) {
      n.metrics->errors++;
      for (auto& other : nodes_) {
        if (other->started) (void)other->node->Shutdown(Clock::now(), *other->effect);
      }
      state_ = PipelineState::kStopped;
      return st.WithMessage("starting node ", n.id, " (", n.urn, ") of pipeline ", name_,
                            ": ", st.message());
    }
    n.started = true;
  }
  state_ = PipelineState::kRunning;
  while (true) {
    const uint64_t seen = wakeup_->generation();
    const Clock::time_point now = Clock::now();
    bool progress = false;
    if (!draining_) {
      std::lock_guard<std::mutex> lock(shutdown_mutex_);
      if (shutdown_requested_) {
        BeginDrain(requested_deadline_);
        progress = true;
      }
    } else {
      std::lock_guard<std::mutex> lock(shutdown_mutex_);
      deadline_ = std::min(deadline_, requested_deadline_);
    }
    if (!draining_ && receivers_ > 0 &&
        std::all_of(nodes_.begin(), nodes_.end(), [](const auto& n) {
          return n->kind != NodeKind::kReceiver || n->finished;
        })) {
      BeginDrain(now + settings_.drain_timeout);
      progress = true;
    }
    progress |= DispatchCompletions();
    progress |= RunTimers(now);
    for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
      progress |= FlushOutbox(**it);
      progress |= FeedNode(**it);
    }
    if (!draining_) progress |= PollReceivers(now);
    for (auto& n : nodes_) {
      if (n->receiver()) progress |= FlushOutbox(*n);
    }
    if (draining_) {
      progress |= AdvanceShutdown(now);
      if (std::all_of(nodes_.begin(), nodes_.end(),
                      [](const auto& n) { return n->done; })) {
        // A completion may complete further contexts (the batch processor Acks its
        // inputs when its outputs are Acked): dispatch until quiet.
        while (DispatchCompletions()) {
        }
        break;
      }
      if (Clock::now() >= deadline_) {
        ForceStop();
        while (DispatchCompletions()) {
        }
        break;
      }
    }
    if (!progress) wakeup_->WaitUntil(seen, NextWake(now));
  }
  // The queue stays open: what nodes settle from now on (late answers of requests
  // the deadline cut short) is delivered when the nodes are destroyed.
  state_ = PipelineState::kStopped;
  logger_->debug("pipeline.complete pipeline={} core={}", name_, settings_.core);
  return arrow::Status::OK();
}

}  // namespace otap_parquet::engine
