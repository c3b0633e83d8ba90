// SPDX-License-Identifier: Apache-2.0
// OTLP traces ⇄ OTAP (spans, span_attrs, span_events, span_links and their attrs).

#include "otap_parquet/otlp/columns.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/signal_encoder.h"
#include "otap_parquet/otlp/wire_values.h"
#include "otap_parquet/schema/otap_schema.h"

namespace otap_parquet::otlp {

using arrow::Status;
using namespace internal;  // NOLINT(build/namespaces): converter building blocks

namespace {

constexpr int kMaxSpanKind = 5;
constexpr int kMaxStatusCode = 2;

class TracesEncoder : public SignalEncoder<TracesTraits, TracesEncoder> {
 public:
  using SignalEncoder::SignalEncoder;

 private:
  friend class SignalEncoder<TracesTraits, TracesEncoder>;

  Status AppendWire(std::string_view bytes, int budget) {
    wire::Reader in(bytes, budget);
    uint64_t start = 0, end = 0, varint = 0;
    int32_t kind = 0;
    uint32_t dropped_attributes = 0, dropped_events = 0, dropped_links = 0, flags = 0;
    std::string_view trace_id = "", span_id = "", parent_span_id = "", trace_state = "",
                     name = "";
    bool has_status = false;
    status_.Clear();
    const auto id = static_cast<uint16_t>(rows_);
    // Events and links go to their own tables as they come: their ids follow
    // wire order, as the message path's repeated fields do.
    while (const uint32_t tag = in.Next()) {
      std::string_view field;
      bool read = true;
      switch (tag) {
        case wire::LenTag(1):
          read = in.Bytes(&trace_id);
          break;
        case wire::LenTag(2):
          read = in.Bytes(&span_id);
          break;
        case wire::LenTag(3):
          read = in.String(&trace_state);
          break;
        case wire::LenTag(4):
          read = in.Bytes(&parent_span_id);
          break;
        case wire::Fixed32Tag(16):
          read = in.Fixed32(&flags);
          break;
        case wire::LenTag(5):
          read = in.String(&name);
          break;
        case wire::VarintTag(6):
          read = in.Varint(&varint);
          kind = static_cast<int32_t>(varint);
          break;
        case wire::Fixed64Tag(7):
          read = in.Fixed64(&start);
          break;
        case wire::Fixed64Tag(8):
          read = in.Fixed64(&end);
          break;
        case wire::LenTag(9):
          read = in.Message(&field);
          if (read) {
            ARROW_RETURN_NOT_OK(
                values_.KeyValue(&span_attrs_, id, field, in.child_budget()));
          }
          break;
        case wire::VarintTag(10):
          read = in.Varint(&varint);
          dropped_attributes = static_cast<uint32_t>(varint);
          break;
        case wire::LenTag(11):
          read = in.Message(&field);
          if (read) ARROW_RETURN_NOT_OK(EventWire(id, field, in.child_budget()));
          break;
        case wire::VarintTag(12):
          read = in.Varint(&varint);
          dropped_events = static_cast<uint32_t>(varint);
          break;
        case wire::LenTag(13):
          read = in.Message(&field);
          if (read) ARROW_RETURN_NOT_OK(LinkWire(id, field, in.child_budget()));
          break;
        case wire::VarintTag(14):
          read = in.Varint(&varint);
          dropped_links = static_cast<uint32_t>(varint);
          break;
        case wire::LenTag(15):  // status: small, repeats merge
          read = in.Message(&field) && in.Merge(field, &status_);
          has_status = true;
          break;
        default:
          read = in.Skip(tag);
      }
      if (!read) break;
    }
    if (!in.ok()) return Malformed();
    ARROW_RETURN_NOT_OK(CheckEnum(kind, kMaxSpanKind, "kind"));
    if (has_status) {
      ARROW_RETURN_NOT_OK(CheckEnum(status_.code(), kMaxStatusCode, "status.code"));
    }
    ARROW_RETURN_NOT_OK(AppendId(&trace_id_, trace_id, 16, "traceId"));
    ARROW_RETURN_NOT_OK(AppendId(&span_id_, span_id, 8, "spanId"));
    ARROW_RETURN_NOT_OK(AppendId(&parent_span_id_, parent_span_id, 8, "parentSpanId"));
    ARROW_RETURN_NOT_OK(resources_.AppendRow());
    ARROW_RETURN_NOT_OK(id_.Append(id));
    ARROW_RETURN_NOT_OK(start_.Append(static_cast<int64_t>(start)));
    ARROW_RETURN_NOT_OK(duration_.Append(static_cast<int64_t>(end - start)));
    ARROW_RETURN_NOT_OK(trace_state_.Append(trace_state));
    ARROW_RETURN_NOT_OK(name_.Append(name));
    ARROW_RETURN_NOT_OK(kind_.Append(kind));
    ARROW_RETURN_NOT_OK(dropped_attributes_.Append(dropped_attributes));
    ARROW_RETURN_NOT_OK(dropped_events_.Append(dropped_events));
    ARROW_RETURN_NOT_OK(dropped_links_.Append(dropped_links));
    ARROW_RETURN_NOT_OK(AppendStatus(has_status ? &status_ : nullptr));
    ARROW_RETURN_NOT_OK(flags_.Append(flags));
    ++rows_;
    return Status::OK();
  }

