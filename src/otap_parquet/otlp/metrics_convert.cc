// SPDX-License-Identifier: Apache-2.0
// OTLP metrics ⇄ OTAP (univariate_metrics, metric_attrs, the four data point tables,
// their attributes, exemplars and exemplar attributes).

#include <arrow/util/utf8.h>

#include "otap_parquet/otlp/columns.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/signal_encoder.h"
#include "otap_parquet/schema/otap_schema.h"

namespace otap_parquet::otlp {

using arrow::Status;
using schema::MetricType;
using namespace internal;  // NOLINT(build/namespaces): converter building blocks

namespace {

constexpr int kMaxTemporality = 2;

arrow::Result<std::shared_ptr<arrow::Array>> SequentialIds(int64_t n) {
  arrow::UInt32Builder builder;
  ARROW_RETURN_NOT_OK(builder.Reserve(n));
  for (int64_t i = 0; i < n; ++i) builder.UnsafeAppend(static_cast<uint32_t>(i));
  return FinishArray(&builder);
}

template <typename T, typename Builder>
arrow::Result<std::shared_ptr<arrow::Array>> FromVector(std::vector<T>* values) {
  Builder builder;
  ARROW_RETURN_NOT_OK(builder.AppendValues(*values));
  values->clear();
  return FinishArray(&builder);
}

/// A List<T> column built from offsets and flat values.
template <typename Builder>
class ListColumn {
 public:
  template <typename Repeated>
  void Append(const Repeated& values) {
    for (const auto& v : values) values_.push_back(v);
    offsets_.push_back(static_cast<int32_t>(values_.size()));
  }
  arrow::Result<std::shared_ptr<arrow::Array>> Finish() {
    Builder values;
    ARROW_RETURN_NOT_OK(values.AppendValues(values_));
    ARROW_ASSIGN_OR_RAISE(auto flat, FinishArray(&values));
    arrow::Int32Builder offsets;
    ARROW_RETURN_NOT_OK(offsets.AppendValues(offsets_));
    ARROW_ASSIGN_OR_RAISE(auto offset_array, FinishArray(&offsets));
    values_.clear();
    offsets_.assign(1, 0);
    return arrow::ListArray::FromArrays(*offset_array, *flat);
  }

 private:
  std::vector<typename Builder::value_type> values_;
  std::vector<int32_t> offsets_{0};
};

/// Reads a List<T> column row as a span of values.
template <typename ValueArray>
struct ListReader {
  explicit ListReader(const arrow::Array& array)
      : list(static_cast<const arrow::ListArray&>(array)),
        values(static_cast<const ValueArray&>(*list.values())) {}
  template <typename Repeated>
  void CopyTo(int64_t row, Repeated* out) const {
    if (list.IsNull(row)) return;
    // A null element reads as 0: Go's producer writes a zero explicit bound as null
    // (`AppendNonZero`, otel-arrow/go metrics/arrow/histogram_dp.go:262), and the
    // value slot under a null is undefined.
    for (int64_t i = list.value_offset(row); i < list.value_offset(row + 1); ++i) {
      out->Add(values.IsValid(i) ? values.Value(i) : typename ValueArray::value_type{});
    }
  }
  const arrow::ListArray& list;
  const ValueArray& values;
};

/// Columns every data point table has, plus its attributes and exemplars.
class DataPointsBuilder {
 public:
  DataPointsBuilder(PayloadType attrs, PayloadType exemplars, PayloadType exemplar_attrs)
      : attrs_(attrs), exemplars_type_(exemplars), exemplar_attrs_(exemplar_attrs) {}

  int64_t rows() const { return static_cast<int64_t>(parent_.size()); }

  /// Appends id, parent, times, flags, attributes and exemplars of one data point.
  template <typename Point>
  Status AppendCommon(uint16_t parent, const Point& point) {
    const auto id = static_cast<uint32_t>(parent_.size());
    parent_.push_back(parent);
    ARROW_RETURN_NOT_OK(
        start_.Append(static_cast<int64_t>(point.start_time_unix_nano())));
    ARROW_RETURN_NOT_OK(time_.Append(static_cast<int64_t>(point.time_unix_nano())));
    flags_.push_back(point.flags());
    ARROW_RETURN_NOT_OK(attrs_.AppendAll(id, point.attributes()));
    if constexpr (!std::is_same_v<Point, pb::metrics::SummaryDataPoint>) {
      for (int e = 0; e < point.exemplars_size(); ++e) {
        auto st = AppendExemplar(id, point.exemplars(e));
        if (!st.ok()) return st.WithMessage("exemplars[", e, "].", st.message());
      }
    }
    return Status::OK();
  }

  /// Finishes id, parent_id, start, time (the first four columns) and flags.
  Status FinishCommon(arrow::ArrayVector* first, std::shared_ptr<arrow::Array>* flags) {
    ARROW_ASSIGN_OR_RAISE(auto ids, SequentialIds(rows()));
    ARROW_ASSIGN_OR_RAISE(auto parents,
                          (FromVector<uint16_t, arrow::UInt16Builder>(&parent_)));
    ARROW_ASSIGN_OR_RAISE(auto start, FinishArray(&start_));
    ARROW_ASSIGN_OR_RAISE(auto time, FinishArray(&time_));
    *first = {ids, parents, start, time};
    ARROW_ASSIGN_OR_RAISE(*flags, (FromVector<uint32_t, arrow::UInt32Builder>(&flags_)));
    return Status::OK();
  }

