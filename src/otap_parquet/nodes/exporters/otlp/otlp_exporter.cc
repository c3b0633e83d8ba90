// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/otlp/otlp_exporter.h"

#include <condition_variable>
#include <map>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/otlp/convert.h"

namespace otap_parquet::nodes {

namespace {

using engine::Clock;
using JobPtr = std::shared_ptr<OtlpExportJob>;

std::string FormatNs(std::chrono::nanoseconds d) {
  return fmt::format("{}ms",
                     std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

}  // namespace

class OtlpExporter::State : public std::enable_shared_from_this<State> {
 public:
  State(const Options& options, engine::EffectHandler& effect,
        std::unique_ptr<OtlpTransport> transport)
      : kind_(options.kind),
        prefix_(options.metric_prefix),
        target_(options.target),
        node_id_(effect.node_id()),
        defs_(options.metrics),
        core_(effect.core()),
        retry_(options.client.retry),
        max_in_flight_(options.client.max_in_flight),
        backoff_(options.client.retry.Policy()),
        transport_(std::move(transport)),
        effect_(&effect),
        logger_(&effect.logger()),
        metrics_(&effect.metrics()) {}

  void StartScheduler() {
    scheduler_ = std::thread([self = shared_from_this()] { self->RunScheduler(); });
  }

  int64_t in_flight() const { return in_flight_.load(); }
  int64_t max_in_flight() const { return max_in_flight_; }

  void Submit(JobPtr job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      live_.emplace(job->id, job);
      ++in_flight_;
    }
    job->first_attempt = Clock::now();
    StartAttempt(std::move(job));
    Publish();
  }

  /// Nacks a message that could not become a request (bad data).
  void Reject(engine::AckContext context, const std::string& reason) {
    context.Nack({fmt::format("{} {}: {}", kind_, node_id_, reason), true});
    ++nacked_permanent_;
    Publish();
  }

  arrow::Future<> BeginShutdown(Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    shutting_down_ = true;
    deadline_ = deadline;
    if (in_flight_ == 0) {
      shutdown_done_ = true;
      return arrow::Future<>::MakeFinished();
    }
    shutdown_future_ = arrow::Future<>::Make();
    auto future = shutdown_future_;
    if (deadline <= Clock::now()) {
      // Forced stop: settle everything now, on the pipeline thread.
      lock.unlock();
      Abort("shutdown deadline reached");
    } else {
      cv_.notify_all();
    }
    return future;
  }

  /// Stops the threads; anything still pending is Nacked. Called by the node's
  /// destructor (no pipeline calls after it).
  void Close() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      effect_ = nullptr;
    }
    cv_.notify_all();
    if (scheduler_.joinable()) scheduler_.join();
    if (transport_) transport_->Stop();
    Abort("exporter stopped");
  }

 private:
  void StartAttempt(JobPtr job) {
    ++job->attempts;
    ++requests_sent_;
    transport_->Send(job, [self = shared_from_this(), job](AttemptResult result) {
      self->OnAttemptDone(job, std::move(result));
    });
  }