  Status EventWire(uint16_t span, std::string_view bytes, int budget) {
    wire::Reader in(bytes, budget);
    uint64_t time = 0, varint = 0;
    uint32_t dropped = 0;
    std::string_view name = "";
    const auto event_id = static_cast<uint32_t>(event_parent_.size());
    while (const uint32_t tag = in.Next()) {
      std::string_view field;
      bool read = true;
      if (tag == wire::Fixed64Tag(1)) {
        read = in.Fixed64(&time);
      } else if (tag == wire::LenTag(2)) {
        read = in.String(&name);
      } else if (tag == wire::LenTag(3)) {
        read = in.Message(&field);
        if (read) {
          ARROW_RETURN_NOT_OK(
              values_.KeyValue(&event_attrs_, event_id, field, in.child_budget()));
        }
      } else if (tag == wire::VarintTag(4)) {
        read = in.Varint(&varint);
        dropped = static_cast<uint32_t>(varint);
      } else {
        read = in.Skip(tag);
      }
      if (!read) break;
    }
    if (!in.ok()) return Malformed();
    event_parent_.push_back(span);
    ARROW_RETURN_NOT_OK(event_time_.Append(static_cast<int64_t>(time)));
    ARROW_RETURN_NOT_OK(event_name_.Append(name));
    return event_dropped_.Append(dropped);
  }

  Status LinkWire(uint16_t span, std::string_view bytes, int budget) {
    wire::Reader in(bytes, budget);
    uint64_t varint = 0;
    uint32_t dropped = 0, flags = 0;
    std::string_view trace_id = "", span_id = "", trace_state = "";
    const auto link_id = static_cast<uint32_t>(link_parent_.size());
    while (const uint32_t tag = in.Next()) {
      std::string_view field;
      bool read = true;
      switch (tag) {
        case wire::LenTag(1):
          read = in.Bytes(&trace_id);
          break;
        case wire::LenTag(2):
          read = in.Bytes(&span_id);
          break;
        case wire::LenTag(3):
          read = in.String(&trace_state);
          break;
        case wire::LenTag(4):
          read = in.Message(&field);
          if (read) {
            ARROW_RETURN_NOT_OK(
                values_.KeyValue(&link_attrs_, link_id, field, in.child_budget()));
          }
          break;
        case wire::VarintTag(5):
          read = in.Varint(&varint);
          dropped = static_cast<uint32_t>(varint);
          break;
        case wire::Fixed32Tag(6):
          read = in.Fixed32(&flags);
          break;
        default:
          read = in.Skip(tag);
      }
      if (!read) break;
    }
    if (!in.ok()) return Malformed();
    ARROW_RETURN_NOT_OK(AppendId(&link_trace_id_, trace_id, 16, "traceId"));
    ARROW_RETURN_NOT_OK(AppendId(&link_span_id_, span_id, 8, "spanId"));
    link_parent_.push_back(span);
    ARROW_RETURN_NOT_OK(link_trace_state_.Append(trace_state));
    ARROW_RETURN_NOT_OK(link_dropped_.Append(dropped));
    return link_flags_.Append(flags);
  }