  Status FinishChildren(OtapBatch* batch) {
    ARROW_RETURN_NOT_OK(attrs_.FinishInto(batch));
    if (!ex_parent_.empty()) {
      const auto n = static_cast<int64_t>(ex_parent_.size());
      ARROW_ASSIGN_OR_RAISE(auto ids, SequentialIds(n));
      ARROW_ASSIGN_OR_RAISE(auto parents,
                            (FromVector<uint32_t, arrow::UInt32Builder>(&ex_parent_)));
      ARROW_ASSIGN_OR_RAISE(auto time, FinishArray(&ex_time_));
      ARROW_ASSIGN_OR_RAISE(auto int_value, FinishArray(&ex_int_));
      ARROW_ASSIGN_OR_RAISE(auto double_value, FinishArray(&ex_double_));
      ARROW_ASSIGN_OR_RAISE(auto span_id, FinishArray(&ex_span_id_));
      ARROW_ASSIGN_OR_RAISE(auto trace_id, FinishArray(&ex_trace_id_));
      batch->Set(exemplars_type_, MakeBatch(exemplars_type_, n,
                                            {ids, parents, time, int_value, double_value,
                                             span_id, trace_id}));
    }
    return exemplar_attrs_.FinishInto(batch);
  }

 private:
  Status AppendExemplar(uint32_t point_id, const pb::metrics::Exemplar& exemplar) {
    ARROW_RETURN_NOT_OK(AppendId(&ex_trace_id_, exemplar.trace_id(), 16, "traceId"));
    ARROW_RETURN_NOT_OK(AppendId(&ex_span_id_, exemplar.span_id(), 8, "spanId"));
    const auto id = static_cast<uint32_t>(ex_parent_.size());
    ex_parent_.push_back(point_id);
    ARROW_RETURN_NOT_OK(ex_time_.Append(static_cast<int64_t>(exemplar.time_unix_nano())));
    using E = pb::metrics::Exemplar;
    ARROW_RETURN_NOT_OK(exemplar.value_case() == E::kAsInt
                            ? ex_int_.Append(exemplar.as_int())
                            : ex_int_.AppendNull());
    ARROW_RETURN_NOT_OK(exemplar.value_case() == E::kAsDouble
                            ? ex_double_.Append(exemplar.as_double())
                            : ex_double_.AppendNull());
    return exemplar_attrs_.AppendAll(id, exemplar.filtered_attributes());
  }

  std::vector<uint16_t> parent_;
  arrow::TimestampBuilder start_{schema::TimestampType(), arrow::default_memory_pool()};
  arrow::TimestampBuilder time_{schema::TimestampType(), arrow::default_memory_pool()};
  std::vector<uint32_t> flags_;
  AttributesBuilder attrs_;
  PayloadType exemplars_type_;
  std::vector<uint32_t> ex_parent_;
  arrow::TimestampBuilder ex_time_{schema::TimestampType(), arrow::default_memory_pool()};
  arrow::Int64Builder ex_int_;
  arrow::DoubleBuilder ex_double_;
  arrow::FixedSizeBinaryBuilder ex_span_id_{schema::SpanIdType()};
  arrow::FixedSizeBinaryBuilder ex_trace_id_{schema::TraceIdType()};
  AttributesBuilder exemplar_attrs_;
};

template <typename Builder, typename T>
Status AppendOptional(Builder* builder, bool present, T value) {
  return present ? builder->Append(value) : builder->AppendNull();
}

class MetricsEncoder : public SignalEncoder<MetricsTraits, MetricsEncoder> {
 public:
  using SignalEncoder::SignalEncoder;

 private:
  friend class SignalEncoder<MetricsTraits, MetricsEncoder>;

