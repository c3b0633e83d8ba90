// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/config/config_reader.h"

#include <string>
#include <utility>
#include <vector>

#include "otap_parquet/config/strict_yaml.h"
#include "otap_parquet/dataset/writer_options.h"
#include "otap_parquet/nodes/exporters/parquet/parquet_exporter_config.h"
#include "otap_parquet/storage/storage.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

enum class Color { kRed, kGreen, kBlue };

const EnumNames<Color> kColors = {
    {"red", Color::kRed}, {"green", Color::kGreen}, {"blue", Color::kBlue}};

std::vector<std::string> Messages(const ConfigErrors& errors) {
  std::vector<std::string> out;
  for (const auto& error : errors.errors()) out.push_back(error.ToString());
  return out;
}

// What every null refused at its key says.
constexpr char kNotNull[] = "must not be null (omit the key to use the default)";

// A settings struct read by T::Read from `yaml` at `path`, and the errors recorded
// (Finish() included: unknown keys too).
template <typename T>
std::pair<T, std::vector<std::string>> ReadSettings(const std::string& yaml,
                                                    const std::string& path) {
  ConfigErrors errors;
  ConfigReader reader(YAML::Load(yaml), path, &errors);
  T value = T::Read(reader);
  reader.Finish();
  return {std::move(value), Messages(errors)};
}

// Scenario: an enum key present, absent, misspelt and of the wrong type.
// Guarantees: Enum returns the value of the name; absent keeps the fallback
// without an error; a typo lists the names and suggests the nearest, at the key's
// path and line; a mapping is refused as not a string.
TEST(ConfigReaderTest, EnumReadsNamesAsValues) {
  ConfigErrors errors;
  ConfigReader reader(YAML::Load("a: green\nb: gren\nc: {x: 1}\n"), "n", &errors);
  EXPECT_EQ(reader.Enum<Color>("a", kColors), Color::kGreen);
  EXPECT_EQ(reader.Enum("absent", kColors, Color::kBlue), Color::kBlue);
  EXPECT_EQ(reader.Enum("b", kColors, Color::kRed), Color::kRed);
  EXPECT_FALSE(reader.Enum<Color>("c", kColors).has_value());
  reader.Finish();
  EXPECT_THAT(Messages(errors),
              ElementsAre("n.b (line 2): must be one of red, green, blue, got \"gren\"; "
                          "did you mean \"green\"?",
                          "n.c (line 3): expected a string, got <map>"));
}

// Scenario: enum lists as a list, as a lone name, absent, and with bad items.
// Guarantees: EnumList returns the values in order; a lone name is a one-element
// list; each bad item is an error at its own path and line naming the value and
// the allowed names; a list with a bad item reads as nullopt.
TEST(ConfigReaderTest, EnumListReadsEachItem) {
  ConfigErrors errors;
  ConfigReader reader(
      YAML::Load("a: [blue, red]\nb: green\nc:\n  - red\n  - purple\n  - gren\n"
                 "d: {x: 1}\ne: []\n"),
      "n", &errors);
  EXPECT_THAT(*reader.EnumList<Color>("a", kColors),
              ElementsAre(Color::kBlue, Color::kRed));
  EXPECT_THAT(*reader.EnumList<Color>("b", kColors), ElementsAre(Color::kGreen));
  EXPECT_FALSE(reader.EnumList<Color>("absent", kColors).has_value());
  EXPECT_FALSE(reader.EnumList<Color>("c", kColors).has_value());
  EXPECT_FALSE(reader.EnumList<Color>("d", kColors).has_value());
  EXPECT_TRUE(reader.EnumList<Color>("e", kColors)->empty());
  reader.Finish();
  EXPECT_THAT(
      Messages(errors),
      ElementsAre("n.c[1] (line 5): must be one of red, green, blue, got \"purple\"",
                  "n.c[2] (line 6): must be one of red, green, blue, got \"gren\"; "
                  "did you mean \"green\"?",
                  "n.d (line 7): expected a list of strings, got a mapping"));
}

