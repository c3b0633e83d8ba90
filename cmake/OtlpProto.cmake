# SPDX-License-Identifier: Apache-2.0
# OTLP protobuf + gRPC C++ code, generated from the descriptors that PyPI's
# opentelemetry-proto package ships (scripts/otlp_descriptors.py), not a hand copy.

set(OTLP_PROTO_FILES
    opentelemetry/proto/common/v1/common.proto
    opentelemetry/proto/resource/v1/resource.proto
    opentelemetry/proto/logs/v1/logs.proto
    opentelemetry/proto/trace/v1/trace.proto
    opentelemetry/proto/metrics/v1/metrics.proto
    opentelemetry/proto/collector/logs/v1/logs_service.proto
    opentelemetry/proto/collector/trace/v1/trace_service.proto
    opentelemetry/proto/collector/metrics/v1/metrics_service.proto)

set(_gen "${CMAKE_BINARY_DIR}/gen")
set(_desc "${_gen}/otlp.desc")
file(MAKE_DIRECTORY "${_gen}")
set(OTLP_GENERATED)
foreach(_p ${OTLP_PROTO_FILES})
  string(REGEX REPLACE "\\.proto$" "" _stem "${_p}")
  list(APPEND OTLP_GENERATED "${_gen}/${_stem}.pb.cc" "${_gen}/${_stem}.pb.h")
  if(_p MATCHES "collector/")
    list(APPEND OTLP_GENERATED "${_gen}/${_stem}.grpc.pb.cc" "${_gen}/${_stem}.grpc.pb.h")
  endif()
endforeach()

add_custom_command(
  OUTPUT "${_desc}"
  COMMAND "${OTAP_PYTHON}" "${PROJECT_SOURCE_DIR}/scripts/otlp_descriptors.py" "${_desc}"
  DEPENDS "${PROJECT_SOURCE_DIR}/scripts/otlp_descriptors.py"
  COMMENT "Extracting OTLP descriptors from opentelemetry-proto")
add_custom_command(
  OUTPUT ${OTLP_GENERATED}
  COMMAND protobuf::protoc --descriptor_set_in=${_desc} --cpp_out=${_gen}
          --grpc_out=${_gen} --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN} ${OTLP_PROTO_FILES}
  # protoc writes grpc stubs for every file; only the services' are compiled.
  DEPENDS "${_desc}"
  COMMENT "Generating OTLP C++ code")

list(FILTER OTLP_GENERATED INCLUDE REGEX "\\.cc$")
set(OTLP_GRPC_GENERATED ${OTLP_GENERATED})
list(FILTER OTLP_GENERATED EXCLUDE REGEX "\\.grpc\\.pb\\.cc$")
list(FILTER OTLP_GRPC_GENERATED INCLUDE REGEX "\\.grpc\\.pb\\.cc$")
# The messages (every layer that speaks OTLP) apart from the gRPC services (only
# the OTLP receiver and exporter), so gRPC does not reach the lower layers.
add_library(otlp_proto STATIC ${OTLP_GENERATED})
target_include_directories(otlp_proto SYSTEM PUBLIC "$<BUILD_INTERFACE:${_gen}>"
                                                     "$<INSTALL_INTERFACE:include>")
target_link_libraries(otlp_proto PUBLIC protobuf::libprotobuf)
set_target_properties(otlp_proto PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_compile_options(otlp_proto PRIVATE -w)
add_library(otlp_grpc STATIC ${OTLP_GRPC_GENERATED})
target_link_libraries(otlp_grpc PUBLIC otlp_proto gRPC::grpc++)
set_target_properties(otlp_grpc PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_compile_options(otlp_grpc PRIVATE -w)
