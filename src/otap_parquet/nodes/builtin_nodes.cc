// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/builtin_nodes.h"

#include "otap_parquet/nodes/exporters/console/console_exporter.h"
#include "otap_parquet/nodes/exporters/file/file_exporter.h"
#include "otap_parquet/nodes/exporters/noop/noop_exporter.h"
#include "otap_parquet/nodes/exporters/otap/otap_exporter.h"
#include "otap_parquet/nodes/exporters/otlp/grpc_exporter.h"
#include "otap_parquet/nodes/exporters/otlp/http_exporter.h"
#include "otap_parquet/nodes/exporters/parquet/parquet_exporter.h"
#include "otap_parquet/nodes/processors/batch/batch_processor.h"
#include "otap_parquet/nodes/processors/debug/debug_processor.h"
#include "otap_parquet/nodes/receivers/otap/otap_receiver.h"
#include "otap_parquet/nodes/receivers/otlp/otlp_receiver.h"
#include "otap_parquet/nodes/receivers/parquet/parquet_receiver.h"
#include "otap_parquet/nodes/receivers/traffic_generator/traffic_generator.h"

namespace otap_parquet::nodes {

arrow::Status RegisterBuiltinNodes(engine::Registry& registry) {
  for (const engine::NodeFactory* factory :
       {&kTrafficGeneratorFactory, &kParquetReceiverFactory, &kBatchProcessorFactory,
        &kDebugProcessorFactory, &kNoopExporterFactory, &kConsoleExporterFactory,
        &kParquetExporterFactory, &kFileExporterFactory, &kOtlpReceiverFactory,
        &kOtapReceiverFactory, &kOtlpGrpcExporterFactory, &kOtlpHttpExporterFactory,
        &kOtapExporterFactory}) {
    ARROW_RETURN_NOT_OK(registry.Register(*factory));
  }
  return arrow::Status::OK();
}

const engine::Registry& BuiltinRegistry() {
  static const engine::Registry registry = [] {
    engine::Registry r;
    // Programmer invariant: the built-in factories are well-formed (tested).
    (void)RegisterBuiltinNodes(r);
    return r;
  }();
  return registry;
}

}  // namespace otap_parquet::nodes