// Scenario: an optional block present, null and absent.
// Guarantees: Block reads a present one with T::Read and reports its unknown keys;
// null and absent are nullopt without an error.
TEST(ConfigReaderTest, BlockReadsOptionalStructs) {
  struct Point {
    int64_t x = 0;
    static Point Read(ConfigReader& reader) {
      Point p;
      if (auto v = reader.Int("x")) p.x = *v;
      return p;
    }
  };
  ConfigErrors errors;
  ConfigReader reader(YAML::Load("a: {x: 3, y: 4}\nb: null\n"), "n", &errors);
  auto a = reader.Block<Point>("a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->x, 3);
  EXPECT_FALSE(reader.Block<Point>("b").has_value());
  EXPECT_FALSE(reader.Block<Point>("absent").has_value());
  reader.Finish();
  EXPECT_THAT(Messages(errors),
              ElementsAre("n.a.y (line 1): unknown key; did you mean \"x\"?"));
}

// Scenario: `key:` and `key: ~` for typed getters, with and without AllowNull().
// Guarantees: a null is an error naming the key and its line (upstream's serde
// refuses null for a non-Option field; it silently fell back to the default); a
// key declared nullable reads as unset; a null block reads as absent.
TEST(ConfigReaderTest, NullValueIsAnErrorUnlessAllowed) {
  ConfigErrors errors;
  ConfigReader reader(YAML::Load("batch_size:\nname: ~\nlimit: null\n"
                                 "tags: ~\nflag: ~\nratio: ~\nblock: ~\n"),
                      "n", &errors);
  reader.AllowNull({"limit"});
  EXPECT_FALSE(reader.Int("batch_size").has_value());
  EXPECT_FALSE(reader.String("name").has_value());
  EXPECT_FALSE(reader.Int("limit").has_value());
  EXPECT_TRUE(reader.IsNull("limit"));
  EXPECT_FALSE(reader.StringList("tags").has_value());
  EXPECT_FALSE(reader.Bool("flag").has_value());
  EXPECT_FALSE(reader.Double("ratio").has_value());
  EXPECT_FALSE(reader.Has("block"));
  EXPECT_FALSE(reader.IsNull("absent"));
  reader.Finish();
  const std::string why = kNotNull;
  EXPECT_THAT(Messages(errors),
              ElementsAre("n.batch_size (line 1): " + why, "n.name (line 2): " + why,
                          "n.tags (line 4): " + why, "n.flag (line 5): " + why,
                          "n.ratio (line 6): " + why));
}

// Scenario: a key with accepted values and no effect, valid and invalid.
// Guarantees: Accept reports the same error as Enum and marks the key known.
TEST(ConfigReaderTest, AcceptChecksWithoutValue) {
  ConfigErrors errors;
  ConfigReader reader(YAML::Load("type: otap\nmode: otpl\n"), "p", &errors);
  reader.Accept("type", {"otap", "otlp"});
  reader.Accept("mode", {"otap", "otlp"});
  reader.Finish();
  EXPECT_THAT(Messages(errors),
              ElementsAre("p.mode (line 2): must be one of otap, "
                          "otlp, got \"otpl\"; did you mean \"otap\"?"));
}

// Scenario: errors at paths below the reader's mapping.
// Guarantees: the line is that of the deepest existing part of the path (a nested
// key, a list item); a missing part falls back to its parent's line.
TEST(ConfigReaderTest, ErrorAtNestedPathHasItsLine) {
  ConfigErrors errors;
  ConfigReader reader(YAML::Load("a: 1\ns3:\n  auth: x\ncols:\n  - k\n  - v\n"), "n",
                      &errors);
  reader.Error("s3.auth", "m1");
  reader.Error("cols[1]", "m2");
  reader.Error("s3.missing", "m3");
  reader.Error("cols[7]", "m4");
  EXPECT_THAT(Messages(errors),
              ElementsAre("n.s3.auth (line 3): m1", "n.cols[1] (line 6): m2",
                          "n.s3.missing (line 2): m3", "n.cols[7] (line 4): m4"));
}

// Scenario: a list of mappings, with a bad item and an unknown key in another.
// Guarantees: one reader per item with path `key[i]`; a non-list is an error.
TEST(ConfigReaderTest, ItemsReadsListsOfMappings) {
  ConfigErrors errors;
  ConfigReader reader(YAML::Load("l:\n  - {a: 1}\n  - 5\n  - {b: 2}\nm: {x: 1}\n"), "n",
                      &errors);
  auto items = reader.Items("l");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].Int("a"), 1);
  for (auto& item : items) {
    item.Int("a");
    item.Finish();
  }
  EXPECT_TRUE(reader.Items("m").empty());
  EXPECT_TRUE(reader.Items("absent").empty());
  EXPECT_THAT(Messages(errors),
              ElementsAre("n.l[1] (line 3): expected a mapping, got 5",
                          "n.l[2].b (line 4): unknown key; did you mean \"a\"?",
                          "n.m (line 5): expected a list, got <map>"));
}

