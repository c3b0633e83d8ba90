// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cbor/any_value_cbor.h"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <arrow/testing/gtest_util.h>
#include <gmock/gmock.h>
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

namespace otap_parquet::cbor {
namespace {

namespace common = pb_common;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// ---- helpers ---------------------------------------------------------------------

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

std::string FromHex(std::string_view hex) {
  std::string s;
  int nibbles = 0, acc = 0;
  for (char c : hex) {
    if (c == ' ') continue;
    acc = acc * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
    if (++nibbles == 2) {
      s.push_back(static_cast<char>(acc));
      nibbles = acc = 0;
    }
  }
  return s;
}

std::string Hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

common::AnyValue Str(std::string v) {
  common::AnyValue a;
  a.set_string_value(std::move(v));
  return a;
}
common::AnyValue Int(int64_t v) {
  common::AnyValue a;
  a.set_int_value(v);
  return a;
}
common::AnyValue Dbl(double v) {
  common::AnyValue a;
  a.set_double_value(v);
  return a;
}
common::AnyValue Bool(bool v) {
  common::AnyValue a;
  a.set_bool_value(v);
  return a;
}
common::AnyValue Bin(std::string v) {
  common::AnyValue a;
  a.set_bytes_value(std::move(v));
  return a;
}
common::AnyValue Empty() { return {}; }
common::AnyValue Map(std::vector<std::pair<std::string, common::AnyValue>> entries) {
  common::AnyValue a;
  auto* kvlist = a.mutable_kvlist_value();
  for (auto& [key, value] : entries) {
    auto* kv = kvlist->add_values();
    kv->set_key(key);
    *kv->mutable_value() = std::move(value);
  }
  return a;
}
common::AnyValue Arr(std::vector<common::AnyValue> values) {
  common::AnyValue a;
  auto* array = a.mutable_array_value();
  for (auto& value : values) *array->add_values() = std::move(value);
  return a;
}

arrow::Result<std::string> Encode(const common::AnyValue& value) {
  std::string out;
  ARROW_RETURN_NOT_OK(EncodeAnyValue(value, &out));
  return out;
}

arrow::Result<common::AnyValue> Decode(std::string_view cbor) {
  common::AnyValue out;
  ARROW_RETURN_NOT_OK(DecodeAnyValue(cbor, &out));
  return out;
}

// Structural equality; NaN equals NaN (the encoding does not keep NaN payloads).
::testing::AssertionResult Same(const common::AnyValue& expected,
                                const common::AnyValue& actual) {
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  std::string diff;
  differencer.ReportDifferencesToString(&diff);
  if (differencer.Compare(expected, actual)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << diff << "expected: " << expected.DebugString()
                                       << "actual: " << actual.DebugString();
}

std::string EncodeOrDie(const common::AnyValue& value) {
  auto result = Encode(value);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : std::string();
}

// One value of every kind, nested three levels deep.
common::AnyValue EveryKind() {
  return Map({
      {"str", Str("héllo 日本")},
      {"empty_str", Str("")},
      {"int", Int(-1234567890123)},
      {"dbl", Dbl(0.1)},
      {"half", Dbl(1.5)},
      {"single", Dbl(100000.0)},
      {"true", Bool(true)},
      {"false", Bool(false)},
      {"bytes", Bin(Bytes({0, 1, 0xff}))},
      {"empty_bytes", Bin("")},
      {"nothing", Empty()},
      {"", Int(0)},
      {"empty_map", Map({})},
      {"empty_arr", Arr({})},
      {"arr", Arr({Int(1), Str("x"), Empty(), Dbl(-0.0), Bin("z"),
                   Arr({Bool(false), Map({{"deep", Arr({Int(INT64_MIN)})}})})})},
      {"map", Map({{"k", Map({{"kk", Dbl(1e300)}, {"nan", Dbl(NAN)}})}})},
  });
}

common::AnyValue RandomValue(std::mt19937_64& rng, int depth) {
  const int kinds = depth >= 4 ? 7 : 9;
  switch (std::uniform_int_distribution<int>(0, kinds - 1)(rng)) {
    case 0: {
      static const char* kPieces[] = {"a", "Z", " ", "é", "日", "🚀", "\\", "\""};
      std::string s;
      for (int n = static_cast<int>(rng() % 6); n > 0; --n) s += kPieces[rng() % 8];
      return Str(s);
    }
    case 1:
      return Bool(rng() % 2 == 0);
    case 2: {
      // Every head width, both signs.
      const int shift = static_cast<int>(rng() % 64);
      auto v = static_cast<int64_t>(rng() >> shift);
      return Int(rng() % 2 ? v : -v - 1);
    }
    case 3: {
      static const double kSpecial[] = {
          0.0,     -0.0,      1.0,     0.5,     65504.0,  65505.0,  5.960464477539063e-8,
          FLT_MAX, FLT_MIN,   DBL_MAX, DBL_MIN, 4.9e-324, INFINITY, -INFINITY,
          NAN,     1.0 / 3.0, 100000.0};
      if (rng() % 2) return Dbl(kSpecial[rng() % std::size(kSpecial)]);
      uint64_t bits = rng();
      double d;
      std::memcpy(&d, &bits, sizeof(d));
      return Dbl(d);
    }
    case 4: {
      std::string s;
      for (int n = static_cast<int>(rng() % 5); n > 0; --n) {
        s.push_back(static_cast<char>(rng()));
      }
      return Bin(s);
    }
    case 5:
    case 6:
      return Empty();
    case 7: {
      std::vector<common::AnyValue> values;
      for (int n = static_cast<int>(rng() % 5); n > 0; --n) {
        values.push_back(RandomValue(rng, depth + 1));
      }
      return Arr(std::move(values));
    }
    default: {
      std::vector<std::pair<std::string, common::AnyValue>> entries;
      for (int n = static_cast<int>(rng() % 5); n > 0; --n) {
        entries.emplace_back(std::string(rng() % 3, 'k'), RandomValue(rng, depth + 1));
      }
      return Map(std::move(entries));
    }
  }
}

common::AnyValue NestedArrays(int depth) {
  common::AnyValue v = Int(0);
  for (int i = 0; i < depth; ++i) v = Arr({std::move(v)});
  return v;
}

// ---- encoding --------------------------------------------------------------------

// Scenario: small values of every kind are encoded.
// Guarantees: the bytes are those serde_cbor (upstream Rust) writes: indefinite-length
// maps and arrays, definite strings, shortest integer heads, null for empty.
TEST(CborEncodeTest, ExactBytesForSmallInputs) {
  const std::vector<std::pair<common::AnyValue, std::string>> cases = {
      {Map({{"a", Int(1)}}), "bf 61 61 01 ff"},
      {Map({}), "bf ff"},
      {Arr({}), "9f ff"},
      {Arr({Int(1), Str("x")}), "9f 01 61 78 ff"},
      {Arr({Arr({}), Map({{"", Empty()}})}), "9f 9f ff bf 60 f6 ff ff"},
      {Int(-1), "20"},
      {Int(0), "00"},
      {Int(23), "17"},
      {Int(24), "18 18"},
      {Int(255), "18 ff"},
      {Int(256), "19 01 00"},
      {Int(65536), "1a 00 01 00 00"},
      {Int(4294967296), "1b 00 00 00 01 00 00 00 00"},
      {Int(INT64_MAX), "1b 7f ff ff ff ff ff ff ff"},
      {Int(-24), "37"},
      {Int(-25), "38 18"},
      {Int(-257), "39 01 00"},
      {Int(INT64_MIN), "3b 7f ff ff ff ff ff ff ff"},
      {Str(""), "60"},
      {Str("abc"), "63 61 62 63"},
      {Str("é"), "62 c3 a9"},
      {Bin(""), "40"},
      {Bin(Bytes({1, 2})), "42 01 02"},
      {Bool(true), "f5"},
      {Bool(false), "f4"},
      {Empty(), "f6"},
  };
  for (const auto& [value, hex] : cases) {
    EXPECT_EQ(Hex(EncodeOrDie(value)), hex) << value.DebugString();
  }
}

// Scenario: doubles that fit a half, a single or only a double, and non-finite ones.
// Guarantees: the shortest width that holds the value exactly, as serde_cbor's
// serialize_f64; NaN (any payload) is f9 7e 00; -0.0 keeps its sign.
TEST(CborEncodeTest, FloatsUseShortestExactWidth) {
  double nan_with_payload;
  const uint64_t nan_bits = 0xfff8000000000123ULL;
  std::memcpy(&nan_with_payload, &nan_bits, sizeof(nan_bits));
  const std::vector<std::pair<double, std::string>> cases = {
      {1.5, "f9 3e 00"},
      {0.0, "f9 00 00"},
      {-0.0, "f9 80 00"},
      {1.0, "f9 3c 00"},
      {-4.0, "f9 c4 00"},
      {65504.0, "f9 7b ff"},
      {5.960464477539063e-8, "f9 00 01"},   // smallest half subnormal
      {0.00006103515625, "f9 04 00"},       // smallest half normal
      {6.097555160522461e-05, "f9 03 ff"},  // largest half subnormal
      {100000.0, "fa 47 c3 50 00"},
      {65505.0, "fa 47 7f e1 00"},
      {FLT_MAX, "fa 7f 7f ff ff"},
      {std::ldexp(1.0, -25), "fa 33 00 00 00"},   // below the half range
      {std::ldexp(1.0, -149), "fa 00 00 00 01"},  // smallest single subnormal
      {0.1, "fb 3f b9 99 99 99 99 99 9a"},
      {1e300, "fb 7e 37 e4 3c 88 00 75 9c"},
      {-4.1, "fb c0 10 66 66 66 66 66 66"},
      {DBL_MAX, "fb 7f ef ff ff ff ff ff ff"},
      {4.9e-324, "fb 00 00 00 00 00 00 00 01"},
      {std::ldexp(1.0, 128), "fb 47 f0 00 00 00 00 00 00"},  // just above FLT_MAX
      {INFINITY, "f9 7c 00"},
      {-INFINITY, "f9 fc 00"},
      {NAN, "f9 7e 00"},
      {-NAN, "f9 7e 00"},
      {nan_with_payload, "f9 7e 00"},
  };
  for (const auto& [value, hex] : cases) {
    EXPECT_EQ(Hex(EncodeOrDie(Dbl(value))), hex) << value;
  }
}

// Scenario: a KeyValue whose value field is absent, and the convenience entry points.
// Guarantees: the absent value is written as null; EncodeKeyValueList/EncodeArray write
// the same bytes as EncodeAnyValue on the wrapping AnyValue.
TEST(CborEncodeTest, KeyValueWithoutValueAndConvenienceEntryPoints) {
  common::KeyValueList kvlist;
  kvlist.add_values()->set_key("a");
  std::string out;
  ASSERT_OK(EncodeKeyValueList(kvlist, &out));
  EXPECT_EQ(Hex(out), "bf 61 61 f6 ff");

  common::AnyValue map = EveryKind();
  std::string via_list;
  ASSERT_OK(EncodeKeyValueList(map.kvlist_value(), &via_list));
  EXPECT_EQ(via_list, EncodeOrDie(map));

  common::AnyValue array = Arr({Int(1), map});
  std::string via_array;
  ASSERT_OK(EncodeArray(array.array_value(), &via_array));
  EXPECT_EQ(via_array, EncodeOrDie(array));
}

// Scenario: encoding into a buffer that already holds bytes, then failing encodes
// (invalid UTF-8 in a value or key, a profiles string_value_strindex).
// Guarantees: output is appended; a failed encode leaves the buffer as it was.
TEST(CborEncodeTest, AppendsAndRestoresOnError) {
  std::string out = "xy";
  ASSERT_OK(EncodeAnyValue(Int(1), &out));
  EXPECT_EQ(out, "xy\x01");

  const std::string bad_utf8 = Bytes({'a', 0xff});
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("not valid UTF-8"),
                                  EncodeAnyValue(Arr({Int(7), Str(bad_utf8)}), &out));
  EXPECT_EQ(out, "xy\x01");
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("map key is not valid UTF-8"),
                                  EncodeAnyValue(Map({{bad_utf8, Int(1)}}), &out));
  EXPECT_EQ(out, "xy\x01");
  common::AnyValue strindex;
  strindex.set_string_value_strindex(3);
  EXPECT_RAISES_WITH_MESSAGE_THAT(NotImplemented, HasSubstr("string_value_strindex"),
                                  EncodeAnyValue(Map({{"k", strindex}}), &out));
  EXPECT_EQ(out, "xy\x01");
}

// Scenario: arrays nested exactly to the limit and one past it.
// Guarantees: the encoder never writes what the decoder would refuse.
TEST(CborEncodeTest, NestingDepthIsBounded) {
  ASSERT_OK_AND_ASSIGN(auto cbor, Encode(NestedArrays(kMaxNestingDepth)));
  ASSERT_OK_AND_ASSIGN(auto back, Decode(cbor));
  EXPECT_TRUE(Same(NestedArrays(kMaxNestingDepth), back));
  std::string out;
  EXPECT_RAISES_WITH_MESSAGE_THAT(
      Invalid, HasSubstr("deeper than 64"),
      EncodeAnyValue(NestedArrays(kMaxNestingDepth + 1), &out));
  EXPECT_TRUE(out.empty());
}

// ---- round trips -----------------------------------------------------------------

// Scenario: a map holding every kind of value, nested, and each kind at top level.
// Guarantees: Decode(Encode(v)) == v.
TEST(CborRoundTripTest, NestedValuesOfEveryKind) {
  const common::AnyValue value = EveryKind();
  ASSERT_OK_AND_ASSIGN(auto cbor, Encode(value));
  ASSERT_OK_AND_ASSIGN(auto back, Decode(cbor));
  EXPECT_TRUE(Same(value, back));
  // -0.0 keeps its sign (MessageDifferencer compares with ==).
  const auto& arr = back.kvlist_value().values(14).value().array_value();
  EXPECT_TRUE(std::signbit(arr.values(3).double_value()));

  for (const auto& kv : value.kvlist_value().values()) {
    ASSERT_OK_AND_ASSIGN(auto one, Encode(kv.value()));
    ASSERT_OK_AND_ASSIGN(auto one_back, Decode(one));
    EXPECT_TRUE(Same(kv.value(), one_back)) << kv.key();
  }
}

// Scenario: a KeyValue without a value field.
// Guarantees: it decodes with an empty AnyValue as its value (as upstream's reader),
// the only normalization besides NaN payloads.
TEST(CborRoundTripTest, KeyValueWithoutValueGetsEmptyValue) {
  common::AnyValue value;
  value.mutable_kvlist_value()->add_values()->set_key("a");
  ASSERT_OK_AND_ASSIGN(auto back, Decode(EncodeOrDie(value)));
  ASSERT_EQ(back.kvlist_value().values_size(), 1);
  EXPECT_EQ(back.kvlist_value().values(0).key(), "a");
  EXPECT_TRUE(back.kvlist_value().values(0).has_value());
  EXPECT_EQ(back.kvlist_value().values(0).value().value_case(),
            common::AnyValue::VALUE_NOT_SET);
}

// Scenario: 3000 random values (fixed seed): every kind, random doubles and integers
// of every width, random nesting.
// Guarantees: lossless round trip; the encoding is stable (re-encoding gives the same
// bytes).
TEST(CborRoundTripTest, RandomValues) {
  std::mt19937_64 rng(20240917);
  for (int i = 0; i < 3000; ++i) {
    const common::AnyValue value = RandomValue(rng, 0);
    ASSERT_OK_AND_ASSIGN(auto cbor, Encode(value));
    ASSERT_OK_AND_ASSIGN(auto back, Decode(cbor));
    ASSERT_TRUE(Same(value, back)) << Hex(cbor);
    ASSERT_EQ(EncodeOrDie(back), cbor);
  }
}

// ---- decoding --------------------------------------------------------------------

// Scenario: definite-length maps and arrays with sorted keys, as Go's encoder writes.
// Guarantees: they decode to the same AnyValue as the indefinite-length form.
TEST(CborDecodeTest, DefiniteLengthInput) {
  // {"a": 1, "b": [true, false, null], "c": {}, "d": []}
  ASSERT_OK_AND_ASSIGN(
      auto value, Decode(FromHex("a4 61 61 01 61 62 83 f5 f4 f6 61 63 a0 61 64 80")));
  EXPECT_TRUE(Same(Map({{"a", Int(1)},
                        {"b", Arr({Bool(true), Bool(false), Empty()})},
                        {"c", Map({})},
                        {"d", Arr({})}}),
                   value));
  // Definite inside indefinite and the other way round.
  ASSERT_OK_AND_ASSIGN(value, Decode(FromHex("9f a1 61 78 82 01 9f 02 ff ff")));
  EXPECT_TRUE(Same(Arr({Map({{"x", Arr({Int(1), Arr({Int(2)})})}})}), value));
  // Longer heads for lengths and integers than necessary are still accepted.
  ASSERT_OK_AND_ASSIGN(value,
                       Decode(FromHex("b9 00 01 78 01 61 1b 00 00 00 00 00 00 00 05")));
  EXPECT_TRUE(Same(Map({{"a", Int(5)}}), value));
}

// Scenario: indefinite-length (chunked) text and byte strings, also as a map key.
// Guarantees: chunks are concatenated; an empty chunk list gives an empty string.
TEST(CborDecodeTest, ChunkedStrings) {
  ASSERT_OK_AND_ASSIGN(auto value, Decode(FromHex("7f 62 61 62 60 61 63 ff")));
  EXPECT_TRUE(Same(Str("abc"), value));
  ASSERT_OK_AND_ASSIGN(value, Decode(FromHex("5f 41 01 42 02 03 ff")));
  EXPECT_TRUE(Same(Bin(Bytes({1, 2, 3})), value));
  ASSERT_OK_AND_ASSIGN(value, Decode(FromHex("7f ff")));
  EXPECT_TRUE(Same(Str(""), value));
  ASSERT_OK_AND_ASSIGN(value, Decode(FromHex("5f ff")));
  EXPECT_TRUE(Same(Bin(""), value));
  ASSERT_OK_AND_ASSIGN(value, Decode(FromHex("bf 7f 61 6b 61 6b ff 5f 41 00 ff ff")));
  EXPECT_TRUE(Same(Map({{"kk", Bin(Bytes({0}))}}), value));
}

// Scenario: floats of each width, including subnormals and non-finite values.
// Guarantees: all decode to double_value with the exact value.
TEST(CborDecodeTest, HalfSingleAndDoubleFloats) {
  const std::vector<std::pair<std::string, double>> cases = {
      {"f9 3c 00", 1.0},
      {"f9 3e 00", 1.5},
      {"f9 00 01", 5.960464477539063e-8},
      {"f9 03 ff", 6.097555160522461e-05},
      {"f9 7b ff", 65504.0},
      {"f9 c4 00", -4.0},
      {"f9 7c 00", INFINITY},
      {"f9 fc 00", -INFINITY},
      {"fa 47 c3 50 00", 100000.0},
      {"fa 3f 80 00 00", 1.0},
      {"fa 00 00 00 01", std::ldexp(1.0, -149)},
      {"fa 7f 80 00 00", INFINITY},
      {"fb 3f b9 99 99 99 99 99 9a", 0.1},
      {"fb 00 00 00 00 00 00 00 01", 4.9e-324},
  };
  for (const auto& [hex, expected] : cases) {
    ASSERT_OK_AND_ASSIGN(auto value, Decode(FromHex(hex)));
    ASSERT_EQ(value.value_case(), common::AnyValue::kDoubleValue) << hex;
    EXPECT_EQ(value.double_value(), expected) << hex;
  }
  for (const char* hex : {"f9 7e 00", "fa 7f c0 00 00", "fb 7f f8 00 00 00 00 00 00"}) {
    ASSERT_OK_AND_ASSIGN(auto value, Decode(FromHex(hex)));
    EXPECT_TRUE(std::isnan(value.double_value())) << hex;
  }
  ASSERT_OK_AND_ASSIGN(auto neg_zero, Decode(FromHex("f9 80 00")));
  EXPECT_TRUE(std::signbit(neg_zero.double_value()));
}

// Scenario: null and undefined as values and null as a map key.
// Guarantees: they give an empty AnyValue (map entries still carry a value) and an
// empty key, as upstream's Rust reader.
TEST(CborDecodeTest, NullUndefinedAndNullKey) {
  ASSERT_OK_AND_ASSIGN(auto value, Decode(FromHex("f6")));
  EXPECT_EQ(value.value_case(), common::AnyValue::VALUE_NOT_SET);
  ASSERT_OK_AND_ASSIGN(value, Decode(FromHex("f7")));
  EXPECT_EQ(value.value_case(), common::AnyValue::VALUE_NOT_SET);
  ASSERT_OK_AND_ASSIGN(value, Decode(FromHex("a2 f6 01 61 62 f7")));
  EXPECT_TRUE(Same(Map({{"", Int(1)}, {"b", Empty()}}), value));
  EXPECT_TRUE(value.kvlist_value().values(1).has_value());
}

// Scenario: integers at and just beyond the int64 range.
// Guarantees: INT64_MIN/MAX decode; anything beyond is Invalid, not wrapped.
TEST(CborDecodeTest, IntegerLimits) {
  ASSERT_OK_AND_ASSIGN(auto value, Decode(FromHex("1b 7f ff ff ff ff ff ff ff")));
  EXPECT_EQ(value.int_value(), INT64_MAX);
  ASSERT_OK_AND_ASSIGN(value, Decode(FromHex("3b 7f ff ff ff ff ff ff ff")));
  EXPECT_EQ(value.int_value(), INT64_MIN);
  ASSERT_OK_AND_ASSIGN(value, Decode(FromHex("38 ff")));
  EXPECT_EQ(value.int_value(), -256);
  EXPECT_RAISES_WITH_MESSAGE_THAT(
      Invalid, HasSubstr("integer 9223372036854775808 does not fit int64"),
      Decode(FromHex("1b 80 00 00 00 00 00 00 00")));
  EXPECT_RAISES_WITH_MESSAGE_THAT(
      Invalid, HasSubstr("integer -1-9223372036854775808 does not fit int64"),
      Decode(FromHex("9f 3b 80 00 00 00 00 00 00 00 ff")));
}

// Scenario: malformed, unsupported and ill-typed inputs.
// Guarantees: each is Invalid with a message that starts "invalid CBOR in ser:" and
// says what and where; the output is left empty.
TEST(CborDecodeTest, RejectsBadInput) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "truncated at byte 0 (empty input)"},
      {"bf 61 61 01", "truncated at byte 4 (1 unclosed"},
      {"bf 61", "truncated at byte 2 (item at byte 1 is incomplete)"},
      {"fb 3f b9", "truncated at byte 3"},
      {"5a ff ff ff ff", "truncated at byte 5"},
      {"7b ff ff ff ff ff ff ff ff 61", "truncated at byte 10"},
      {"9b ff ff ff ff ff ff ff ff 01", "truncated at byte 10"},
      {"1c", "malformed or unsupported item at byte 0 (initial byte 0x1c)"},
      {"9f 01 fe ff", "malformed or unsupported item at byte 2 (initial byte 0xfe)"},
      {"f8 20", "malformed or unsupported item at byte 0"},  // simple(32)
      {"e0", "malformed or unsupported item at byte 0"},     // simple(0)
      {"ff", "break (0xff) outside an indefinite-length item at byte 0"},
      {"82 01 ff", "break (0xff) inside a definite-length array at byte 2"},
      {"a1 61 61 ff", "break (0xff) inside a definite-length map at byte 3"},
      {"bf 61 61 ff", "map ends after a key without its value at byte 3"},
      {"c1 1a 51 4b 67 b0", "tag 1 is not supported at byte 0"},
      {"bf 61 61 d8 20 61 78 ff", "tag 32 is not supported at byte 3"},
      {"a1 01 02", "map key must be a text string, got a integer at byte 1"},
      {"bf 41 61 01 ff", "map key must be a text string, got a byte string at byte 1"},
      {"a1 80 01", "map key must be a text string, got a array at byte 1"},
      {"a1 f7 01", "map key must be a text string, got a undefined at byte 1"},
      {"a1 f5 01", "map key must be a text string, got a bool at byte 1"},
      {"01 00", "1 trailing byte(s) after the item, at byte 1"},
      {"bf ff bf ff", "2 trailing byte(s) after the item, at byte 2"},
      {"62 c3 28", "text string is not valid UTF-8 at byte 0"},
      {"7f 61 ff ff", "text string is not valid UTF-8 at byte 1"},
      {"7f 41 61 ff", "a byte string chunk inside an indefinite-length text string"},
      {"5f 61 61 ff", "a text string chunk inside an indefinite-length byte string"},
      {"7f 7f ff ff", "a text string inside an indefinite-length text string"},
      {"5f 01 ff", "a integer inside an indefinite-length byte string"},
  };
  for (const auto& [hex, message] : cases) {
    common::AnyValue out = Int(5);
    arrow::Status st = DecodeAnyValue(FromHex(hex), &out);
    EXPECT_TRUE(st.IsInvalid()) << hex << " -> " << st.ToString();
    EXPECT_THAT(st.message(), StartsWith("invalid CBOR in ser: ")) << hex;
    EXPECT_THAT(st.message(), HasSubstr(message)) << hex;
    EXPECT_EQ(out.value_case(), common::AnyValue::VALUE_NOT_SET) << hex;
  }
}

