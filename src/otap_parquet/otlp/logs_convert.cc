// SPDX-License-Identifier: Apache-2.0
// OTLP logs ⇄ OTAP (logs, log_attrs, resource_attrs, scope_attrs).

#include "otap_parquet/otlp/columns.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/signal_encoder.h"
#include "otap_parquet/otlp/wire_values.h"
#include "otap_parquet/schema/otap_schema.h"

namespace otap_parquet::otlp {

using arrow::Status;
using namespace internal;  // NOLINT(build/namespaces): converter building blocks

namespace {

constexpr int kMaxSeverityNumber = 24;

/// The size of the last logs batch built on this thread: the next one reserves as
/// much up front instead of growing (and copying) its columns as rows arrive.
struct LogsSize {
  int64_t rows = 0;
  int64_t body_bytes = 0;
  int64_t severity_text_bytes = 0;
  int64_t event_name_bytes = 0;
};
thread_local LogsSize last_logs_size;

class LogsEncoder : public SignalEncoder<LogsTraits, LogsEncoder> {
 public:
  using SignalEncoder::SignalEncoder;

 private:
  friend class SignalEncoder<LogsTraits, LogsEncoder>;

  Status AppendWire(std::string_view bytes, int budget) {
    wire::Reader in(bytes, budget);
    uint64_t time = 0, observed_time = 0, varint = 0;
    int32_t severity_number = 0;
    uint32_t dropped = 0, flags = 0;
    // Views start non-null (""): UnsafeAppend copies from them even when empty.
    std::string_view severity_text = "", trace_id = "", span_id = "", event_name = "",
                     body = "";
    int bodies = 0;
    int64_t attributes = 0;
    const auto id = static_cast<uint16_t>(rows_);
    if (rows_ == 0) ARROW_RETURN_NOT_OK(Presize());
    while (const uint32_t tag = in.Next()) {
      std::string_view field;
      bool read = true;
      switch (tag) {
        case wire::Fixed64Tag(1):
          read = in.Fixed64(&time);
          break;
        case wire::Fixed64Tag(11):
          read = in.Fixed64(&observed_time);
          break;
        case wire::VarintTag(2):
          read = in.Varint(&varint);
          severity_number = static_cast<int32_t>(varint);
          break;
        case wire::LenTag(3):
          read = in.String(&severity_text);
          break;
        case wire::LenTag(5):  // body; repeats merge, as in a parse
          read = in.Message(&field) && wire::ValueDecoder::MergeRepeated(
                                           &in, ++bodies, field, &body, &body_message_);
          break;
        case wire::LenTag(6):  // attributes
          read = in.Message(&field);
          if (read) {
            ARROW_RETURN_NOT_OK(
                values_.KeyValue(&log_attrs_, id, field, in.child_budget()));
            ++attributes;
          }
          break;
        case wire::VarintTag(7):
          read = in.Varint(&varint);
          dropped = static_cast<uint32_t>(varint);
          break;
        case wire::Fixed32Tag(8):
          read = in.Fixed32(&flags);
          break;
        case wire::LenTag(9):
          read = in.Bytes(&trace_id);
          break;
        case wire::LenTag(10):
          read = in.Bytes(&span_id);
          break;
        case wire::LenTag(12):
          read = in.String(&event_name);
          break;
        default:
          read = in.Skip(tag);
      }
      if (!read) break;
    }
    if (!in.ok()) return Malformed();
    ARROW_RETURN_NOT_OK(CheckEnum(severity_number, kMaxSeverityNumber, "severityNumber"));
    ARROW_RETURN_NOT_OK(AppendId(&trace_id_, trace_id, 16, "traceId"));
    ARROW_RETURN_NOT_OK(AppendId(&span_id_, span_id, 8, "spanId"));
    ARROW_RETURN_NOT_OK(resources_.AppendRow());
    if (ARROW_PREDICT_FALSE(!FixedWidthHaveRoom())) ARROW_RETURN_NOT_OK(GrowFixedWidth());
    if (attributes > 0) {
      id_.UnsafeAppend(id);
    } else {
      id_.UnsafeAppendNull();
    }
    time_.UnsafeAppend(static_cast<int64_t>(time));
    observed_time_.UnsafeAppend(static_cast<int64_t>(observed_time));
    severity_number_.UnsafeAppend(severity_number);
    body_valid_.UnsafeAppend(bodies > 0);
    dropped_.UnsafeAppend(dropped);
    flags_.UnsafeAppend(flags);
    if (ARROW_PREDICT_FALSE(!HasRoomFor(severity_text_, severity_text.size()))) {
      ARROW_RETURN_NOT_OK(MakeRoomFor(&severity_text_, severity_text.size()));
    }
    severity_text_.UnsafeAppend(severity_text);
    if (ARROW_PREDICT_FALSE(!HasRoomFor(event_name_, event_name.size()))) {
      ARROW_RETURN_NOT_OK(MakeRoomFor(&event_name_, event_name.size()));
    }
    event_name_.UnsafeAppend(event_name);
    if (bodies == 0) {
      ARROW_RETURN_NOT_OK(body_.AppendEmpty());
      ++body_nulls_;
    } else if (bodies == 1) {
      ARROW_RETURN_NOT_OK(values_.AnyValue(&body_, body, in.child_budget()));
    } else {
      ARROW_RETURN_NOT_OK(body_.Append(body_message_));
    }
    ++rows_;
    return Status::OK();
  }