  Status AppendStatus(const pb::trace::Status* status) {
    ARROW_RETURN_NOT_OK(status_valid_.Append(status != nullptr));
    if (status) {
      ARROW_RETURN_NOT_OK(status_code_.Append(status->code()));
      return status_message_.Append(status->message());
    }
    ++status_nulls_;
    ARROW_RETURN_NOT_OK(status_code_.AppendNull());
    return status_message_.AppendNull();
  }

  Status Append(const pb::trace::Span& span) {
    ARROW_RETURN_NOT_OK(CheckEnum(span.kind(), kMaxSpanKind, "kind"));
    if (span.has_status()) {
      ARROW_RETURN_NOT_OK(CheckEnum(span.status().code(), kMaxStatusCode, "status.code"));
    }
    ARROW_RETURN_NOT_OK(AppendId(&trace_id_, span.trace_id(), 16, "traceId"));
    ARROW_RETURN_NOT_OK(AppendId(&span_id_, span.span_id(), 8, "spanId"));
    ARROW_RETURN_NOT_OK(
        AppendId(&parent_span_id_, span.parent_span_id(), 8, "parentSpanId"));
    ARROW_RETURN_NOT_OK(resources_.AppendRow());
    const auto id = static_cast<uint16_t>(rows_);
    ARROW_RETURN_NOT_OK(id_.Append(id));
    ARROW_RETURN_NOT_OK(span_attrs_.AppendAll(id, span.attributes()));
    ARROW_RETURN_NOT_OK(start_.Append(static_cast<int64_t>(span.start_time_unix_nano())));
    // end = start + duration in wrapping 64-bit arithmetic: lossless for any pair.
    ARROW_RETURN_NOT_OK(duration_.Append(
        static_cast<int64_t>(span.end_time_unix_nano() - span.start_time_unix_nano())));
    ARROW_RETURN_NOT_OK(trace_state_.Append(span.trace_state()));
    ARROW_RETURN_NOT_OK(name_.Append(span.name()));
    ARROW_RETURN_NOT_OK(kind_.Append(span.kind()));
    ARROW_RETURN_NOT_OK(dropped_attributes_.Append(span.dropped_attributes_count()));
    ARROW_RETURN_NOT_OK(dropped_events_.Append(span.dropped_events_count()));
    ARROW_RETURN_NOT_OK(dropped_links_.Append(span.dropped_links_count()));
    ARROW_RETURN_NOT_OK(AppendStatus(span.has_status() ? &span.status() : nullptr));
    ARROW_RETURN_NOT_OK(flags_.Append(span.flags()));

    for (int e = 0; e < span.events_size(); ++e) {
      const auto& event = span.events(e);
      const auto event_id = static_cast<uint32_t>(event_parent_.size());
      event_parent_.push_back(id);
      ARROW_RETURN_NOT_OK(
          event_time_.Append(static_cast<int64_t>(event.time_unix_nano())));
      ARROW_RETURN_NOT_OK(event_name_.Append(event.name()));
      ARROW_RETURN_NOT_OK(event_dropped_.Append(event.dropped_attributes_count()));
      ARROW_RETURN_NOT_OK(event_attrs_.AppendAll(event_id, event.attributes()));
    }
    for (int l = 0; l < span.links_size(); ++l) {
      const auto& link = span.links(l);
      auto st = AppendId(&link_trace_id_, link.trace_id(), 16, "traceId");
      if (st.ok()) st = AppendId(&link_span_id_, link.span_id(), 8, "spanId");
      if (!st.ok()) return st.WithMessage("links[", l, "].", st.message());
      const auto link_id = static_cast<uint32_t>(link_parent_.size());
      link_parent_.push_back(id);
      ARROW_RETURN_NOT_OK(link_trace_state_.Append(link.trace_state()));
      ARROW_RETURN_NOT_OK(link_dropped_.Append(link.dropped_attributes_count()));
      ARROW_RETURN_NOT_OK(link_flags_.Append(link.flags()));
      ARROW_RETURN_NOT_OK(link_attrs_.AppendAll(link_id, link.attributes()));
    }
    ++rows_;
    return Status::OK();
  }