// Scenario: every strict prefix of a valid nested encoding.
// Guarantees: each is Invalid "truncated", never a crash or a partial success.
TEST(CborDecodeTest, EveryTruncationIsInvalid) {
  const std::string cbor = EncodeOrDie(EveryKind());
  for (size_t n = 0; n < cbor.size(); ++n) {
    auto result = Decode(std::string_view(cbor).substr(0, n));
    ASSERT_FALSE(result.ok()) << n;
    EXPECT_TRUE(result.status().IsInvalid());
    EXPECT_THAT(result.status().message(),
                HasSubstr("truncated at byte " + std::to_string(n)));
  }
  ASSERT_OK(Decode(cbor).status());
}

// Scenario: arrays/maps nested to the limit, one past it, and a hostile 100k-deep input.
// Guarantees: depth 64 decodes; deeper is Invalid "nesting deeper than 64" without
// recursion (no stack overflow).
TEST(CborDecodeTest, NestingDepthIsBounded) {
  auto nested = [](int depth, char open) {
    std::string s(depth, open);
    s.push_back(0x00);
    return s;
  };
  ASSERT_OK_AND_ASSIGN(auto value, Decode(nested(kMaxNestingDepth, '\x81')));
  EXPECT_TRUE(Same(NestedArrays(kMaxNestingDepth), value));
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("nesting deeper than 64 at byte 64"),
                                  Decode(nested(kMaxNestingDepth + 1, '\x81')));
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("nesting deeper than 64"),
                                  Decode(nested(100000, '\x9f')));
  std::string maps;
  for (int i = 0; i < 1000; ++i) maps += "\xbf\x61\x6b";
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("nesting deeper than 64"),
                                  Decode(maps));
}