  Status Append(const pb::metrics::Metric& metric) {
    using M = pb::metrics::Metric;
    MetricType type = MetricType::kEmpty;
    int temporality = -1;  // -1: not applicable (null)
    int monotonic = -1;
    switch (metric.data_case()) {
      case M::kGauge:
        type = MetricType::kGauge;
        break;
      case M::kSum:
        type = MetricType::kSum;
        temporality = metric.sum().aggregation_temporality();
        monotonic = metric.sum().is_monotonic();
        break;
      case M::kHistogram:
        type = MetricType::kHistogram;
        temporality = metric.histogram().aggregation_temporality();
        break;
      case M::kExponentialHistogram:
        type = MetricType::kExponentialHistogram;
        temporality = metric.exponential_histogram().aggregation_temporality();
        break;
      case M::kSummary:
        type = MetricType::kSummary;
        break;
      case M::DATA_NOT_SET:
        break;
    }
    if (temporality >= 0) {
      ARROW_RETURN_NOT_OK(
          CheckEnum(temporality, kMaxTemporality, "aggregationTemporality"));
    }
    ARROW_RETURN_NOT_OK(resources_.AppendRow());
    const auto id = static_cast<uint16_t>(rows_);
    ARROW_RETURN_NOT_OK(id_.Append(id));
    ARROW_RETURN_NOT_OK(metric_type_.Append(static_cast<uint8_t>(type)));
    ARROW_RETURN_NOT_OK(name_.Append(metric.name()));
    ARROW_RETURN_NOT_OK(description_.Append(metric.description()));
    ARROW_RETURN_NOT_OK(unit_.Append(metric.unit()));
    ARROW_RETURN_NOT_OK(AppendOptional(&temporality_, temporality >= 0, temporality));
    ARROW_RETURN_NOT_OK(AppendOptional(&monotonic_, monotonic >= 0, monotonic == 1));
    ARROW_RETURN_NOT_OK(metric_attrs_.AppendAll(id, metric.metadata()));
    ++rows_;

    switch (metric.data_case()) {
      case M::kGauge:
        return AppendNumberPoints(id, metric.gauge().data_points());
      case M::kSum:
        return AppendNumberPoints(id, metric.sum().data_points());
      case M::kHistogram:
        for (int p = 0; p < metric.histogram().data_points_size(); ++p) {
          const auto& point = metric.histogram().data_points(p);
          auto st = histogram_.AppendCommon(id, point);
          if (!st.ok())
            return st.WithMessage("histogram.dataPoints[", p, "].", st.message());
          ARROW_RETURN_NOT_OK(h_count_.Append(point.count()));
          ARROW_RETURN_NOT_OK(AppendOptional(&h_sum_, point.has_sum(), point.sum()));
          h_bucket_counts_.Append(point.bucket_counts());
          h_bounds_.Append(point.explicit_bounds());
          ARROW_RETURN_NOT_OK(AppendOptional(&h_min_, point.has_min(), point.min()));
          ARROW_RETURN_NOT_OK(AppendOptional(&h_max_, point.has_max(), point.max()));
        }
        return Status::OK();
      case M::kExponentialHistogram:
        for (int p = 0; p < metric.exponential_histogram().data_points_size(); ++p) {
          const auto& point = metric.exponential_histogram().data_points(p);
          auto st = exp_histogram_.AppendCommon(id, point);
          if (!st.ok()) {
            return st.WithMessage("exponentialHistogram.dataPoints[", p, "].",
                                  st.message());
          }
          ARROW_RETURN_NOT_OK(e_count_.Append(point.count()));
          ARROW_RETURN_NOT_OK(AppendOptional(&e_sum_, point.has_sum(), point.sum()));
          ARROW_RETURN_NOT_OK(e_scale_.Append(point.scale()));
          ARROW_RETURN_NOT_OK(e_zero_count_.Append(point.zero_count()));
          e_positive_.Append(point.has_positive(), point.positive());
          e_negative_.Append(point.has_negative(), point.negative());
          ARROW_RETURN_NOT_OK(AppendOptional(&e_min_, point.has_min(), point.min()));
          ARROW_RETURN_NOT_OK(AppendOptional(&e_max_, point.has_max(), point.max()));
          ARROW_RETURN_NOT_OK(e_zero_threshold_.Append(point.zero_threshold()));
        }
        return Status::OK();
      case M::kSummary:
        for (int p = 0; p < metric.summary().data_points_size(); ++p) {
          const auto& point = metric.summary().data_points(p);
          auto st = summary_.AppendCommon(id, point);
          if (!st.ok())
            return st.WithMessage("summary.dataPoints[", p, "].", st.message());
          ARROW_RETURN_NOT_OK(s_count_.Append(point.count()));
          ARROW_RETURN_NOT_OK(s_sum_.Append(point.sum()));
          for (const auto& q : point.quantile_values()) {
            s_quantile_.push_back(q.quantile());
            s_value_.push_back(q.value());
          }
          s_offsets_.push_back(static_cast<int32_t>(s_quantile_.size()));
        }
        return Status::OK();
      case M::DATA_NOT_SET:
        break;
    }
    return Status::OK();
  }

  Status AppendNumberPoints(
      uint16_t id,
      const google::protobuf::RepeatedPtrField<pb::metrics::NumberDataPoint>& points) {
    using P = pb::metrics::NumberDataPoint;
    for (int p = 0; p < points.size(); ++p) {
      const auto& point = points[p];
      auto st = number_.AppendCommon(id, point);
      if (!st.ok()) return st.WithMessage("dataPoints[", p, "].", st.message());
      ARROW_RETURN_NOT_OK(
          AppendOptional(&n_int_, point.value_case() == P::kAsInt, point.as_int()));
      ARROW_RETURN_NOT_OK(AppendOptional(&n_double_, point.value_case() == P::kAsDouble,
                                         point.as_double()));
    }
    return Status::OK();
  }

  /// Positive or negative buckets of exponential histogram points.
  class BucketsColumn {
   public:
    void Append(bool present,
                const pb::metrics::ExponentialHistogramDataPoint::Buckets& b) {
      valid_.push_back(present);
      offset_.push_back(b.offset());
      counts_.Append(b.bucket_counts());
    }
    arrow::Result<std::shared_ptr<arrow::Array>> Finish() {
      int64_t nulls = 0;
      arrow::TypedBufferBuilder<bool> validity;
      for (bool v : valid_) {
        ARROW_RETURN_NOT_OK(validity.Append(v));
        nulls += !v;
      }
      ARROW_ASSIGN_OR_RAISE(auto bitmap, validity.Finish());
      ARROW_ASSIGN_OR_RAISE(auto offsets,
                            (FromVector<int32_t, arrow::Int32Builder>(&offset_)));
      ARROW_ASSIGN_OR_RAISE(auto counts, counts_.Finish());
      valid_.clear();
      const auto& type = schema::CanonicalSchema(PayloadType::kExpHistogramDataPoints)
                             ->GetFieldByName(schema::kPositive)
                             ->type();
      return MakeStruct(type, {offsets, counts}, nulls ? bitmap : nullptr, nulls);
    }

   private:
    std::vector<bool> valid_;
    std::vector<int32_t> offset_;
    ListColumn<arrow::UInt64Builder> counts_;
  };