  void OnAttemptDone(const JobPtr& job, AttemptResult result) {
    bytes_sent_ += result.bytes_sent;
    if (result.outcome == AttemptOutcome::kSuccess) {
      ++requests_succeeded_;
      // A negative count from a confused peer rejects nothing (and must not count
      // more items exported than sent).
      result.rejected_items = std::max<int64_t>(0, result.rejected_items);
      if (result.rejected_items > 0) {
        items_rejected_ += result.rejected_items;
        logger_->warn(
            "{}.partial_success node={} core={} signal={} rejected={} of {} message={}",
            prefix_, node_id_, core_, SignalName(job->signal), result.rejected_items,
            job->items, result.partial_success_message);
      }
      items_exported_[static_cast<int>(job->signal)] +=
          job->items - std::min(job->items, result.rejected_items);
      Finish(job, std::nullopt);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(metrics_mutex_);
      ++failures_[result.reason];
    }
    const std::string error = result.message.empty()
                                  ? result.reason
                                  : fmt::format("{}: {}", result.reason, result.message);
    {
      std::lock_guard<std::mutex> lock(job->mutex);
      job->last_error = error;
    }
    if (result.outcome == AttemptOutcome::kPermanent) {
      logger_->warn(
          "{}.export_failed node={} core={} target={} signal={} items={} "
          "permanent=true error=\"{}\"",
          prefix_, node_id_, core_, target_, SignalName(job->signal), job->items, error);
      Finish(job, engine::NackInfo{fmt::format("{} {}: export to {} failed: {}", kind_,
                                               node_id_, target_, error),
                                   true});
      return;
    }
    if (!retry_.enabled) {
      Finish(job, engine::NackInfo{fmt::format("{} {}: export to {} failed: {}", kind_,
                                               node_id_, target_, error),
                                   false});
      return;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    const auto now = Clock::now();
    const auto delay = backoff_.Delay(job->attempts, result.retry_after);
    const auto due = now + delay;
    std::string give_up;
    if (aborted_ || stop_) {
      give_up = "exporter stopping";
    } else if (backoff_.policy().Expired(due - job->first_attempt)) {
      give_up = fmt::format("retries exhausted after {} attempts (max_elapsed_time {})",
                            job->attempts, FormatNs(retry_.max_elapsed_time));
    } else if (shutting_down_ && due > deadline_) {
      give_up =
          fmt::format("shutting down: next retry ({} from now) is past the deadline",
                      FormatNs(delay));
    }
    if (give_up.empty()) {
      retries_.emplace(due, job);
      ++retries_count_;
      lock.unlock();
      cv_.notify_all();
      logger_->debug("{}.retry node={} core={} attempt={} delay={} error=\"{}\"", prefix_,
                     node_id_, core_, job->attempts, FormatNs(delay), error);
      Publish();
      return;
    }
    lock.unlock();
    logger_->warn(
        "{}.export_failed node={} core={} target={} signal={} items={} "
        "attempts={} error=\"{}\" ({})",
        prefix_, node_id_, core_, target_, SignalName(job->signal), job->items,
        job->attempts, error, give_up);
    Finish(job, engine::NackInfo{fmt::format("{} {}: export to {} failed: {}; {}", kind_,
                                             node_id_, target_, error, give_up),
                                 false});
  }

  // Completes the job's context once (Ack when `nack` is empty) and releases its
  // in-flight slot.
  void Finish(const JobPtr& job, std::optional<engine::NackInfo> nack) {
    std::optional<engine::AckContext> context;
    {
      std::lock_guard<std::mutex> lock(job->mutex);
      context.swap(job->context);
    }
    if (!context) return;  // settled by the shutdown already
    if (nack) {
      (nack->permanent ? nacked_permanent_ : nacked_retryable_)++;
    } else {
      ++batches_acked_;
    }
    // Counters first: whoever sees the outcome sees them too.
    Publish();
    if (nack) {
      context->Nack(std::move(*nack));
    } else {
      context->Ack();
    }
    engine::EffectHandler* wake = nullptr;
    arrow::Future<> finished;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      live_.erase(job->id);
      const bool was_full = in_flight_ >= max_in_flight_;
      --in_flight_;
      if (shutting_down_ && in_flight_ == 0 && !shutdown_done_) {
        shutdown_done_ = true;
        finished = shutdown_future_;
        wake = effect_;
      } else if (was_full && !shutting_down_) {
        wake = effect_;
      }
    }
    Publish();
    if (finished.is_valid()) finished.MarkFinished();
    if (wake) wake->Wake();
  }