  Status Flush() {
    if (rows_ == 0) return Status::OK();
    OtapBatch batch(Signal::kTraces);
    std::shared_ptr<arrow::Array> resource, scope, schema_url;
    ARROW_RETURN_NOT_OK(resources_.Finish(&batch, &resource, &scope, &schema_url));
    ARROW_ASSIGN_OR_RAISE(auto id, FinishArray(&id_));
    ARROW_ASSIGN_OR_RAISE(auto start, FinishArray(&start_));
    ARROW_ASSIGN_OR_RAISE(auto duration, FinishArray(&duration_));
    ARROW_ASSIGN_OR_RAISE(auto trace_id, FinishArray(&trace_id_));
    ARROW_ASSIGN_OR_RAISE(auto span_id, FinishArray(&span_id_));
    ARROW_ASSIGN_OR_RAISE(auto trace_state, FinishArray(&trace_state_));
    ARROW_ASSIGN_OR_RAISE(auto parent_span_id, FinishArray(&parent_span_id_));
    ARROW_ASSIGN_OR_RAISE(auto name, FinishArray(&name_));
    ARROW_ASSIGN_OR_RAISE(auto kind, FinishArray(&kind_));
    ARROW_ASSIGN_OR_RAISE(auto dropped_attributes, FinishArray(&dropped_attributes_));
    ARROW_ASSIGN_OR_RAISE(auto dropped_events, FinishArray(&dropped_events_));
    ARROW_ASSIGN_OR_RAISE(auto dropped_links, FinishArray(&dropped_links_));
    ARROW_ASSIGN_OR_RAISE(auto code, FinishArray(&status_code_));
    ARROW_ASSIGN_OR_RAISE(auto message, FinishArray(&status_message_));
    ARROW_ASSIGN_OR_RAISE(auto status_validity, status_valid_.Finish());
    const auto& status_type = schema::CanonicalSchema(PayloadType::kSpans)
                                  ->GetFieldByName(schema::kStatus)
                                  ->type();
    ARROW_ASSIGN_OR_RAISE(
        auto status,
        MakeStruct(status_type, {code, message},
                   status_nulls_ ? status_validity : nullptr, status_nulls_));
    ARROW_ASSIGN_OR_RAISE(auto flags, FinishArray(&flags_));
    batch.Set(
        PayloadType::kSpans,
        MakeBatch(PayloadType::kSpans, rows_,
                  {id, resource, scope, schema_url, start, duration, trace_id, span_id,
                   trace_state, parent_span_id, name, kind, dropped_attributes,
                   dropped_events, dropped_links, status, flags}));
    ARROW_RETURN_NOT_OK(span_attrs_.FinishInto(&batch));

    if (!event_parent_.empty()) {
      const auto n = static_cast<int64_t>(event_parent_.size());
      ARROW_ASSIGN_OR_RAISE(auto ids, SequentialIds(n));
      ARROW_ASSIGN_OR_RAISE(auto parents, ParentIds(&event_parent_));
      ARROW_ASSIGN_OR_RAISE(auto time, FinishArray(&event_time_));
      ARROW_ASSIGN_OR_RAISE(auto ev_name, FinishArray(&event_name_));
      ARROW_ASSIGN_OR_RAISE(auto ev_dropped, FinishArray(&event_dropped_));
      batch.Set(PayloadType::kSpanEvents,
                MakeBatch(PayloadType::kSpanEvents, n,
                          {ids, parents, time, ev_name, ev_dropped}));
      ARROW_RETURN_NOT_OK(event_attrs_.FinishInto(&batch));
    }
    if (!link_parent_.empty()) {
      const auto n = static_cast<int64_t>(link_parent_.size());
      ARROW_ASSIGN_OR_RAISE(auto ids, SequentialIds(n));
      ARROW_ASSIGN_OR_RAISE(auto parents, ParentIds(&link_parent_));
      ARROW_ASSIGN_OR_RAISE(auto l_trace_id, FinishArray(&link_trace_id_));
      ARROW_ASSIGN_OR_RAISE(auto l_span_id, FinishArray(&link_span_id_));
      ARROW_ASSIGN_OR_RAISE(auto l_state, FinishArray(&link_trace_state_));
      ARROW_ASSIGN_OR_RAISE(auto l_dropped, FinishArray(&link_dropped_));
      ARROW_ASSIGN_OR_RAISE(auto l_flags, FinishArray(&link_flags_));
      batch.Set(PayloadType::kSpanLinks, MakeBatch(PayloadType::kSpanLinks, n,
                                                   {ids, parents, l_trace_id, l_span_id,
                                                    l_state, l_dropped, l_flags}));
      ARROW_RETURN_NOT_OK(link_attrs_.FinishInto(&batch));
    }
    out_.push_back(std::move(batch));
    rows_ = 0;
    status_nulls_ = 0;
    return Status::OK();
  }

