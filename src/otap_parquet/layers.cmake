# SPDX-License-Identifier: Apache-2.0
# The layers of src/otap_parquet, lowest first: each folder is one library and may
# use only the folders it names (and what they name, transitively). Included by
# the top-level CMakeLists.txt; read by scripts/check_layers.py, which fails the
# build (ctest: check_layers) on an #include of an undeclared folder. See
# docs/development.md ("Layers") before adding a dependency.
#
# Data path: OTLP (otlp) -> OtapBatch (pdata) -> Parquet (dataset) -> OtapBatch ->
# OTLP (otlp) / OTAP (otap_wire), driven by nodes/ in engine/ pipelines.

# Test support for every layer: gtest macros for Status/Result, temporary dirs.
otap_layer(otap_testing testing DEPS GTest::gtest GTest::gmock otap::arrow)

# Arrow helpers (compute init, memory pool, hex, PEM, zstd, bounded inflate).
otap_layer(otap_util util
  DEPS otap::arrow fmt::fmt spdlog::spdlog OpenSSL::Crypto
  PRIVATE_DEPS OpenSSL::SSL PkgConfig::LIBZSTD ZLIB::ZLIB)
# PayloadType/Signal and the canonical Arrow schema of each OTAP table.
otap_layer(otap_schema schema DEPS otap_util otap::arrow)
# OtapBatch: the record batches of one request, id helpers, concatenation.
otap_layer(otap_pdata pdata DEPS otap_schema otap_util
  TEST_DEPS otap_otlp otap_generator)
# AnyValue <-> CBOR (the `ser` column).
otap_layer(otap_cbor cbor DEPS otlp_proto PRIVATE_DEPS PkgConfig::LIBCBOR otap::arrow)
# OTLP <-> OtapBatch (protobuf messages and wire bytes), OTLP/JSON, OTLP files.
otap_layer(otap_otlp otlp
  DEPS otap_pdata otap_schema otlp_proto protobuf::libprotobuf
  PRIVATE_DEPS otap_cbor otap_util nlohmann_json::nlohmann_json spdlog::spdlog
  TEST_DEPS otap_generator)
# Deterministic synthetic OTLP.
otap_layer(otap_generator generator DEPS otap_otlp TEST_DEPS otap_otlp)
# OTel Arrow (OTAP) stream decoding: BatchArrowRecords -> OtapBatch.
otap_layer(otap_otap_wire otap_wire
  DEPS otap_pdata
  PRIVATE_DEPS otap_otlp otap_schema otap_util otap_proto PkgConfig::LIBNGHTTP2
               PkgConfig::LIBZSTD
  TEST_DEPS otap_otlp otap_generator otap_proto)
# YAML configuration: ConfigReader, the engine config, units, URNs, time bounds.
otap_layer(otap_config config DEPS yaml-cpp otap::arrow PRIVATE_DEPS otap_util fmt::fmt
  TEST_DEPS otap_engine otap_nodes otap_storage otap_dataset otap_exporter_parquet)
# File systems by URI (local, S3), storage paths, retries of storage calls.
otap_layer(otap_storage storage DEPS otap_config otap_util otap::arrow
  PRIVATE_DEPS fmt::fmt spdlog::spdlog)
# The Parquet dataset: writer, reader/replay, discovery, inspect, repair, retention.
otap_layer(otap_dataset dataset
  DEPS otap_storage otap_config otap_pdata otap_schema otap::parquet otap::arrow_dataset
       spdlog::spdlog
  PRIVATE_DEPS otap_util fmt::fmt yaml-cpp
  TEST_DEPS otap_otlp otap_generator)
# Write-ahead log of OtapBatches (CRC-32 by ISA-L; its tests check it against zlib's).
otap_layer(otap_wal wal DEPS otap_pdata
  PRIVATE_DEPS otap_util spdlog::spdlog PkgConfig::LIBISAL
  TEST_DEPS otap_otlp otap_generator ZLIB::ZLIB)
# Pipelines, channels, the node interface and registry, metrics.
otap_layer(otap_engine engine DEPS otap_config otap_pdata spdlog::spdlog
  PRIVATE_DEPS fmt::fmt TEST_DEPS otap_engine_testing)
# Test support for nodes and pipelines: a fake EffectHandler, test nodes.
otap_layer(otap_engine_testing engine/testing
  DEPS otap_engine otap_testing otap_generator otap_otlp)
# Admin HTTP endpoints (health, metrics).
otap_layer(otap_admin admin DEPS otap_engine spdlog::spdlog
  PRIVATE_DEPS otap_config PkgConfig::HTTPLIB fmt::fmt TEST_DEPS otap_nodes)