  bool FixedWidthHaveRoom() const {
    return HasRoom(id_) && HasRoom(time_) && HasRoom(observed_time_) &&
           HasRoom(severity_number_) && HasRoom(dropped_) && HasRoom(flags_) &&
           body_valid_.length() < body_valid_.capacity();
  }

  Status Presize() {
    // Bounded, so one huge request does not make every later batch reserve as much.
    constexpr int64_t kMaxBytes = 64 << 20;
    const LogsSize& last = last_logs_size;
    const int64_t rows = std::min(last.rows, options_.max_root_rows);
    if (rows <= 0) return Status::OK();
    ARROW_RETURN_NOT_OK(id_.Reserve(rows));
    ARROW_RETURN_NOT_OK(time_.Reserve(rows));
    ARROW_RETURN_NOT_OK(observed_time_.Reserve(rows));
    ARROW_RETURN_NOT_OK(trace_id_.Reserve(rows));
    ARROW_RETURN_NOT_OK(span_id_.Reserve(rows));
    ARROW_RETURN_NOT_OK(severity_number_.Reserve(rows));
    ARROW_RETURN_NOT_OK(severity_text_.Reserve(rows));
    ARROW_RETURN_NOT_OK(
        severity_text_.ReserveData(std::min(last.severity_text_bytes, kMaxBytes)));
    ARROW_RETURN_NOT_OK(body_.Reserve(rows, std::min(last.body_bytes, kMaxBytes)));
    ARROW_RETURN_NOT_OK(body_valid_.Reserve(rows));
    ARROW_RETURN_NOT_OK(dropped_.Reserve(rows));
    ARROW_RETURN_NOT_OK(event_name_.Reserve(rows));
    ARROW_RETURN_NOT_OK(
        event_name_.ReserveData(std::min(last.event_name_bytes, kMaxBytes)));
    return flags_.Reserve(rows);
  }

  Status GrowFixedWidth() {
    const int64_t more = std::max<int64_t>(1024, rows_);
    ARROW_RETURN_NOT_OK(id_.Reserve(more));
    ARROW_RETURN_NOT_OK(time_.Reserve(more));
    ARROW_RETURN_NOT_OK(observed_time_.Reserve(more));
    ARROW_RETURN_NOT_OK(severity_number_.Reserve(more));
    ARROW_RETURN_NOT_OK(body_valid_.Reserve(more));
    ARROW_RETURN_NOT_OK(dropped_.Reserve(more));
    return flags_.Reserve(more);
  }