// ---- fuzzing ---------------------------------------------------------------------

// Scenario: 20k inputs (fixed seed): random bytes, and valid encodings with random
// bytes overwritten, inserted or cut.
// Guarantees: decoding never crashes; it fails with "invalid CBOR in ser:" or yields a
// value that re-encodes and decodes to itself.
TEST(CborFuzzTest, RandomAndMutatedBytesNeverCrash) {
  std::mt19937_64 rng(7);
  std::vector<std::string> seeds;
  for (int i = 0; i < 50; ++i) seeds.push_back(EncodeOrDie(RandomValue(rng, 0)));
  seeds.push_back(EncodeOrDie(EveryKind()));
  int ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string input;
    if (i % 2 == 0) {
      input.resize(rng() % 48);
      for (char& c : input) c = static_cast<char>(rng());
    } else {
      input = seeds[rng() % seeds.size()];
      for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0 && !input.empty();
           --edits) {
        const size_t at = rng() % input.size();
        switch (rng() % 3) {
          case 0:
            input[at] = static_cast<char>(rng());
            break;
          case 1:
            input.insert(at, 1, static_cast<char>(rng()));
            break;
          default:
            input.resize(at);
            break;
        }
      }
    }
    common::AnyValue value;
    arrow::Status st = DecodeAnyValue(input, &value);
    if (!st.ok()) {
      ASSERT_TRUE(st.IsInvalid()) << st.ToString();
      ASSERT_THAT(st.message(), StartsWith("invalid CBOR in ser: "));
      continue;
    }
    ++ok;
    ASSERT_OK_AND_ASSIGN(auto again, Encode(value));
    ASSERT_OK_AND_ASSIGN(auto back, Decode(again));
    ASSERT_TRUE(Same(value, back)) << Hex(input);
  }
  EXPECT_GT(ok, 100);  // the mutations do reach the success paths too
}

}  // namespace
}  // namespace otap_parquet::cbor