  // Cancels what the transport is doing and Nacks every pending job.
  void Abort(const std::string& why) {
    std::vector<JobPtr> jobs;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      aborted_ = true;
      retries_.clear();
      for (auto& [id, job] : live_) jobs.push_back(job);
    }
    if (transport_) transport_->CancelAll();
    if (!jobs.empty()) {
      logger_->warn("{}.abort node={} core={} pending={} reason=\"{}\"", prefix_,
                    node_id_, core_, jobs.size(), why);
    }
    for (auto& job : jobs) {
      const std::string last_error = job->LastError();
      const std::string last =
          last_error.empty() ? "" : fmt::format(" (last error: {})", last_error);
      Finish(job, engine::NackInfo{fmt::format("{} {}: {} before the export to {} "
                                               "completed{}",
                                               kind_, node_id_, why, target_, last),
                                   false});
    }
  }

  void RunScheduler() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      const auto now = Clock::now();
      if (shutting_down_ && !aborted_ && now >= deadline_) {
        lock.unlock();
        Abort("shutdown deadline reached");
        lock.lock();
        continue;
      }
      std::vector<JobPtr> due;
      std::vector<JobPtr> too_late;
      while (!retries_.empty() && retries_.begin()->first <= now) {
        due.push_back(std::move(retries_.begin()->second));
        retries_.erase(retries_.begin());
      }
      // A retry due after the shutdown deadline will not run: Nack it now.
      while (shutting_down_ && !retries_.empty() &&
             retries_.rbegin()->first > deadline_) {
        too_late.push_back(std::move(retries_.rbegin()->second));
        retries_.erase(std::prev(retries_.end()));
      }
      if (!due.empty() || !too_late.empty()) {
        lock.unlock();
        for (auto& job : due) StartAttempt(std::move(job));
        for (auto& job : too_late) {
          Finish(job,
                 engine::NackInfo{fmt::format("{} {}: shutting down: the retry of the "
                                              "export to {} is past the deadline ({})",
                                              kind_, node_id_, target_, job->LastError()),
                                  false});
        }
        lock.lock();
        continue;
      }
      auto wake = retries_.empty() ? Clock::time_point::max() : retries_.begin()->first;
      if (shutting_down_ && !aborted_) wake = std::min(wake, deadline_);
      if (wake == Clock::time_point::max()) {
        cv_.wait(lock);
      } else {
        cv_.wait_until(lock, wake);
      }
    }
  }

  void Publish() {
    std::lock_guard<std::mutex> lock(metrics_mutex_);
    const OtlpExporterMetrics& d = *defs_;
    engine::NodeMetrics& m = *metrics_;
    m.Set(d.requests_sent, requests_sent_);
    m.Set(d.requests_succeeded, requests_succeeded_);
    for (const auto& [reason, count] : failures_) m.Set(d.requests_failed, count, reason);
    m.Set(d.retries, retries_count_);
    for (int s = 0; s < 3; ++s) {
      m.Set(d.items_exported, items_exported_[s], SignalName(static_cast<Signal>(s)));
    }
    m.Set(d.items_rejected, items_rejected_);
    m.Set(d.bytes_sent, bytes_sent_);
    m.Set(d.batches_acked, batches_acked_);
    m.Set(d.batches_nacked, nacked_permanent_, "permanent");
    m.Set(d.batches_nacked, nacked_retryable_, "retryable");
    m.Set(d.in_flight, in_flight_);
    if (transport_) transport_->PublishMetrics(*metrics_);
  }

  const std::string kind_, prefix_, target_, node_id_;
  const OtlpExporterMetrics* defs_;
  const int core_;
  const OtlpRetryConfig retry_;
  const int64_t max_in_flight_;

  std::mutex mutex_;
  std::condition_variable cv_;
  util::Backoff backoff_;  // guarded by mutex_
  std::unique_ptr<OtlpTransport> transport_;
  std::multimap<Clock::time_point, JobPtr> retries_;
  std::unordered_map<uint64_t, JobPtr> live_;
  std::atomic<int64_t> in_flight_{0};
  bool shutting_down_ = false;
  bool shutdown_done_ = false;
  bool aborted_ = false;
  bool stop_ = false;
  Clock::time_point deadline_ = Clock::time_point::max();
  arrow::Future<> shutdown_future_;
  engine::EffectHandler* effect_;  // null once the node is closing
  spdlog::logger* logger_;
  engine::NodeMetrics* metrics_;
  std::thread scheduler_;

  std::mutex metrics_mutex_;
  std::map<std::string, int64_t> failures_;  // guarded by metrics_mutex_
  std::atomic<int64_t> requests_sent_{0}, requests_succeeded_{0}, retries_count_{0};
  std::atomic<int64_t> items_exported_[3] = {0, 0, 0};
  std::atomic<int64_t> items_rejected_{0}, bytes_sent_{0};
  std::atomic<int64_t> batches_acked_{0}, nacked_permanent_{0}, nacked_retryable_{0};
};

