// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/ingest.h"

#include <utility>
#include <vector>

#include "otap_parquet/otlp/convert.h"

namespace otap_parquet::nodes::otlp_receiver {

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kInvalid:
      return "invalid";
    case Outcome::kTooLarge:
      return "too_large";
    case Outcome::kUnsupported:
      return "unsupported";
    case Outcome::kUnauthenticated:
      return "unauthenticated";
    case Outcome::kExhausted:
      return "exhausted";
    case Outcome::kMemoryLimit:
      return "memory_limit";
    case Outcome::kUnavailable:
      return "unavailable";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kNotFound:
      return "not_found";
  }
  return "unknown";
}

std::string_view HttpDropName(HttpDrop reason) {
  switch (reason) {
    case HttpDrop::kIdle:
      return "idle";
    case HttpDrop::kHeaderTimeout:
      return "header_timeout";
    case HttpDrop::kBodyTimeout:
      return "body_timeout";
    case HttpDrop::kConnectionLimit:
      return "connection_limit";
    case HttpDrop::kShutdown:
      return "shutdown";
  }
  return "unknown";
}

std::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kGrpc:
      return "grpc";
    case Protocol::kHttp:
      return "http";
    case Protocol::kArrow:
      return "arrow";
  }
  return "unknown";
}

void Ingest::Finish(Protocol protocol, int signal, IngestResult result, Reply& reply) {
  const int p = static_cast<int>(protocol);
  if (result.ok()) {
    counters_.completed[p][signal]++;
  } else {
    counters_.rejected[p][static_cast<int>(result.outcome)]++;
  }
  in_flight_requests_[p]--;
  if (reply) reply(std::move(result));
}

uint64_t Ingest::Submit(Protocol protocol, const otlp::OtlpRequest& request,
                        int64_t wire_bytes, const IngestOptions& options, Reply reply) {
  return Submit(
      protocol, otlp::SignalOf(request), wire_bytes,
      [&request] { return otlp::ToOtap(request); }, options, std::move(reply));
}

uint64_t Ingest::Submit(Protocol protocol, Signal signal, int64_t wire_bytes,
                        const Convert& convert, const IngestOptions& options,
                        Reply reply) {
  const int p = static_cast<int>(protocol);
  const int s = static_cast<int>(signal);
  counters_.started[p][s]++;
  counters_.bytes[p][s] += wire_bytes;
  // Counted before the admission check, so drained() never misses a Submit that
  // passed it.
  in_submit_++;
  struct Leave {
    std::atomic<int>& n;
    ~Leave() { n--; }
  } leave{in_submit_};
  in_flight_requests_[p]++;
  if (!admitting_.load()) {
    Finish(protocol, s, {Outcome::kUnavailable, "receiver is shutting down"}, reply);
    return 0;
  }
  if (options.max_concurrent_requests > 0 &&
      in_flight_requests_[p].load() > options.max_concurrent_requests) {
    Finish(
        protocol, s,
        {Outcome::kExhausted, "too many concurrent requests (max_concurrent_requests=" +
                                  std::to_string(options.max_concurrent_requests) + ")"},
        reply);
    return 0;
  }
  auto batches = convert();
  if (!batches.ok()) {
    Finish(protocol, s, {Outcome::kInvalid, batches.status().message()}, reply);
    return 0;
  }
  if (batches->empty()) {
    Finish(protocol, s, {}, reply);
    return 0;
  }
  int64_t items = 0;
  for (const auto& b : *batches) items += b.num_items();
  counters_.items[p][s] += items;

  const engine::Clock::time_point deadline = engine::Clock::now() + options.timeout;
  uint64_t key = 0;
  if (options.wait_for_result) {
    key = next_key_++;
    std::lock_guard<std::mutex> lock(mutex_);
    waiters_.emplace(key, Waiter{protocol, s, static_cast<int>(batches->size()),
                                 std::nullopt, deadline, std::move(reply)});
  }
  for (auto& batch : *batches) {
    engine::PData msg(std::move(batch));
    if (key != 0) effect_->Subscribe(msg, key);
    const arrow::Status st = effect_->SendFromAnyThread(msg, deadline);
    if (st.ok()) continue;
    IngestResult result;
    if (st.IsCapacityError()) {
      result = {Outcome::kExhausted, "pipeline is at capacity; retry later"};
    } else if (st.IsCancelled()) {
      result = {Outcome::kUnavailable, "receiver is shutting down"};
    } else {
      result = {Outcome::kUnavailable, st.message()};
    }
    // The message keeps our subscription and Nacks itself when dropped here; that
    // late outcome finds no waiter. Parts already sent continue (at least once).
    if (key != 0) {
      std::optional<Waiter> waiter;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = waiters_.find(key);
        if (it != waiters_.end()) {
          waiter = std::move(it->second);
          waiters_.erase(it);
        }
      }
      if (waiter) Finish(protocol, s, std::move(result), waiter->reply);
    } else {
      Finish(protocol, s, std::move(result), reply);
    }
    return 0;
  }
  if (key == 0) Finish(protocol, s, {}, reply);
  return key;
}

bool Ingest::Cancel(uint64_t key, IngestResult result) {
  if (key == 0) return false;
  std::optional<Waiter> waiter;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = waiters_.find(key);
    if (it == waiters_.end()) return false;
    waiter = std::move(it->second);
    waiters_.erase(it);
  }
  Finish(waiter->protocol, waiter->signal, std::move(result), waiter->reply);
  return true;
}

void Ingest::OnOutcome(uint64_t key, const engine::NackInfo* nack) {
  std::optional<Waiter> waiter;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = waiters_.find(key);
    if (it == waiters_.end()) return;  // answered already (send failure, timeout)
    if (nack && !it->second.nack) it->second.nack = *nack;
    if (--it->second.remaining > 0) return;
    waiter = std::move(it->second);
    waiters_.erase(it);
  }
  IngestResult result;
  if (!waiter->nack) {
    counters_.acks_success++;
  } else if (waiter->nack->permanent) {
    counters_.acks_refused++;
    result = {Outcome::kInvalid, "pipeline processing failed: " + waiter->nack->reason};
  } else {
    counters_.acks_failure++;
    result = {Outcome::kUnavailable,
              "pipeline processing failed: " + waiter->nack->reason};
  }
  Finish(waiter->protocol, waiter->signal, std::move(result), waiter->reply);
}

void Ingest::ExpireWaiters(engine::Clock::time_point now) {
  std::vector<Waiter> expired;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& w : expired) {
    counters_.acks_timeout++;
    Finish(w.protocol, w.signal,
           {Outcome::kTimeout, "no pipeline outcome within the receiver's timeout"},
           w.reply);
  }
}

void Ingest::ResolveAll(const IngestResult& result) {
  std::map<uint64_t, Waiter> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    all.swap(waiters_);
  }
  for (auto& [key, w] : all) Finish(w.protocol, w.signal, result, w.reply);
}

int64_t Ingest::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(waiters_.size());
}

bool BearerTokenMatches(std::string_view header, const std::string& token) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    const char c = header[i];
    if ((c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c) != kScheme[i]) return false;
  }
  std::string_view given = header.substr(kScheme.size());
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  if (given.size() != token.size()) return false;
  // Constant time in the token's length.
  unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i] ^ token[i]);
  }
  return diff == 0;
}

}  // namespace otap_parquet::nodes::otlp_receiver