// Scenario: numbers spelt as nan, inf, infinity, hex, or with trailing text.
// Guarantees: Double refuses each as not a number (strtod reads them, and NaN
// slipped through every range check written as `v < min`: `multiplier: nan` was
// accepted); plain decimals and exponents still read.
TEST(ConfigReaderTest, DoubleRefusesNonFiniteAndHex) {
  ConfigErrors errors;
  ConfigReader reader(YAML::Load("a: nan\nb: inf\nc: -Infinity\nd: 0x10\ne: 1.5x\n"
                                 "f: 2.5\ng: 1e-3\nh: 1e400\n"),
                      "n", &errors);
  for (const char* key : {"a", "b", "c", "d", "e", "h"}) {
    EXPECT_FALSE(reader.Double(key).has_value()) << key;
  }
  EXPECT_EQ(reader.Double("f"), 2.5);
  EXPECT_EQ(reader.Double("g"), 1e-3);
  reader.Finish();
  EXPECT_THAT(Messages(errors),
              ElementsAre("n.a (line 1): expected a number, got nan",
                          "n.b (line 2): expected a number, got inf",
                          "n.c (line 3): expected a number, got -Infinity",
                          "n.d (line 4): expected a number, got 0x10",
                          "n.e (line 5): expected a number, got 1.5x",
                          "n.h (line 8): expected a number, got 1e400"));
}

// Scenario: mappings with a key written twice (`verbosity: basic` then
// `verbosity: detailed`), at the top, nested in a list, and reached twice through
// an alias.
// Guarantees: one error per repeated key at its path and line, naming the first
// line (yaml-cpp keeps both entries and a lookup silently took the first); an
// aliased mapping is reported once.
TEST(ConfigReaderTest, ReportsDuplicateKeys) {
  ConfigErrors errors;
  ReportDuplicateKeys(YAML::Load("a: 1\nb: 2\na: 3\nl:\n  - {x: 1, x: 2}\n"
                                 "m: &m {y: 1, y: 1}\nn: *m\n"),
                      "n", &errors);
  EXPECT_THAT(Messages(errors),
              ElementsAre("n.a (line 3): duplicate key (first at line 1)",
                          "n.l[0].x (line 5): duplicate key (first at line 5)",
                          "n.m.y (line 6): duplicate key (first at line 6)"));
}

