# SPDX-License-Identifier: Apache-2.0
# OTel Arrow (OTAP) protobuf C++ code, generated from the descriptor compiled into the
# pinned Go module github.com/open-telemetry/otel-arrow/go (scripts/otap_proto/go.mod),
# not a hand copy. `go run` fetches the module through the Go module proxy once.

find_program(GO_EXECUTABLE go REQUIRED)
set(_otap_gen "${CMAKE_BINARY_DIR}/gen")
set(_otap_desc "${_otap_gen}/otap.desc")
set(_otap_stem "${_otap_gen}/opentelemetry/proto/experimental/arrow/v1/arrow_service")
file(MAKE_DIRECTORY "${_otap_gen}")
set(_otap_tool "${PROJECT_SOURCE_DIR}/scripts/otap_proto")

add_custom_command(
  OUTPUT "${_otap_desc}"
  COMMAND ${CMAKE_COMMAND} -E env "GOFLAGS=-mod=readonly -buildvcs=false" -- "${GO_EXECUTABLE}" run .
          "${_otap_desc}"
  WORKING_DIRECTORY "${_otap_tool}"
  DEPENDS "${_otap_tool}/main.go" "${_otap_tool}/go.mod" "${_otap_tool}/go.sum"
  COMMENT "Extracting the OTel Arrow descriptor from otel-arrow/go")
add_custom_command(
  OUTPUT "${_otap_stem}.pb.cc" "${_otap_stem}.pb.h"
  COMMAND protobuf::protoc --descriptor_set_in=${_otap_desc} --cpp_out=${_otap_gen}
          opentelemetry/proto/experimental/arrow/v1/arrow_service.proto
  DEPENDS "${_otap_desc}"
  COMMENT "Generating OTel Arrow C++ code")

# Messages only: the receiver serves the streams as generic (raw bytes) methods.
add_library(otap_proto STATIC "${_otap_stem}.pb.cc")
target_include_directories(otap_proto SYSTEM PUBLIC "${_otap_gen}")
target_link_libraries(otap_proto PUBLIC protobuf::libprotobuf)
set_target_properties(otap_proto PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_compile_options(otap_proto PRIVATE -w)
