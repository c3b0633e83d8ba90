// SPDX-License-Identifier: Apache-2.0
// Writes OTLP logs into a Parquet dataset, replays it, lists its partitions and
// deletes them, with the installed otap_parquet package (docs/library.md).
//
//   dataset_roundtrip DATASET_DIR
//
// Exits 0 when every record came back with its attributes, 1 otherwise.

#include <chrono>
#include <iostream>
#include <string>

#include <arrow/filesystem/localfs.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/dataset/dataset_writer.h"
#include "otap_parquet/dataset/retention.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/version.h"

namespace op = otap_parquet;

namespace {

// An OTLP export request: one service, `n` log records with two attributes each.
op::otlp::LogsRequest MakeRequest(int n) {
  op::otlp::LogsRequest request;
  auto* resource_logs = request.add_resource_logs();
  auto* service = resource_logs->mutable_resource()->add_attributes();
  service->set_key("service.name");
  service->mutable_value()->set_string_value("checkout");
  auto* scope_logs = resource_logs->add_scope_logs();
  scope_logs->mutable_scope()->set_name("example");
  for (int i = 0; i < n; ++i) {
    auto* record = scope_logs->add_log_records();
    record->set_time_unix_nano(1'780'000'000'000'000'000LL + i);
    record->set_severity_text(i % 10 == 0 ? "ERROR" : "INFO");
    record->mutable_body()->set_string_value("order " + std::to_string(i));
    auto* order = record->add_attributes();
    order->set_key("order.id");
    order->mutable_value()->set_int_value(i);
    auto* route = record->add_attributes();
    route->set_key("http.route");
    route->mutable_value()->set_string_value(i % 2 ? "/pay" : "/cart");
  }
  return request;
}

arrow::Status Run(const std::string& dir) {
  auto fs = std::make_shared<arrow::fs::LocalFileSystem>();
  ARROW_RETURN_NOT_OK(fs->CreateDir(dir));
  const op::otlp::LogsRequest sent = MakeRequest(1000);

  // OTLP -> OTAP -> Parquet. Write()'s future completes once the rows are durable.
  op::dataset::DatasetWriterSettings settings;
  settings.filesystem = fs;
  settings.base_path = dir;
  ARROW_ASSIGN_OR_RAISE(auto writer, op::dataset::DatasetWriter::Make(
                                         op::dataset::WriterOptions{},
                                         op::dataset::PartitioningOptions{}, settings));
  ARROW_ASSIGN_OR_RAISE(auto batches, op::otlp::LogsToOtap(sent));
  for (const auto& batch : batches) {
    auto written = writer->Write(batch);
    ARROW_RETURN_NOT_OK(writer->Flush());
    ARROW_RETURN_NOT_OK(written.status());
  }
  ARROW_RETURN_NOT_OK(writer->Close());

  // Parquet -> OTAP -> OTLP.
  ARROW_ASSIGN_OR_RAISE(auto reader, op::dataset::DatasetReader::Make(fs, dir));
  op::otlp::LogsRequest replayed;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (!batch) break;
    ARROW_ASSIGN_OR_RAISE(auto request, op::otlp::OtapToLogs(*batch));
    for (auto& rl : *request.mutable_resource_logs()) {
      *replayed.add_resource_logs() = std::move(rl);
    }
  }
  int records = 0;
  int attributes = 0;
  for (const auto& rl : replayed.resource_logs()) {
    for (const auto& sl : rl.scope_logs()) {
      for (const auto& record : sl.log_records()) {
        ++records;
        attributes += record.attributes_size();
      }
    }
  }
  std::cout << "otap_parquet " << OTAP_PARQUET_VERSION << ": wrote 1000 log records, "
            << "replayed " << records << " with " << attributes << " attributes\n";
  if (records != 1000 || attributes != 2000) {
    return arrow::Status::Invalid("replay differs from what was written");
  }

  // Partitions: list, then delete them all (dry run first, as the CLI does).
  ARROW_ASSIGN_OR_RAISE(auto listing, op::dataset::ListPartitions(fs, dir));
  std::cout << "partitions: " << listing.partitions.size() << "\n";
  op::dataset::RetentionOptions remove;
  for (const auto& p : listing.partitions) remove.partitions.push_back(p.stats.path);
  remove.apply = true;
  ARROW_ASSIGN_OR_RAISE(auto report, op::dataset::DeletePartitions(fs, dir, remove));
  std::cout << "deleted partitions: " << report.deleted_partitions() << "\n";
  ARROW_ASSIGN_OR_RAISE(auto after, op::dataset::ListPartitions(fs, dir));
  if (listing.partitions.empty() || !after.partitions.empty()) {
    return arrow::Status::Invalid("partitions were not deleted");
  }
  return arrow::Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: dataset_roundtrip DATASET_DIR\n";
    return 2;
  }
  arrow::Status st = Run(argv[1]);
  if (!st.ok()) {
    std::cerr << "dataset_roundtrip: " << st.ToString() << "\n";
    return 1;
  }
  return 0;
}
