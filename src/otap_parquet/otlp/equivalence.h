// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>
#include <string>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/otlp/otlp_types.h"

/// \file
/// Semantic equivalence of OTLP requests, independent of batching and order.
///
/// Each request is flattened into one record per telemetry item, as upstream's
/// `pdata/src/testing/equiv` and Go's `assert/equiv.go` do:
///  - logs:    (resource, resource schema_url, scope, scope schema_url, log record)
///  - traces:  (resource, resource schema_url, scope, scope schema_url, span)
///  - metrics: (resource, resource schema_url, scope, scope schema_url, metric
///    header = name, description, unit, data type, temporality, is_monotonic,
///    metadata, plus ONE data point; a metric with no data points is one item
///    holding the header only).
/// Each record is canonicalized and serialized deterministically; the two sides
/// are equivalent when the multisets of records are equal.
///
/// Canonical form:
///  - attribute lists (resource, scope, record, event, link, data point, exemplar
///    filtered attributes, Metric.metadata) and kvlist values are sorted by key
///    (ties by value), recursively; ArrayValue elements keep their order;
///  - span events, span links and exemplars are compared as multisets;
///  - data points become separate items, so their order does not matter;
///  - bucket_counts, explicit_bounds, exponential buckets and quantile_values
///    keep their order (OTLP gives it meaning; OTAP stores them as lists);
///  - an absent singular message equals the same message with default values:
///    absent Resource / InstrumentationScope / Span.Status / ExponentialHistogram
///    Buckets equal empty ones, a KeyValue without value equals one with an empty
///    AnyValue, and an absent LogRecord.body equals an empty AnyValue body;
///  - ResourceX / ScopeX containers holding no items carry no telemetry and are
///    ignored;
///  - Resource.entity_refs are ignored (OTAP does not carry them).
/// Not equal: different values or value types (int 1, double 1.0, string "1"),
/// presence of `optional` scalars (HistogramDataPoint sum/min/max), which oneof
/// member is set (NumberDataPoint int vs double vs none). Doubles compare bitwise
/// (NaN equals a NaN with the same bits; 0.0 differs from -0.0).

namespace otap_parquet::otlp {

/// \brief Options for CheckEquivalent.
struct EquivalenceOptions {
  /// How many items only in expected (and, separately, only in actual) are
  /// printed per signal in the report.
  int max_reported_items = 5;

  static EquivalenceOptions Defaults() { return {}; }
};

/// \brief Returns OK when `expected` and `actual` hold the same telemetry, in
/// any batching and order (see the file comment for the canonical form).
///
/// Otherwise returns Invalid with a report: per signal, the item counts on
/// each side and the first items only in expected / only in actual, each as a
/// one-line text-format ResourceLogs / ResourceSpans / ResourceMetrics holding
/// that single item (trace and span ids in hex).
arrow::Status CheckEquivalent(std::span<const OtlpRequest> expected,
                              std::span<const OtlpRequest> actual,
                              const EquivalenceOptions& options = {});

/// \brief CheckEquivalent for one request on each side.
arrow::Status CheckEquivalent(const OtlpRequest& expected, const OtlpRequest& actual,
                              const EquivalenceOptions& options = {});

/// \brief The canonical, deterministically serialized items of `requests` for
/// one signal, sorted (the multiset CheckEquivalent compares). Each string is a
/// serialized ResourceLogs / ResourceSpans / ResourceMetrics holding one item.
/// Requests of other signals are skipped.
std::vector<std::string> CanonicalItems(std::span<const OtlpRequest> requests,
                                        Signal signal);

/// \brief Clears, in place, what upstream's Parquet exporter does not keep
/// (shared/docs/otap-parquet-format.md §7.9 and Q15), so that a replay of an upstream
/// dataset can be compared with its source: `Span.flags`, `Span.Link.flags`,
/// `Sum.is_monotonic`, `ExponentialHistogramDataPoint.zero_threshold`, and the end
/// time of a span without one (upstream replays it as end = start). Apply to both
/// sides.
void DropUpstreamParquetLosses(std::span<OtlpRequest> requests);

/// \brief One-line text of a CanonicalItems string (ids in hex).
std::string DescribeCanonicalItem(Signal signal, const std::string& item);

}  // namespace otap_parquet::otlp
