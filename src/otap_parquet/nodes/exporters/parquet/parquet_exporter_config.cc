// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/parquet/parquet_exporter_config.h"

#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace otap_parquet::dataset {

PartitioningOptions ReadPartitioning(config::ConfigReader& reader, std::string_view key) {
  PartitioningOptions out;
  // `_part_id` is always the innermost level (see PartitioningOptions); upstream's
  // form is accepted and an empty list means `_part_id` only.
  bool part_id_given = false;
  for (config::ConfigReader& item : reader.Items(key)) {
    if (item.node().IsMap() && item.node().size() != 1) {
      item.Error("",
                 "each strategy has exactly one key (schema_metadata, event_time or "
                 "resource_attribute)");
    }
    if (item.Has("resource_attribute")) {
      const std::string value = item.String("resource_attribute").value_or("");
      if (!out.resource_attribute.empty()) {
        item.Error("resource_attribute",
                   "resource_attribute given twice (one level per dataset)");
      } else if (value.empty()) {
        item.Error("resource_attribute",
                   "expected an attribute key, e.g. service.name or tenant.id");
      } else if (out.event_time) {
        item.Error("resource_attribute",
                   "must come before event_time (its level is the outer one)");
      } else {
        out.resource_attribute = value;
      }
    }
    if (item.Has("schema_metadata")) {
      const YAML::Node keys = item.Raw("schema_metadata");
      if (!keys.IsSequence()) {
        item.Error("schema_metadata",
                   "expected a list of schema metadata keys, e.g. [\"_part_id\"]");
      } else {
        for (size_t k = 0; k < keys.size(); ++k) {
          const std::string at = fmt::format("schema_metadata[{}]", k);
          const std::string name = keys[k].IsScalar() ? keys[k].Scalar() : "";
          if (name != "_part_id") {
            item.Error(at,
                       fmt::format("unsupported key '{}'; only \"_part_id\" is written "
                                   "to the schema metadata",
                                   name));
          } else if (part_id_given) {
            item.Error(at, "\"_part_id\" given twice");
          } else {
            part_id_given = true;
          }
        }
      }
    }
    if (item.Has("event_time")) {
      if (out.event_time) {
        item.Error("event_time", "event_time given twice");
        item.Ignore("event_time");
      } else {
        out.event_time = item.Enum<TimeGranularity>(
            "event_time",
            {{"hour", TimeGranularity::kHour}, {"day", TimeGranularity::kDay}});
      }
    }
    item.Finish();
  }
  return out;
}

ParquetExporterConfig ParquetExporterConfig::Read(config::ConfigReader& reader) {
  ParquetExporterConfig c;
  if (reader.Has("storage")) {
    config::ConfigReader storage = reader.Child("storage");
    c.storage = StorageConfig::Read(storage);
    storage.Finish();
  } else {
    reader.Error("storage", "required (one of file, s3, gcs, azure)");
  }
  c.partitioning = ReadPartitioning(reader, "partitioning_strategies");
  {
    config::ConfigReader writer = reader.Child("writer_options");
    c.writer_options = WriterOptions::Read(writer);
    writer.Finish();
  }
  if (reader.Has("retry")) {
    config::ConfigReader retry = reader.Child("retry");
    c.storage.retry = RetryConfig::Read(retry);
    retry.Finish();
    if (c.storage.kind == StorageKind::kFile && reader.Has("storage")) {
      spdlog::warn("exporter.parquet.config retry ignored for file storage path={}",
                   retry.path());
    }
  }
  return c;
}

}  // namespace otap_parquet::dataset