  Status Flush() {
    if (rows_ == 0) return Status::OK();
    OtapBatch batch(Signal::kMetrics);
    std::shared_ptr<arrow::Array> resource, scope, schema_url;
    ARROW_RETURN_NOT_OK(resources_.Finish(&batch, &resource, &scope, &schema_url));
    ARROW_ASSIGN_OR_RAISE(auto id, FinishArray(&id_));
    ARROW_ASSIGN_OR_RAISE(auto metric_type, FinishArray(&metric_type_));
    ARROW_ASSIGN_OR_RAISE(auto name, FinishArray(&name_));
    ARROW_ASSIGN_OR_RAISE(auto description, FinishArray(&description_));
    ARROW_ASSIGN_OR_RAISE(auto unit, FinishArray(&unit_));
    ARROW_ASSIGN_OR_RAISE(auto temporality, FinishArray(&temporality_));
    ARROW_ASSIGN_OR_RAISE(auto monotonic, FinishArray(&monotonic_));
    batch.Set(PayloadType::kUnivariateMetrics,
              MakeBatch(PayloadType::kUnivariateMetrics, rows_,
                        {id, resource, scope, schema_url, metric_type, name, description,
                         unit, temporality, monotonic}));
    ARROW_RETURN_NOT_OK(metric_attrs_.FinishInto(&batch));

    arrow::ArrayVector columns;
    std::shared_ptr<arrow::Array> flags;
    if (int64_t n = number_.rows()) {
      ARROW_RETURN_NOT_OK(number_.FinishCommon(&columns, &flags));
      ARROW_ASSIGN_OR_RAISE(auto int_value, FinishArray(&n_int_));
      ARROW_ASSIGN_OR_RAISE(auto double_value, FinishArray(&n_double_));
      columns.insert(columns.end(), {int_value, double_value, flags});
      batch.Set(PayloadType::kNumberDataPoints,
                MakeBatch(PayloadType::kNumberDataPoints, n, std::move(columns)));
      ARROW_RETURN_NOT_OK(number_.FinishChildren(&batch));
    }
    if (int64_t n = summary_.rows()) {
      ARROW_RETURN_NOT_OK(summary_.FinishCommon(&columns, &flags));
      ARROW_ASSIGN_OR_RAISE(auto count, FinishArray(&s_count_));
      ARROW_ASSIGN_OR_RAISE(auto sum, FinishArray(&s_sum_));
      ARROW_ASSIGN_OR_RAISE(auto q,
                            (FromVector<double, arrow::DoubleBuilder>(&s_quantile_)));
      ARROW_ASSIGN_OR_RAISE(auto v,
                            (FromVector<double, arrow::DoubleBuilder>(&s_value_)));
      const auto& list_type = schema::CanonicalSchema(PayloadType::kSummaryDataPoints)
                                  ->GetFieldByName(schema::kQuantile)
                                  ->type();
      ARROW_ASSIGN_OR_RAISE(auto items, MakeStruct(list_type->field(0)->type(), {q, v}));
      ARROW_ASSIGN_OR_RAISE(auto offsets,
                            (FromVector<int32_t, arrow::Int32Builder>(&s_offsets_)));
      s_offsets_.assign(1, 0);
      ARROW_ASSIGN_OR_RAISE(auto quantile,
                            arrow::ListArray::FromArrays(list_type, *offsets, *items));
      columns.insert(columns.end(), {count, sum, quantile, flags});
      batch.Set(PayloadType::kSummaryDataPoints,
                MakeBatch(PayloadType::kSummaryDataPoints, n, std::move(columns)));
      ARROW_RETURN_NOT_OK(summary_.FinishChildren(&batch));
    }
    if (int64_t n = histogram_.rows()) {
      ARROW_RETURN_NOT_OK(histogram_.FinishCommon(&columns, &flags));
      ARROW_ASSIGN_OR_RAISE(auto count, FinishArray(&h_count_));
      ARROW_ASSIGN_OR_RAISE(auto sum, FinishArray(&h_sum_));
      ARROW_ASSIGN_OR_RAISE(auto buckets, h_bucket_counts_.Finish());
      ARROW_ASSIGN_OR_RAISE(auto bounds, h_bounds_.Finish());
      ARROW_ASSIGN_OR_RAISE(auto min, FinishArray(&h_min_));
      ARROW_ASSIGN_OR_RAISE(auto max, FinishArray(&h_max_));
      columns.insert(columns.end(), {count, sum, buckets, bounds, flags, min, max});
      batch.Set(PayloadType::kHistogramDataPoints,
                MakeBatch(PayloadType::kHistogramDataPoints, n, std::move(columns)));
      ARROW_RETURN_NOT_OK(histogram_.FinishChildren(&batch));
    }
    if (int64_t n = exp_histogram_.rows()) {
      ARROW_RETURN_NOT_OK(exp_histogram_.FinishCommon(&columns, &flags));
      ARROW_ASSIGN_OR_RAISE(auto count, FinishArray(&e_count_));
      ARROW_ASSIGN_OR_RAISE(auto sum, FinishArray(&e_sum_));
      ARROW_ASSIGN_OR_RAISE(auto scale, FinishArray(&e_scale_));
      ARROW_ASSIGN_OR_RAISE(auto zero_count, FinishArray(&e_zero_count_));
      ARROW_ASSIGN_OR_RAISE(auto positive, e_positive_.Finish());
      ARROW_ASSIGN_OR_RAISE(auto negative, e_negative_.Finish());
      ARROW_ASSIGN_OR_RAISE(auto min, FinishArray(&e_min_));
      ARROW_ASSIGN_OR_RAISE(auto max, FinishArray(&e_max_));
      ARROW_ASSIGN_OR_RAISE(auto zero_threshold, FinishArray(&e_zero_threshold_));
      columns.insert(columns.end(), {count, sum, scale, zero_count, positive, negative,
                                     flags, min, max, zero_threshold});
      batch.Set(PayloadType::kExpHistogramDataPoints,
                MakeBatch(PayloadType::kExpHistogramDataPoints, n, std::move(columns)));
      ARROW_RETURN_NOT_OK(exp_histogram_.FinishChildren(&batch));
    }
    out_.push_back(std::move(batch));
    rows_ = 0;
    return Status::OK();
  }