  static arrow::Result<std::shared_ptr<arrow::Array>> SequentialIds(int64_t n) {
    arrow::UInt32Builder builder;
    ARROW_RETURN_NOT_OK(builder.Reserve(n));
    for (int64_t i = 0; i < n; ++i) builder.UnsafeAppend(static_cast<uint32_t>(i));
    return FinishArray(&builder);
  }

  static arrow::Result<std::shared_ptr<arrow::Array>> ParentIds(
      std::vector<uint16_t>* ids) {
    arrow::UInt16Builder builder;
    ARROW_RETURN_NOT_OK(builder.AppendValues(*ids));
    ids->clear();
    return FinishArray(&builder);
  }

  // Wire decoding: the statuses it still builds, reused.
  pb::trace::Status status_;
  wire::ValueDecoder values_{"traces"};
  arrow::UInt16Builder id_;
  arrow::TimestampBuilder start_{schema::TimestampType(), arrow::default_memory_pool()};
  arrow::DurationBuilder duration_{schema::DurationType(), arrow::default_memory_pool()};
  arrow::FixedSizeBinaryBuilder trace_id_{schema::TraceIdType()};
  arrow::FixedSizeBinaryBuilder span_id_{schema::SpanIdType()};
  arrow::StringBuilder trace_state_;
  arrow::FixedSizeBinaryBuilder parent_span_id_{schema::SpanIdType()};
  arrow::StringBuilder name_;
  arrow::Int32Builder kind_;
  arrow::UInt32Builder dropped_attributes_;
  arrow::UInt32Builder dropped_events_;
  arrow::UInt32Builder dropped_links_;
  arrow::Int32Builder status_code_;
  arrow::StringBuilder status_message_;
  arrow::TypedBufferBuilder<bool> status_valid_;
  int64_t status_nulls_ = 0;
  arrow::UInt32Builder flags_;
  AttributesBuilder span_attrs_{PayloadType::kSpanAttrs};

  std::vector<uint16_t> event_parent_;
  arrow::TimestampBuilder event_time_{schema::TimestampType(),
                                      arrow::default_memory_pool()};
  arrow::StringBuilder event_name_;
  arrow::UInt32Builder event_dropped_;
  AttributesBuilder event_attrs_{PayloadType::kSpanEventAttrs};