// Scenario: settings kept in milliseconds given a sub-millisecond duration
// (exporter:parquet's `flush_when_older_than: 500us`, the storage retry's
// `init_backoff: 10us`).
// Guarantees: an error at the key (truncated to 0 it silently turned the age
// flush off and made retries immediate); 0 and whole milliseconds read as given.
TEST(ConfigReaderTest, MillisRefusesWhatWouldTruncateToZero) {
  const auto [w, writer_errors] =
      ReadSettings<dataset::WriterOptions>("flush_when_older_than: 500us\n", "w");
  EXPECT_THAT(writer_errors,
              ElementsAre("w.flush_when_older_than (line 1): must be 0 or at least 1ms "
                          "(whole milliseconds), got \"500us\""));
  const auto [r, retry_errors] =
      ReadSettings<dataset::RetryConfig>("init_backoff: 10us\nmax_backoff: 2s\n", "r");
  EXPECT_EQ(r.max_backoff, std::chrono::milliseconds(2000));
  EXPECT_THAT(retry_errors,
              ElementsAre("r.init_backoff (line 1): must be 0 or at least 1ms (whole "
                          "milliseconds), got \"10us\""));
  ConfigErrors ok_errors;
  ConfigReader ok(YAML::Load("a: 0s\nb: 1500us\n"), "n", &ok_errors);
  EXPECT_EQ(ReadMillis(ok, "a"), std::chrono::milliseconds(0));
  EXPECT_EQ(ReadMillis(ok, "b"), std::chrono::milliseconds(1));
  EXPECT_TRUE(ok_errors.empty());
}

// Scenario: settings structs read from a block with bad input (RetryConfig,
// WriterOptions, the parquet exporter's whole config).
// Guarantees: each error is recorded at the key that holds the value, with its
// line; values read before the error are kept.
TEST(ConfigReaderTest, SettingsStructsReadAndCheckThemselves) {
  const auto [r, retry_errors] = ReadSettings<dataset::RetryConfig>(
      "max_retries: -1\ninit_backoff: 2s\nmax_backoff: 1s\nbackoff_base: 3\n", "x.retry");
  EXPECT_EQ(r.backoff_base, 3.0);
  EXPECT_THAT(retry_errors,
              ElementsAre("x.retry.max_retries (line 1): must be >= 0, got -1",
                          "x.retry.max_backoff (line 3): must be >= init_backoff "
                          "(2000ms), got 1000ms"));

  const auto [w, writer_errors] = ReadSettings<dataset::WriterOptions>(
      "compression: snappy\nbloom_filter_columns: [a, \"\"]\n"
      "bloom_filter_fpp: 2\ndictionary: maybe\n",
      "w");
  EXPECT_EQ(w.compression, dataset::Compression::kSnappy);
  EXPECT_THAT(writer_errors,
              ElementsAre("w.dictionary (line 4): expected true or false, got maybe",
                          "w.bloom_filter_columns[1] (line 2): must not be empty",
                          "w.bloom_filter_fpp (line 3): must be in (0, 1), got 2"));

  auto parsed = ParseTyped<dataset::ParquetExporterConfig>(
      YAML::Load("storage: {s3: {base_uri: s3://b/p}}\nretry: {max_retris: 3}\n"
                 "partitioning_strategies: [{event_time: hour, schema_metadata: []}]\n"),
      "nodes.pq.config");
  EXPECT_RAISES_WITH_MESSAGE_THAT(
      Invalid,
      ::testing::AllOf(
          HasSubstr("invalid configuration (2 errors)"),
          HasSubstr("nodes.pq.config.retry.max_retris (line 2): unknown key; "
                    "did you mean \"max_retries\"?"),
          HasSubstr("nodes.pq.config.partitioning_strategies[0] (line 3): "
                    "each strategy has exactly one key")),
      parsed.status());
}

// Scenario: writer options whose null upstream means "no such rule", and one whose
// null is not allowed.
// Guarantees: null target_rows_per_file and flush_when_older_than turn the rule off
// (0), as upstream's Option; a null compression is an error at its key.
TEST(ConfigReaderTest, WriterOptionsNullTurnsOptionalRulesOff) {
  const auto [w, errors] = ReadSettings<dataset::WriterOptions>(
      "target_rows_per_file: ~\nflush_when_older_than:\ncompression: ~\n", "w");
  EXPECT_EQ(w.target_rows_per_file, 0);
  EXPECT_EQ(w.flush_when_older_than.count(), 0);
  EXPECT_THAT(errors, ElementsAre(std::string("w.compression (line 3): ") + kNotNull));
}

}  // namespace
}  // namespace otap_parquet::config