  arrow::UInt16Builder id_;
  arrow::UInt8Builder metric_type_;
  arrow::StringBuilder name_;
  arrow::StringBuilder description_;
  arrow::StringBuilder unit_;
  arrow::Int32Builder temporality_;
  arrow::BooleanBuilder monotonic_;
  AttributesBuilder metric_attrs_{PayloadType::kMetricAttrs};

  DataPointsBuilder number_{PayloadType::kNumberDpAttrs, PayloadType::kNumberDpExemplars,
                            PayloadType::kNumberDpExemplarAttrs};
  arrow::Int64Builder n_int_;
  arrow::DoubleBuilder n_double_;

  DataPointsBuilder summary_{PayloadType::kSummaryDpAttrs, PayloadType::kUnknown,
                             PayloadType::kUnknown};
  arrow::UInt64Builder s_count_;
  arrow::DoubleBuilder s_sum_;
  std::vector<double> s_quantile_;
  std::vector<double> s_value_;
  std::vector<int32_t> s_offsets_{0};

  DataPointsBuilder histogram_{PayloadType::kHistogramDpAttrs,
                               PayloadType::kHistogramDpExemplars,
                               PayloadType::kHistogramDpExemplarAttrs};
  arrow::UInt64Builder h_count_;
  arrow::DoubleBuilder h_sum_;
  ListColumn<arrow::UInt64Builder> h_bucket_counts_;
  ListColumn<arrow::DoubleBuilder> h_bounds_;
  arrow::DoubleBuilder h_min_;
  arrow::DoubleBuilder h_max_;

  DataPointsBuilder exp_histogram_{PayloadType::kExpHistogramDpAttrs,
                                   PayloadType::kExpHistogramDpExemplars,
                                   PayloadType::kExpHistogramDpExemplarAttrs};
  arrow::UInt64Builder e_count_;
  arrow::DoubleBuilder e_sum_;
  arrow::Int32Builder e_scale_;
  arrow::UInt64Builder e_zero_count_;
  BucketsColumn e_positive_;
  BucketsColumn e_negative_;
  arrow::DoubleBuilder e_min_;
  arrow::DoubleBuilder e_max_;
  arrow::DoubleBuilder e_zero_threshold_;
};

// ------------------------------------------------------------------------ decoding

/// Children of one data point table: its rows per metric, attributes, exemplars.
struct DataPointsReader {
  static arrow::Result<DataPointsReader> Make(const OtapBatch& batch, PayloadType points,
                                              PayloadType attrs, PayloadType exemplars,
                                              PayloadType exemplar_attrs) {
    DataPointsReader reader;
    reader.batch = batch.Get(points);
    if (!reader.batch) return reader;
    ARROW_ASSIGN_OR_RAISE(
        auto index, ChildIndex::Make(*reader.batch->GetColumnByName(schema::kParentId)));
    reader.index = std::make_shared<ChildIndex>(std::move(index));
    ARROW_ASSIGN_OR_RAISE(reader.attrs, AttributesReader::Make(batch.Get(attrs), attrs));
    reader.exemplars = batch.Get(exemplars);
    if (reader.exemplars) {
      ARROW_ASSIGN_OR_RAISE(
          auto ex_index,
          ChildIndex::Make(*reader.exemplars->GetColumnByName(schema::kParentId)));
      reader.exemplar_index = std::make_shared<ChildIndex>(std::move(ex_index));
      ARROW_ASSIGN_OR_RAISE(
          reader.exemplar_attrs,
          AttributesReader::Make(batch.Get(exemplar_attrs), exemplar_attrs));
    }
    return reader;
  }

  std::span<const int32_t> Rows(uint16_t metric_id) const {
    return index ? index->Children(metric_id) : std::span<const int32_t>();
  }

  /// Fills the fields every data point has: times, flags, attributes, exemplars.
  template <typename Point>
  Status ReadCommon(int64_t row, Point* point) const {
    const auto& b = *batch;
    point->set_start_time_unix_nano(static_cast<uint64_t>(
        ValueOr(Column<arrow::TimestampArray>(b, schema::kStartTimeUnixNano), row, 0)));
    point->set_time_unix_nano(static_cast<uint64_t>(
        ValueOr(Column<arrow::TimestampArray>(b, schema::kTimeUnixNano), row, 0)));
    point->set_flags(ValueOr(Column<arrow::UInt32Array>(b, schema::kFlags), row, 0));
    const auto& id = Column<arrow::UInt32Array>(b, schema::kId);
    if (id.IsNull(row)) return Status::OK();
    ARROW_RETURN_NOT_OK(attrs.AppendTo(id.Value(row), point->mutable_attributes()));
    if constexpr (!std::is_same_v<Point, pb::metrics::SummaryDataPoint>) {
      if (exemplar_index) {
        const auto& e = *exemplars;
        const auto& ex_id = Column<arrow::UInt32Array>(e, schema::kId);
        const auto& ex_time = Column<arrow::TimestampArray>(e, schema::kTimeUnixNano);
        const auto& ex_int = Column<arrow::Int64Array>(e, schema::kIntValue);
        const auto& ex_double = Column<arrow::DoubleArray>(e, schema::kDoubleValue);
        const auto& ex_span = Column<arrow::FixedSizeBinaryArray>(e, schema::kSpanId);
        const auto& ex_trace = Column<arrow::FixedSizeBinaryArray>(e, schema::kTraceId);
        for (int32_t x : exemplar_index->Children(id.Value(row))) {
          auto* exemplar = point->add_exemplars();
          exemplar->set_time_unix_nano(static_cast<uint64_t>(ValueOr(ex_time, x, 0)));
          if (ex_double.IsValid(x)) {
            exemplar->set_as_double(ex_double.Value(x));
          } else if (ex_int.IsValid(x)) {
            exemplar->set_as_int(ex_int.Value(x));
          }
          exemplar->set_span_id(IdValue(ex_span, x));
          exemplar->set_trace_id(IdValue(ex_trace, x));
          if (ex_id.IsValid(x)) {
            ARROW_RETURN_NOT_OK(exemplar_attrs.AppendTo(
                ex_id.Value(x), exemplar->mutable_filtered_attributes()));
          }
        }
      }
    }
    return Status::OK();
  }