OtlpExporter::OtlpExporter(Options options) : options_(std::move(options)) {}

OtlpExporter::~OtlpExporter() {
  if (state_) state_->Close();
}

arrow::Status OtlpExporter::Start(engine::EffectHandler& effect) {
  auto transport = options_.make_transport(effect.logger());
  if (!transport.ok()) {
    return transport.status().WithMessage(options_.kind, " ", effect.node_id(), ": ",
                                          transport.status().message());
  }
  state_ = std::make_shared<State>(options_, effect, std::move(*transport));
  state_->StartScheduler();
  const auto& r = options_.client.retry;
  effect.logger().info(
      "exporter.{}.start node={} core={} target={} compression={} max_in_flight={} "
      "retry_on_failure.enabled={} initial_interval={} max_interval={} "
      "max_elapsed_time={}",
      options_.metric_prefix, effect.node_id(), effect.core(), options_.target,
      OtlpCompressionName(options_.client.compression), options_.client.max_in_flight,
      r.enabled, FormatNs(r.initial_interval), FormatNs(r.max_interval),
      FormatNs(r.max_elapsed_time));
  return arrow::Status::OK();
}

arrow::Status OtlpExporter::Export(engine::PData msg, engine::EffectHandler& effect) {
  if (!state_) {
    msg.context.Nack({options_.kind + " not started", false});
    return arrow::Status::OK();
  }
  if (!options_.convert_to_otlp) {
    if (msg.batch.empty()) {
      msg.context.Ack();  // no root rows: nothing to send
      return arrow::Status::OK();
    }
    auto job = std::make_shared<OtlpExportJob>();
    job->id = next_job_id_++;
    job->signal = msg.signal();
    job->items = msg.num_items();
    job->batch = std::move(msg.batch);
    job->context.emplace(std::move(msg.context));
    state_->Submit(std::move(job));
    return arrow::Status::OK();
  }
  // No root rows: nothing to send. Not "no items": a metric without data points
  // counts no item but is telemetry all the same.
  if (msg.batch.empty()) {
    msg.context.Ack();
    return arrow::Status::OK();
  }
  auto request = otlp::FromOtap(msg.batch);
  if (!request.ok()) {
    effect.metrics().errors++;
    state_->Reject(std::move(msg.context),
                   "cannot convert the batch to OTLP: " + request.status().ToString());
    return arrow::Status::OK();
  }
  auto job = std::make_shared<OtlpExportJob>();
  job->id = next_job_id_++;
  job->signal = msg.signal();
  job->items = msg.num_items();
  job->request = std::move(*request);
  job->context.emplace(std::move(msg.context));
  state_->Submit(std::move(job));
  return arrow::Status::OK();
}

bool OtlpExporter::AcceptsPdata() const {
  return !state_ || state_->in_flight() < state_->max_in_flight();
}

arrow::Future<> OtlpExporter::Shutdown(engine::Clock::time_point deadline,
                                       engine::EffectHandler&) {
  if (!state_) return arrow::Future<>::MakeFinished();
  return state_->BeginShutdown(deadline);
}

int64_t OtlpExporter::in_flight() const { return state_ ? state_->in_flight() : 0; }

}  // namespace otap_parquet::nodes