  std::vector<uint16_t> link_parent_;
  arrow::FixedSizeBinaryBuilder link_trace_id_{schema::TraceIdType()};
  arrow::FixedSizeBinaryBuilder link_span_id_{schema::SpanIdType()};
  arrow::StringBuilder link_trace_state_;
  arrow::UInt32Builder link_dropped_;
  arrow::UInt32Builder link_flags_;
  AttributesBuilder link_attrs_{PayloadType::kSpanLinkAttrs};
};

}  // namespace

arrow::Result<std::vector<OtapBatch>> TracesToOtap(const TracesRequest& request,
                                                   const ToOtapOptions& options) {
  return TracesEncoder::ToOtap(request, options);
}

arrow::Result<std::vector<OtapBatch>> TracesWireToOtap(std::string_view bytes,
                                                       const ToOtapOptions& options) {
  return TracesEncoder::WireToOtap(bytes, options);
}

arrow::Result<TracesRequest> OtapToTraces(const OtapBatch& batch) {
  TracesRequest request;
  if (batch.signal() != Signal::kTraces) return Status::Invalid("not a traces batch");
  if (!batch.root()) return request;
  const auto& spans = *batch.root();
  ARROW_ASSIGN_OR_RAISE(auto resources, ResourceScopeReader::Make(batch));
  ARROW_ASSIGN_OR_RAISE(auto span_attrs,
                        AttributesReader::Make(batch.Get(PayloadType::kSpanAttrs),
                                               PayloadType::kSpanAttrs));
  ARROW_ASSIGN_OR_RAISE(auto event_attrs,
                        AttributesReader::Make(batch.Get(PayloadType::kSpanEventAttrs),
                                               PayloadType::kSpanEventAttrs));
  ARROW_ASSIGN_OR_RAISE(auto link_attrs,
                        AttributesReader::Make(batch.Get(PayloadType::kSpanLinkAttrs),
                                               PayloadType::kSpanLinkAttrs));
  const auto& id = Column<arrow::UInt16Array>(spans, schema::kId);
  const auto& start = Column<arrow::TimestampArray>(spans, schema::kStartTimeUnixNano);
  const auto& duration =
      Column<arrow::DurationArray>(spans, schema::kDurationTimeUnixNano);
  const auto& trace_id = Column<arrow::FixedSizeBinaryArray>(spans, schema::kTraceId);
  const auto& span_id = Column<arrow::FixedSizeBinaryArray>(spans, schema::kSpanId);
  const auto& trace_state = Column<arrow::StringArray>(spans, schema::kTraceState);
  const auto& parent_span_id =
      Column<arrow::FixedSizeBinaryArray>(spans, schema::kParentSpanId);
  const auto& name = Column<arrow::StringArray>(spans, schema::kName);
  const auto& kind = Column<arrow::Int32Array>(spans, schema::kKind);
  const auto& dropped_attributes =
      Column<arrow::UInt32Array>(spans, schema::kDroppedAttributesCount);
  const auto& dropped_events =
      Column<arrow::UInt32Array>(spans, schema::kDroppedEventsCount);
  const auto& dropped_links =
      Column<arrow::UInt32Array>(spans, schema::kDroppedLinksCount);
  const auto& status = Column<arrow::StructArray>(spans, schema::kStatus);
  const auto& status_code = Child<arrow::Int32Array>(status, schema::kStatusCode);
  const auto& status_message = Child<arrow::StringArray>(status, schema::kStatusMessage);
  const auto& flags = Column<arrow::UInt32Array>(spans, schema::kFlags);

  // Events and links, indexed by their parent span id.
  std::shared_ptr<ChildIndex> event_index, link_index;
  const auto& events = batch.Get(PayloadType::kSpanEvents);
  const auto& links = batch.Get(PayloadType::kSpanLinks);
  if (events) {
    ARROW_ASSIGN_OR_RAISE(auto index,
                          ChildIndex::Make(*events->GetColumnByName(schema::kParentId)));
    event_index = std::make_shared<ChildIndex>(std::move(index));
  }
  if (links) {
    ARROW_ASSIGN_OR_RAISE(auto index,
                          ChildIndex::Make(*links->GetColumnByName(schema::kParentId)));
    link_index = std::make_shared<ChildIndex>(std::move(index));
  }

  RowGrouper<TracesRequest, pb::trace::ResourceSpans, pb::trace::ScopeSpans> grouper(
      resources, &request, [](TracesRequest* r) { return r->add_resource_spans(); },
      [](pb::trace::ResourceSpans* r) { return r->add_scope_spans(); });
  for (int64_t row = 0; row < spans.num_rows(); ++row) {
    ARROW_ASSIGN_OR_RAISE(auto* scope_spans, grouper.ScopeFor(row));
    auto* span = scope_spans->add_spans();
    span->set_trace_id(IdValue(trace_id, row));
    span->set_span_id(IdValue(span_id, row));
    span->set_trace_state(std::string(StringValue(trace_state, row)));
    span->set_parent_span_id(IdValue(parent_span_id, row));
    span->set_flags(ValueOr(flags, row, 0));
    span->set_name(std::string(StringValue(name, row)));
    span->set_kind(static_cast<pb::trace::Span::SpanKind>(ValueOr(kind, row, 0)));
    const auto start_ns = static_cast<uint64_t>(ValueOr(start, row, 0));
    span->set_start_time_unix_nano(start_ns);
    span->set_end_time_unix_nano(start_ns +
                                 static_cast<uint64_t>(ValueOr(duration, row, 0)));
    span->set_dropped_attributes_count(ValueOr(dropped_attributes, row, 0));
    span->set_dropped_events_count(ValueOr(dropped_events, row, 0));
    span->set_dropped_links_count(ValueOr(dropped_links, row, 0));
    if (status.IsValid(row)) {
      auto* st = span->mutable_status();
      st->set_code(
          static_cast<pb::trace::Status::StatusCode>(ValueOr(status_code, row, 0)));
      st->set_message(std::string(StringValue(status_message, row)));
    }
    if (id.IsNull(row)) continue;
    const uint16_t span_key = id.Value(row);
    ARROW_RETURN_NOT_OK(span_attrs.AppendTo(span_key, span->mutable_attributes()));
    if (event_index) {
      const auto& ev_id = Column<arrow::UInt32Array>(*events, schema::kId);
      const auto& ev_time = Column<arrow::TimestampArray>(*events, schema::kTimeUnixNano);
      const auto& ev_name = Column<arrow::StringArray>(*events, schema::kName);
      const auto& ev_dropped =
          Column<arrow::UInt32Array>(*events, schema::kDroppedAttributesCount);
      for (int32_t e : event_index->Children(span_key)) {
        auto* event = span->add_events();
        event->set_time_unix_nano(static_cast<uint64_t>(ValueOr(ev_time, e, 0)));
        event->set_name(std::string(StringValue(ev_name, e)));
        event->set_dropped_attributes_count(ValueOr(ev_dropped, e, 0));
        if (ev_id.IsValid(e)) {
          ARROW_RETURN_NOT_OK(
              event_attrs.AppendTo(ev_id.Value(e), event->mutable_attributes()));
        }
      }
    }
    if (link_index) {
      const auto& l_id = Column<arrow::UInt32Array>(*links, schema::kId);
      const auto& l_trace = Column<arrow::FixedSizeBinaryArray>(*links, schema::kTraceId);
      const auto& l_span = Column<arrow::FixedSizeBinaryArray>(*links, schema::kSpanId);
      const auto& l_state = Column<arrow::StringArray>(*links, schema::kTraceState);
      const auto& l_dropped =
          Column<arrow::UInt32Array>(*links, schema::kDroppedAttributesCount);
      const auto& l_flags = Column<arrow::UInt32Array>(*links, schema::kFlags);
      for (int32_t l : link_index->Children(span_key)) {
        auto* link = span->add_links();
        link->set_trace_id(IdValue(l_trace, l));
        link->set_span_id(IdValue(l_span, l));
        link->set_trace_state(std::string(StringValue(l_state, l)));
        link->set_dropped_attributes_count(ValueOr(l_dropped, l, 0));
        link->set_flags(ValueOr(l_flags, l, 0));
        if (l_id.IsValid(l)) {
          ARROW_RETURN_NOT_OK(
              link_attrs.AppendTo(l_id.Value(l), link->mutable_attributes()));
        }
      }
    }
  }
  return request;
}

}  // namespace otap_parquet::otlp