  std::shared_ptr<arrow::RecordBatch> batch;
  std::shared_ptr<ChildIndex> index;
  AttributesReader attrs;
  std::shared_ptr<arrow::RecordBatch> exemplars;
  std::shared_ptr<ChildIndex> exemplar_index;
  AttributesReader exemplar_attrs;
};

std::optional<double> OptionalDouble(const arrow::DoubleArray& array, int64_t row) {
  if (array.IsNull(row)) return std::nullopt;
  return array.Value(row);
}

Status ReadNumberPoints(
    const DataPointsReader& reader, uint16_t metric_id,
    google::protobuf::RepeatedPtrField<pb::metrics::NumberDataPoint>* out) {
  if (!reader.batch) return Status::OK();
  const auto& int_value = Column<arrow::Int64Array>(*reader.batch, schema::kIntValue);
  const auto& double_value =
      Column<arrow::DoubleArray>(*reader.batch, schema::kDoubleValue);
  for (int32_t row : reader.Rows(metric_id)) {
    auto* point = out->Add();
    ARROW_RETURN_NOT_OK(reader.ReadCommon(row, point));
    if (double_value.IsValid(row)) {
      point->set_as_double(double_value.Value(row));
    } else if (int_value.IsValid(row)) {
      point->set_as_int(int_value.Value(row));
    }
  }
  return Status::OK();
}

Status ReadHistogramPoints(
    const DataPointsReader& reader, uint16_t metric_id,
    google::protobuf::RepeatedPtrField<pb::metrics::HistogramDataPoint>* out) {
  if (!reader.batch) return Status::OK();
  const auto& b = *reader.batch;
  const auto& count = Column<arrow::UInt64Array>(b, schema::kCount);
  const auto& sum = Column<arrow::DoubleArray>(b, schema::kSum);
  const auto& min = Column<arrow::DoubleArray>(b, schema::kMin);
  const auto& max = Column<arrow::DoubleArray>(b, schema::kMax);
  const ListReader<arrow::UInt64Array> buckets(*b.GetColumnByName(schema::kBucketCounts));
  const ListReader<arrow::DoubleArray> bounds(
      *b.GetColumnByName(schema::kExplicitBounds));
  for (int32_t row : reader.Rows(metric_id)) {
    auto* point = out->Add();
    ARROW_RETURN_NOT_OK(reader.ReadCommon(row, point));
    point->set_count(ValueOr(count, row, 0));
    if (auto v = OptionalDouble(sum, row)) point->set_sum(*v);
    if (auto v = OptionalDouble(min, row)) point->set_min(*v);
    if (auto v = OptionalDouble(max, row)) point->set_max(*v);
    buckets.CopyTo(row, point->mutable_bucket_counts());
    bounds.CopyTo(row, point->mutable_explicit_bounds());
  }
  return Status::OK();
}

void ReadBuckets(const arrow::StructArray& buckets, int64_t row,
                 pb::metrics::ExponentialHistogramDataPoint::Buckets* out) {
  out->set_offset(ValueOr(Child<arrow::Int32Array>(buckets, schema::kOffset), row, 0));
  ListReader<arrow::UInt64Array>(*buckets.GetFieldByName(schema::kBucketCounts))
      .CopyTo(row, out->mutable_bucket_counts());
}

Status ReadExpHistogramPoints(
    const DataPointsReader& reader, uint16_t metric_id,
    google::protobuf::RepeatedPtrField<pb::metrics::ExponentialHistogramDataPoint>* out) {
  if (!reader.batch) return Status::OK();
  const auto& b = *reader.batch;
  const auto& count = Column<arrow::UInt64Array>(b, schema::kCount);
  const auto& sum = Column<arrow::DoubleArray>(b, schema::kSum);
  const auto& scale = Column<arrow::Int32Array>(b, schema::kScale);
  const auto& zero_count = Column<arrow::UInt64Array>(b, schema::kZeroCount);
  const auto& positive = Column<arrow::StructArray>(b, schema::kPositive);
  const auto& negative = Column<arrow::StructArray>(b, schema::kNegative);
  const auto& min = Column<arrow::DoubleArray>(b, schema::kMin);
  const auto& max = Column<arrow::DoubleArray>(b, schema::kMax);
  const auto& zero_threshold = Column<arrow::DoubleArray>(b, schema::kZeroThreshold);
  for (int32_t row : reader.Rows(metric_id)) {
    auto* point = out->Add();
    ARROW_RETURN_NOT_OK(reader.ReadCommon(row, point));
    point->set_count(ValueOr(count, row, 0));
    if (auto v = OptionalDouble(sum, row)) point->set_sum(*v);
    point->set_scale(ValueOr(scale, row, 0));
    point->set_zero_count(ValueOr(zero_count, row, 0));
    if (positive.IsValid(row)) ReadBuckets(positive, row, point->mutable_positive());
    if (negative.IsValid(row)) ReadBuckets(negative, row, point->mutable_negative());
    if (auto v = OptionalDouble(min, row)) point->set_min(*v);
    if (auto v = OptionalDouble(max, row)) point->set_max(*v);
    point->set_zero_threshold(ValueOr(zero_threshold, row, 0.0));
  }
  return Status::OK();
}

Status ReadSummaryPoints(
    const DataPointsReader& reader, uint16_t metric_id,
    google::protobuf::RepeatedPtrField<pb::metrics::SummaryDataPoint>* out) {
  if (!reader.batch) return Status::OK();
  const auto& b = *reader.batch;
  const auto& count = Column<arrow::UInt64Array>(b, schema::kCount);
  const auto& sum = Column<arrow::DoubleArray>(b, schema::kSum);
  const auto& quantiles = Column<arrow::ListArray>(b, schema::kQuantile);
  const auto& items = static_cast<const arrow::StructArray&>(*quantiles.values());
  const auto& q = Child<arrow::DoubleArray>(items, schema::kQuantile);
  const auto& v = Child<arrow::DoubleArray>(items, schema::kValue);
  for (int32_t row : reader.Rows(metric_id)) {
    auto* point = out->Add();
    ARROW_RETURN_NOT_OK(reader.ReadCommon(row, point));
    point->set_count(ValueOr(count, row, 0));
    point->set_sum(ValueOr(sum, row, 0.0));
    if (quantiles.IsNull(row)) continue;
    for (int64_t i = quantiles.value_offset(row); i < quantiles.value_offset(row + 1);
         ++i) {
      auto* value = point->add_quantile_values();
      value->set_quantile(ValueOr(q, i, 0.0));
      value->set_value(ValueOr(v, i, 0.0));
    }
  }
  return Status::OK();
}

}  // namespace

arrow::Result<std::vector<OtapBatch>> MetricsToOtap(const MetricsRequest& request,
                                                    const ToOtapOptions& options) {
  return MetricsEncoder::ToOtap(request, options);
}

arrow::Result<MetricsRequest> OtapToMetrics(const OtapBatch& batch) {
  MetricsRequest request;
  if (batch.signal() != Signal::kMetrics) return Status::Invalid("not a metrics batch");
  if (!batch.root()) return request;
  const auto& metrics = *batch.root();
  ARROW_ASSIGN_OR_RAISE(auto resources, ResourceScopeReader::Make(batch));
  ARROW_ASSIGN_OR_RAISE(auto metric_attrs,
                        AttributesReader::Make(batch.Get(PayloadType::kMetricAttrs),
                                               PayloadType::kMetricAttrs));
  using PT = PayloadType;
  ARROW_ASSIGN_OR_RAISE(
      auto number,
      DataPointsReader::Make(batch, PT::kNumberDataPoints, PT::kNumberDpAttrs,
                             PT::kNumberDpExemplars, PT::kNumberDpExemplarAttrs));
  ARROW_ASSIGN_OR_RAISE(
      auto summary,
      DataPointsReader::Make(batch, PT::kSummaryDataPoints, PT::kSummaryDpAttrs,
                             PT::kUnknown, PT::kUnknown));
  ARROW_ASSIGN_OR_RAISE(
      auto histogram,
      DataPointsReader::Make(batch, PT::kHistogramDataPoints, PT::kHistogramDpAttrs,
                             PT::kHistogramDpExemplars, PT::kHistogramDpExemplarAttrs));
  ARROW_ASSIGN_OR_RAISE(
      auto exp_histogram,
      DataPointsReader::Make(batch, PT::kExpHistogramDataPoints, PT::kExpHistogramDpAttrs,
                             PT::kExpHistogramDpExemplars,
                             PT::kExpHistogramDpExemplarAttrs));
  const auto& id = Column<arrow::UInt16Array>(metrics, schema::kId);
  const auto& metric_type = Column<arrow::UInt8Array>(metrics, schema::kMetricType);
  const auto& name = Column<arrow::StringArray>(metrics, schema::kName);
  const auto& description = Column<arrow::StringArray>(metrics, schema::kDescription);
  const auto& unit = Column<arrow::StringArray>(metrics, schema::kUnit);
  const auto& temporality =
      Column<arrow::Int32Array>(metrics, schema::kAggregationTemporality);
  const auto& monotonic = Column<arrow::BooleanArray>(metrics, schema::kIsMonotonic);

  RowGrouper<MetricsRequest, pb::metrics::ResourceMetrics, pb::metrics::ScopeMetrics>
      grouper(
          resources, &request,
          [](MetricsRequest* r) { return r->add_resource_metrics(); },
          [](pb::metrics::ResourceMetrics* r) { return r->add_scope_metrics(); });
  for (int64_t row = 0; row < metrics.num_rows(); ++row) {
    ARROW_ASSIGN_OR_RAISE(auto* scope_metrics, grouper.ScopeFor(row));
    auto* metric = scope_metrics->add_metrics();
    metric->set_name(std::string(StringValue(name, row)));
    metric->set_description(std::string(StringValue(description, row)));
    metric->set_unit(std::string(StringValue(unit, row)));
    const auto temporality_value =
        static_cast<pb::metrics::AggregationTemporality>(ValueOr(temporality, row, 0));
    const bool has_id = id.IsValid(row);
    const uint16_t metric_id = has_id ? id.Value(row) : 0;
    if (has_id) {
      ARROW_RETURN_NOT_OK(metric_attrs.AppendTo(metric_id, metric->mutable_metadata()));
    }
    switch (static_cast<MetricType>(ValueOr(metric_type, row, 0))) {
      case MetricType::kEmpty:
        break;
      case MetricType::kGauge: {
        auto* gauge = metric->mutable_gauge();
        if (has_id)
          ARROW_RETURN_NOT_OK(
              ReadNumberPoints(number, metric_id, gauge->mutable_data_points()));
        break;
      }
      case MetricType::kSum: {
        auto* sum = metric->mutable_sum();
        sum->set_aggregation_temporality(temporality_value);
        sum->set_is_monotonic(ValueOr(monotonic, row, false));
        if (has_id)
          ARROW_RETURN_NOT_OK(
              ReadNumberPoints(number, metric_id, sum->mutable_data_points()));
        break;
      }
      case MetricType::kHistogram: {
        auto* histogram_metric = metric->mutable_histogram();
        histogram_metric->set_aggregation_temporality(temporality_value);
        if (has_id) {
          ARROW_RETURN_NOT_OK(ReadHistogramPoints(
              histogram, metric_id, histogram_metric->mutable_data_points()));
        }
        break;
      }
      case MetricType::kExponentialHistogram: {
        auto* exp = metric->mutable_exponential_histogram();
        exp->set_aggregation_temporality(temporality_value);
        if (has_id) {
          ARROW_RETURN_NOT_OK(ReadExpHistogramPoints(exp_histogram, metric_id,
                                                     exp->mutable_data_points()));
        }
        break;
      }
      case MetricType::kSummary: {
        auto* summary_metric = metric->mutable_summary();
        if (has_id) {
          ARROW_RETURN_NOT_OK(ReadSummaryPoints(summary, metric_id,
                                                summary_metric->mutable_data_points()));
        }
        break;
      }
      default:
        return Status::Invalid("univariate_metrics row ", row, ": unknown metric_type ",
                               static_cast<int>(metric_type.Value(row)));
    }
  }
  return request;
}

arrow::Result<std::vector<OtapBatch>> ToOtap(const OtlpRequest& request,
                                             const ToOtapOptions& options) {
  switch (SignalOf(request)) {
    case Signal::kLogs:
      return LogsToOtap(std::get<LogsRequest>(request), options);
    case Signal::kTraces:
      return TracesToOtap(std::get<TracesRequest>(request), options);
    case Signal::kMetrics:
      return MetricsToOtap(std::get<MetricsRequest>(request), options);
  }
  return Status::Invalid("unknown signal");
}

namespace {

// OTLP strings must be UTF-8 (protobuf refuses to serialize others, peers to parse
// them); OTAP columns read from files are not checked by Arrow. `path` names the
// column for the error.
Status CheckUtf8(const arrow::Array& array, const std::string& path) {
  switch (array.type_id()) {
    case arrow::Type::STRING: {
      const auto& strings = static_cast<const arrow::StringArray&>(array);
      for (int64_t row = 0; row < strings.length(); ++row) {
        if (strings.IsValid(row) && !arrow::util::ValidateUTF8(strings.GetView(row))) {
          return Status::Invalid(path, " row ", row, ": invalid UTF-8");
        }
      }
      return Status::OK();
    }
    case arrow::Type::STRUCT: {
      const auto& fields = static_cast<const arrow::StructArray&>(array);
      for (int i = 0; i < fields.num_fields(); ++i) {
        ARROW_RETURN_NOT_OK(
            CheckUtf8(*fields.field(i), path + "." + fields.type()->field(i)->name()));
      }
      return Status::OK();
    }
    case arrow::Type::DICTIONARY:
      return CheckUtf8(*static_cast<const arrow::DictionaryArray&>(array).dictionary(),
                       path + " (dictionary)");
    default:
      return Status::OK();
  }
}

Status CheckUtf8(const OtapBatch& batch) {
  arrow::util::InitializeUTF8();  // ValidateUTF8's tables; runs once
  for (PayloadType type : batch.payload_types()) {
    const auto& table = batch.Get(type);
    if (table == nullptr) continue;
    for (int c = 0; c < table->num_columns(); ++c) {
      ARROW_RETURN_NOT_OK(CheckUtf8(
          *table->column(c), std::string(TableName(type)) + "." + table->column_name(c)));
    }
  }
  return Status::OK();
}

}  // namespace

arrow::Result<OtlpRequest> FromOtap(const OtapBatch& batch) {
  ARROW_RETURN_NOT_OK(CheckUtf8(batch));
  switch (batch.signal()) {
    case Signal::kLogs: {
      ARROW_ASSIGN_OR_RAISE(auto request, OtapToLogs(batch));
      return OtlpRequest(std::move(request));
    }
    case Signal::kTraces: {
      ARROW_ASSIGN_OR_RAISE(auto request, OtapToTraces(batch));
      return OtlpRequest(std::move(request));
    }
    case Signal::kMetrics: {
      ARROW_ASSIGN_OR_RAISE(auto request, OtapToMetrics(batch));
      return OtlpRequest(std::move(request));
    }
  }
  return Status::Invalid("unknown signal");
}

}  // namespace otap_parquet::otlp
