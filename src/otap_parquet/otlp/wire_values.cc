// SPDX-License-Identifier: Apache-2.0

#include "otap_parquet/otlp/wire_values.h"

#include <string>

namespace otap_parquet::otlp::internal::wire {

using arrow::Status;

bool Reader::Skip(uint32_t tag) {
  switch (WireFormatLite::GetTagWireType(tag)) {
    case WireFormatLite::WIRETYPE_VARINT: {
      uint64_t value = 0;
      return Varint(&value);
    }
    case WireFormatLite::WIRETYPE_FIXED64: {
      uint64_t value = 0;
      return Fixed64(&value);
    }
    case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
      std::string_view value;
      return Bytes(&value);
    }
    case WireFormatLite::WIRETYPE_FIXED32: {
      uint32_t value = 0;
      return Fixed32(&value);
    }
    case WireFormatLite::WIRETYPE_START_GROUP:
      return SkipGroup(WireFormatLite::GetTagFieldNumber(tag));
    default:  // an end group with no start here, wire types 6 and 7
      return Fail();
  }
}

bool Reader::SkipGroup(int field) {
  if (budget_ <= 0) return Fail();
  --budget_;
  while (const uint32_t tag = Next()) {
    if (WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_END_GROUP) {
      ++budget_;
      return WireFormatLite::GetTagFieldNumber(tag) == field || Fail();
    }
    if (!Skip(tag)) return false;
  }
  return Fail();  // the message ended inside the group
}

Status Malformed(std::string_view signal) {
  return Status::Invalid("malformed OTLP ", signal, " request");
}

bool ValueDecoder::MergeAgain(Reader* in, int count, std::string_view field,
                              std::string_view first, pb::common::AnyValue* merged) {
  if (count == 2) {
    merged->Clear();
    if (!in->Merge(first, merged)) return false;
  }
  return in->Merge(field, merged);
}

Status ValueDecoder::KeyValue(AttributesBuilder* out, uint32_t parent_id,
                              std::string_view bytes, int budget) {
  Reader in(bytes, budget);
  std::string_view key = "", value = "";
  int values = 0;
  while (const uint32_t tag = in.Next()) {
    std::string_view field;
    bool read = true;
    if (tag == LenTag(1)) {
      read = in.String(&key);
    } else if (tag == LenTag(2)) {  // value; repeats merge
      read = in.Message(&field) &&
             MergeRepeated(&in, ++values, field, &value, &value_message_);
    } else {
      read = in.Skip(tag);
    }
    if (!read) break;
  }
  if (!in.ok()) return Malformed(signal_);
  ARROW_RETURN_NOT_OK(out->AppendKey(parent_id, key));
  if (values == 0) return out->values()->AppendEmpty();
  if (values == 1) return AnyValue(out->values(), value, in.child_budget());
  return out->values()->Append(value_message_);
}

Status ValueDecoder::AnyValue(AnyValueBuilder* out, std::string_view bytes, int budget) {
  using V = pb::common::AnyValue;
  Reader in(bytes, budget);
  // The oneof: the last member on the wire wins.
  int kind = V::VALUE_NOT_SET;
  bool nested = false;
  std::string_view text = "";
  uint64_t varint = 0;
  double number = 0;
  while (const uint32_t tag = in.Next()) {
    std::string_view field;
    bool read = true;
    switch (tag) {
      case LenTag(1):
        read = in.String(&text);
        kind = V::kStringValue;
        break;
      case VarintTag(2):
        read = in.Varint(&varint);
        kind = V::kBoolValue;
        break;
      case VarintTag(3):
        read = in.Varint(&varint);
        kind = V::kIntValue;
        break;
      case Fixed64Tag(4):
        read = in.Double(&number);
        kind = V::kDoubleValue;
        break;
      case LenTag(5):
      case LenTag(6):
        read = in.Message(&field);
        nested = true;
        break;
      case LenTag(7):
        read = in.Bytes(&text);
        kind = V::kBytesValue;
        break;
      case VarintTag(8):
        read = in.Varint(&varint);
        kind = V::kStringValueStrindex;
        break;
      default:
        read = in.Skip(tag);
    }
    if (!read) break;
  }
  if (!in.ok()) return Malformed(signal_);
  if (nested) {
    // Arrays and kvlists (rarer): through the message, for the CBOR encoder.
    any_value_.Clear();
    if (!MergeMessage(bytes, budget, &any_value_)) return Malformed(signal_);
    return out->Append(any_value_);
  }
  switch (kind) {
    case V::kStringValue:
      return out->AppendStr(text);
    case V::kBoolValue:
      return out->AppendBool(varint != 0);
    case V::kIntValue:
      return out->AppendInt(static_cast<int64_t>(varint));
    case V::kDoubleValue:
      return out->AppendDouble(number);
    case V::kBytesValue:
      return out->AppendBytes(text);
    case V::kStringValueStrindex:
      return Status::Invalid("string_value_strindex is only meaningful in OTLP profiles");
    default:
      return out->AppendEmpty();
  }
}

}  // namespace otap_parquet::otlp::internal::wire
