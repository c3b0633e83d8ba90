// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/otlp/columns.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/wire_values.h"

/// \file
/// What the OTLP → OTAP encoders of all signals share: the walk over resources,
/// scopes and items (of a parsed request, or of its wire bytes), the split into
/// batches of at most max_root_rows roots, and the error paths. A signal supplies
/// its traits (where the items are, how paths name them) and an encoder deriving
/// from SignalEncoder with Append(item), AppendWire(bytes, budget) (wire signals
/// only) and Flush().

namespace otap_parquet::otlp::internal {

struct LogsTraits {
  using Request = LogsRequest;
  static constexpr std::string_view kName = "logs";
  static constexpr std::string_view kResources = "resourceLogs";
  static constexpr std::string_view kScopes = "scopeLogs";
  static constexpr std::string_view kItems = "logRecords";
  static const auto& Resources(const Request& r) { return r.resource_logs(); }
  static const auto& Scopes(const pb::logs::ResourceLogs& r) { return r.scope_logs(); }
  static const auto& Items(const pb::logs::ScopeLogs& s) { return s.log_records(); }
};

struct TracesTraits {
  using Request = TracesRequest;
  static constexpr std::string_view kName = "traces";
  static constexpr std::string_view kResources = "resourceSpans";
  static constexpr std::string_view kScopes = "scopeSpans";
  static constexpr std::string_view kItems = "spans";
  static const auto& Resources(const Request& r) { return r.resource_spans(); }
  static const auto& Scopes(const pb::trace::ResourceSpans& r) { return r.scope_spans(); }
  static const auto& Items(const pb::trace::ScopeSpans& s) { return s.spans(); }
};

struct MetricsTraits {
  using Request = MetricsRequest;
  static constexpr std::string_view kName = "metrics";
  static constexpr std::string_view kResources = "resourceMetrics";
  static constexpr std::string_view kScopes = "scopeMetrics";
  static constexpr std::string_view kItems = "metrics";
  static const auto& Resources(const Request& r) { return r.resource_metrics(); }
  static const auto& Scopes(const pb::metrics::ResourceMetrics& r) {
    return r.scope_metrics();
  }
  static const auto& Items(const pb::metrics::ScopeMetrics& s) { return s.metrics(); }
};

/// \brief The encoder skeleton (CRTP: `Encoder` derives from it).
template <typename Traits, typename Encoder>
class SignalEncoder {
 public:
  explicit SignalEncoder(const ToOtapOptions& options) : options_(options) {}

  arrow::Status Encode(const typename Traits::Request& request) {
    const auto& resources = Traits::Resources(request);
    for (int r = 0; r < resources.size(); ++r) {
      const auto& resource = resources.Get(r);
      resources_.BeginResource(resource.has_resource() ? &resource.resource() : nullptr,
                               &resource.schema_url());
      const auto& scopes = Traits::Scopes(resource);
      for (int s = 0; s < scopes.size(); ++s) {
        const auto& scope = scopes.Get(s);
        resources_.BeginScope(scope.has_scope() ? &scope.scope() : nullptr,
                              &scope.schema_url());
        const auto& items = Traits::Items(scope);
        for (int i = 0; i < items.size(); ++i) {
          ARROW_RETURN_NOT_OK(FlushIfFull());
          auto st = self().Append(items.Get(i));
          if (!st.ok()) {
            return st.WithMessage(Traits::kResources, "[", r, "].", Traits::kScopes, "[",
                                  s, "].", Traits::kItems, "[", i, "].", st.message());
          }
        }
      }
    }
    return self().Flush();
  }

  /// \brief Encode of a serialized request, read straight from its wire bytes. Fails
  /// on anything Encode(parsed request) or the parse would reject, without a precise
  /// message (callers fall back to the message path for that).
  arrow::Status EncodeWire(std::string_view bytes) {
    wire::Reader in(bytes, wire::kRecursionLimit);
    while (const uint32_t tag = in.Next()) {
      std::string_view field;
      if (tag == wire::LenTag(1)) {  // resource_{logs,spans}
        if (!in.Message(&field)) break;
        ARROW_RETURN_NOT_OK(ResourceWire(field, in.child_budget()));
      } else if (!in.Skip(tag)) {
        break;
      }
    }
    if (!in.ok()) return Malformed();
    return self().Flush();
  }

  std::vector<OtapBatch> Release() { return std::move(out_); }

  /// \brief The public ToOtap functions of a signal.
  static arrow::Result<std::vector<OtapBatch>> ToOtap(
      const typename Traits::Request& request, const ToOtapOptions& options) {
    ARROW_RETURN_NOT_OK(options.Validate());
    Encoder encoder(options);
    ARROW_RETURN_NOT_OK(encoder.Encode(request));
    return encoder.Release();
  }
  static arrow::Result<std::vector<OtapBatch>> WireToOtap(std::string_view bytes,
                                                          const ToOtapOptions& options) {
    ARROW_RETURN_NOT_OK(options.Validate());
    Encoder encoder(options);
    ARROW_RETURN_NOT_OK(encoder.EncodeWire(bytes));
    return encoder.Release();
  }

 protected:
  static arrow::Status Malformed() { return wire::Malformed(Traits::kName); }

  arrow::Status FlushIfFull() {
    if (rows_ == options_.max_root_rows) return self().Flush();
    return arrow::Status::OK();
  }

  const ToOtapOptions& options_;
  std::vector<OtapBatch> out_;
  /// Root rows in the batch being built.
  int64_t rows_ = 0;
  ResourceScopeBuilder resources_;

 private:
  Encoder& self() { return static_cast<Encoder&>(*this); }

  arrow::Status ResourceWire(std::string_view bytes, int budget) {
    // resource and schema_url may follow the scopes: read them all first.
    if (!resource_wire_.Read(bytes, budget)) return Malformed();
    resources_.BeginResource(resource_wire_.header_or_null(), &resource_wire_.schema_url);
    for (std::string_view scope : resource_wire_.children) {
      if (!scope_wire_.Read(scope, budget - 1)) return Malformed();
      resources_.BeginScope(scope_wire_.header_or_null(), &scope_wire_.schema_url);
      for (std::string_view item : scope_wire_.children) {
        ARROW_RETURN_NOT_OK(FlushIfFull());
        ARROW_RETURN_NOT_OK(self().AppendWire(item, budget - 2));
      }
    }
    return arrow::Status::OK();
  }

  // Wire decoding: the resource and scope messages it still builds, reused.
  wire::Container<pb::resource::Resource> resource_wire_;
  wire::Container<pb::common::InstrumentationScope> scope_wire_;
};

}  // namespace otap_parquet::otlp::internal