  Status Append(const pb::logs::LogRecord& log) {
    ARROW_RETURN_NOT_OK(
        CheckEnum(log.severity_number(), kMaxSeverityNumber, "severityNumber"));
    ARROW_RETURN_NOT_OK(AppendId(&trace_id_, log.trace_id(), 16, "traceId"));
    ARROW_RETURN_NOT_OK(AppendId(&span_id_, log.span_id(), 8, "spanId"));
    ARROW_RETURN_NOT_OK(resources_.AppendRow());
    // Like upstream, only logs with attributes get an id.
    if (log.attributes_size() > 0) {
      const auto id = static_cast<uint16_t>(rows_);
      ARROW_RETURN_NOT_OK(id_.Append(id));
      ARROW_RETURN_NOT_OK(log_attrs_.AppendAll(id, log.attributes()));
    } else {
      ARROW_RETURN_NOT_OK(id_.AppendNull());
    }
    ARROW_RETURN_NOT_OK(time_.Append(static_cast<int64_t>(log.time_unix_nano())));
    ARROW_RETURN_NOT_OK(
        observed_time_.Append(static_cast<int64_t>(log.observed_time_unix_nano())));
    ARROW_RETURN_NOT_OK(severity_number_.Append(log.severity_number()));
    ARROW_RETURN_NOT_OK(severity_text_.Append(log.severity_text()));
    ARROW_RETURN_NOT_OK(body_valid_.Append(log.has_body()));
    ARROW_RETURN_NOT_OK(log.has_body() ? body_.Append(log.body()) : body_.AppendEmpty());
    if (!log.has_body()) ++body_nulls_;
    ARROW_RETURN_NOT_OK(dropped_.Append(log.dropped_attributes_count()));
    ARROW_RETURN_NOT_OK(event_name_.Append(log.event_name()));
    ARROW_RETURN_NOT_OK(flags_.Append(log.flags()));
    ++rows_;
    return Status::OK();
  }

  Status Flush() {
    if (rows_ == 0) return Status::OK();
    last_logs_size = {rows_, body_.str_bytes(), severity_text_.value_data_length(),
                      event_name_.value_data_length()};
    OtapBatch batch(Signal::kLogs);
    std::shared_ptr<arrow::Array> resource, scope, schema_url;
    ARROW_RETURN_NOT_OK(resources_.Finish(&batch, &resource, &scope, &schema_url));
    ARROW_ASSIGN_OR_RAISE(auto id, FinishArray(&id_));
    ARROW_ASSIGN_OR_RAISE(auto time, FinishArray(&time_));
    ARROW_ASSIGN_OR_RAISE(auto observed, FinishArray(&observed_time_));
    ARROW_ASSIGN_OR_RAISE(auto trace_id, FinishArray(&trace_id_));
    ARROW_ASSIGN_OR_RAISE(auto span_id, FinishArray(&span_id_));
    ARROW_ASSIGN_OR_RAISE(auto severity_number, FinishArray(&severity_number_));
    ARROW_ASSIGN_OR_RAISE(auto severity_text, FinishArray(&severity_text_));
    ARROW_ASSIGN_OR_RAISE(auto body_children, body_.Finish());
    ARROW_ASSIGN_OR_RAISE(auto body_validity, body_valid_.Finish());
    ARROW_ASSIGN_OR_RAISE(auto body,
                          MakeStruct(schema::AnyValueStructType(), body_children,
                                     body_nulls_ ? body_validity : nullptr, body_nulls_));
    ARROW_ASSIGN_OR_RAISE(auto dropped, FinishArray(&dropped_));
    ARROW_ASSIGN_OR_RAISE(auto event_name, FinishArray(&event_name_));
    ARROW_ASSIGN_OR_RAISE(auto flags, FinishArray(&flags_));
    batch.Set(
        PayloadType::kLogs,
        MakeBatch(PayloadType::kLogs, rows_,
                  {id, resource, scope, schema_url, time, observed, trace_id, span_id,
                   severity_number, severity_text, body, dropped, event_name, flags}));
    ARROW_RETURN_NOT_OK(log_attrs_.FinishInto(&batch));
    out_.push_back(std::move(batch));
    rows_ = 0;
    body_nulls_ = 0;
    return Status::OK();
  }