# Helpers several nodes share: text sinks, batches as text, retry/backoff, the
# compression methods of OTLP/OTAP settings.
otap_layer(otap_nodes_common nodes/common
  DEPS otap_engine otap_config otap_pdata
  PRIVATE_DEPS otap_otlp protobuf::libprotobuf fmt::fmt)
# One library per node; nodes use nodes/common, never one another.
otap_layer(otap_exporter_console nodes/exporters/console
  DEPS otap_nodes_common otap_engine PRIVATE_DEPS fmt::fmt
  TEST_DEPS otap_engine_testing)
otap_layer(otap_exporter_file nodes/exporters/file
  DEPS otap_engine PRIVATE_DEPS otap_nodes_common otap_otlp fmt::fmt
  TEST_DEPS otap_engine_testing otap_otlp otap_generator)
otap_layer(otap_exporter_noop nodes/exporters/noop DEPS otap_engine
  TEST_DEPS otap_engine_testing)
otap_layer(otap_exporter_otlp nodes/exporters/otlp
  DEPS otap_nodes_common otap_engine otap_otlp
  PRIVATE_DEPS otap_util otlp_grpc gRPC::grpc++ PkgConfig::HTTPLIB OpenSSL::SSL fmt::fmt
  TEST_DEPS otap_engine_testing otap_nodes otap_generator)
# exporter:otap shares exporter:otlp's gRPC channel, TLS and headers settings and
# falls back to its Export calls: a declared dependency on that node.
otap_layer(otap_exporter_otap nodes/exporters/otap
  DEPS otap_exporter_otlp otap_nodes_common otap_engine
  PRIVATE_DEPS otap_otap_wire otap_otlp otap_proto gRPC::grpc++ fmt::fmt
  TEST_DEPS otap_engine_testing otap_nodes otap_generator)
otap_layer(otap_exporter_parquet nodes/exporters/parquet
  DEPS otap_dataset otap_storage otap_wal otap_engine
  PRIVATE_DEPS fmt::fmt yaml-cpp
  TEST_DEPS otap_engine_testing otap_nodes otap_otlp otap_generator)
otap_layer(otap_processor_batch nodes/processors/batch
  DEPS otap_engine PRIVATE_DEPS otap_pdata fmt::fmt
  TEST_DEPS otap_engine_testing)
otap_layer(otap_processor_debug nodes/processors/debug
  DEPS otap_nodes_common otap_engine PRIVATE_DEPS fmt::fmt
  TEST_DEPS otap_engine_testing)
otap_layer(otap_receiver_otlp nodes/receivers/otlp
  DEPS otap_nodes_common otap_engine otap_otlp gRPC::grpc++
  PRIVATE_DEPS otap_otap_wire otap_util otlp_grpc Boost::headers OpenSSL::SSL
               PkgConfig::BROTLIDEC PkgConfig::LIBZSTD fmt::fmt
  TEST_DEPS otap_engine_testing otap_generator)
# receiver:otap serves OTel Arrow next to the OTLP receiver's gRPC server and
# shares its admission (ingest.h) and server settings (server_config.h): a declared
# dependency on that node.
otap_layer(otap_receiver_otap nodes/receivers/otap
  DEPS otap_receiver_otlp otap_engine
  PRIVATE_DEPS otap_otap_wire otap_proto fmt::fmt
  TEST_DEPS otap_engine_testing otap_generator otap_otap_wire)
otap_layer(otap_receiver_parquet nodes/receivers/parquet
  DEPS otap_nodes_common otap_dataset otap_storage otap_engine
  PRIVATE_DEPS otap_otlp otap_schema fmt::fmt
  TEST_DEPS otap_engine_testing otap_otlp otap_generator)
otap_layer(otap_receiver_traffic_generator nodes/receivers/traffic_generator
  DEPS otap_generator otap_engine PRIVATE_DEPS otap_otlp fmt::fmt
  TEST_DEPS otap_nodes_common otap_nodes)
# The registry of every built-in node.
otap_layer(otap_nodes nodes
  DEPS otap_engine
  PRIVATE_DEPS otap_exporter_console otap_exporter_file otap_exporter_noop
               otap_exporter_otap otap_exporter_otlp otap_exporter_parquet otap_processor_batch
               otap_processor_debug otap_receiver_otap otap_receiver_otlp
               otap_receiver_parquet otap_receiver_traffic_generator)

# The otap-parquet command (main.cc is the executable, the rest this library).
otap_layer(otap_cli cli
  DEPS otap_dataset otap_storage otap_schema
  PRIVATE_DEPS otap_admin otap_config otap_engine otap_generator otap_nodes otap_otlp
               otap_util nlohmann_json::nlohmann_json fmt::fmt
  TEST_DEPS otap_otlp otap_generator)