  // Wire decoding: the repeated AnyValues it still builds, reused.
  pb::common::AnyValue body_message_;
  wire::ValueDecoder values_{"logs"};
  arrow::UInt16Builder id_;
  arrow::TimestampBuilder time_{schema::TimestampType(), arrow::default_memory_pool()};
  arrow::TimestampBuilder observed_time_{schema::TimestampType(),
                                         arrow::default_memory_pool()};
  arrow::FixedSizeBinaryBuilder trace_id_{schema::TraceIdType()};
  arrow::FixedSizeBinaryBuilder span_id_{schema::SpanIdType()};
  arrow::Int32Builder severity_number_;
  arrow::StringBuilder severity_text_;
  AnyValueBuilder body_;
  arrow::TypedBufferBuilder<bool> body_valid_;
  int64_t body_nulls_ = 0;
  arrow::UInt32Builder dropped_;
  arrow::StringBuilder event_name_;
  arrow::UInt32Builder flags_;
  AttributesBuilder log_attrs_{PayloadType::kLogAttrs};
};

}  // namespace

arrow::Result<std::vector<OtapBatch>> LogsToOtap(const LogsRequest& request,
                                                 const ToOtapOptions& options) {
  return LogsEncoder::ToOtap(request, options);
}

arrow::Result<std::vector<OtapBatch>> LogsWireToOtap(std::string_view bytes,
                                                     const ToOtapOptions& options) {
  return LogsEncoder::WireToOtap(bytes, options);
}

arrow::Result<LogsRequest> OtapToLogs(const OtapBatch& batch) {
  LogsRequest request;
  if (batch.signal() != Signal::kLogs) return Status::Invalid("not a logs batch");
  if (!batch.root()) return request;
  const auto& logs = *batch.root();
  ARROW_ASSIGN_OR_RAISE(auto resources, ResourceScopeReader::Make(batch));
  ARROW_ASSIGN_OR_RAISE(
      auto log_attrs,
      AttributesReader::Make(batch.Get(PayloadType::kLogAttrs), PayloadType::kLogAttrs));
  const auto& id = Column<arrow::UInt16Array>(logs, schema::kId);
  const auto& time = Column<arrow::TimestampArray>(logs, schema::kTimeUnixNano);
  const auto& observed =
      Column<arrow::TimestampArray>(logs, schema::kObservedTimeUnixNano);
  const auto& trace_id = Column<arrow::FixedSizeBinaryArray>(logs, schema::kTraceId);
  const auto& span_id = Column<arrow::FixedSizeBinaryArray>(logs, schema::kSpanId);
  const auto& severity_number = Column<arrow::Int32Array>(logs, schema::kSeverityNumber);
  const auto& severity_text = Column<arrow::StringArray>(logs, schema::kSeverityText);
  const auto& body = Column<arrow::StructArray>(logs, schema::kBody);
  const AnyValueReader body_reader(body.fields());
  const auto& dropped = Column<arrow::UInt32Array>(logs, schema::kDroppedAttributesCount);
  const auto& event_name = Column<arrow::StringArray>(logs, schema::kEventName);
  const auto& flags = Column<arrow::UInt32Array>(logs, schema::kFlags);

  RowGrouper<LogsRequest, pb::logs::ResourceLogs, pb::logs::ScopeLogs> grouper(
      resources, &request, [](LogsRequest* r) { return r->add_resource_logs(); },
      [](pb::logs::ResourceLogs* r) { return r->add_scope_logs(); });
  for (int64_t row = 0; row < logs.num_rows(); ++row) {
    ARROW_ASSIGN_OR_RAISE(auto* scope_logs, grouper.ScopeFor(row));
    auto* log = scope_logs->add_log_records();
    log->set_time_unix_nano(static_cast<uint64_t>(ValueOr(time, row, 0)));
    log->set_observed_time_unix_nano(static_cast<uint64_t>(ValueOr(observed, row, 0)));
    log->set_trace_id(IdValue(trace_id, row));
    log->set_span_id(IdValue(span_id, row));
    log->set_severity_number(
        static_cast<pb::logs::SeverityNumber>(ValueOr(severity_number, row, 0)));
    log->set_severity_text(std::string(StringValue(severity_text, row)));
    if (body.IsValid(row)) {
      ARROW_RETURN_NOT_OK(body_reader.Read(row, log->mutable_body(), "logs.body"));
    }
    log->set_dropped_attributes_count(ValueOr(dropped, row, 0));
    log->set_event_name(std::string(StringValue(event_name, row)));
    log->set_flags(ValueOr(flags, row, 0));
    if (id.IsValid(row))
      ARROW_RETURN_NOT_OK(log_attrs.AppendTo(id.Value(row), log->mutable_attributes()));
  }
  return request;
}

}  // namespace otap_parquet::otlp
