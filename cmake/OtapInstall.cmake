# SPDX-License-Identifier: Apache-2.0
# `cmake --install` of the library package: the layers below the engine (OTLP <->
# OTAP conversion, the dataset writer and reader, partitions), their headers, the
# generated OTLP messages, and a CMake package (find_package(otap_parquet), target
# otap_parquet::otap_parquet). docs/library.md lists the stable API; examples/ is
# built against the installed package by scripts/check_package.sh (CI).

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Lowest first; every one only uses those before it (layers.cmake), so the
# export set is closed.
set(OTAP_PACKAGE_LAYERS otap_util otap_schema otap_pdata otap_cbor otap_otlp otap_config
                        otap_storage otap_dataset)

add_library(otap_parquet INTERFACE)
target_link_libraries(otap_parquet INTERFACE ${OTAP_PACKAGE_LAYERS})

install(TARGETS otap_parquet ${OTAP_PACKAGE_LAYERS} otlp_proto
        EXPORT otap_parquetTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        INCLUDES DESTINATION include)
foreach(_layer ${OTAP_PACKAGE_LAYERS})
  string(REGEX REPLACE "^otap_" "" _folder "${_layer}")  # otap_<folder> (layers.cmake)
  # Test helpers stay out of the package.
  install(DIRECTORY "${OTAP_SRC}/${_folder}/" DESTINATION "include/otap_parquet/${_folder}"
          FILES_MATCHING PATTERN "*.h" PATTERN "*_test_util.h" EXCLUDE
          PATTERN "testdata" EXCLUDE)
endforeach()
install(FILES "${CMAKE_BINARY_DIR}/gen_version/otap_parquet/version.h"
        DESTINATION include/otap_parquet)
install(DIRECTORY "${CMAKE_BINARY_DIR}/gen/opentelemetry" DESTINATION include
        FILES_MATCHING PATTERN "*.pb.h" PATTERN "*.grpc.pb.h" EXCLUDE)

# Arrow as this build found it: the system's packages, or the pinned pyarrow wheel
# (the package then uses that wheel's libraries, where they were at install time).
# The package makes the Arrow targets with the build's own OtapArrowTargets.cmake.
if(OTAP_ARROW_SOURCE MATCHES "^system")
  set(OTAP_PACKAGE_ARROW_FROM_WHEEL OFF)
else()
  set(OTAP_PACKAGE_ARROW_FROM_WHEEL ON)
endif()
set(_cmakedir "${CMAKE_INSTALL_LIBDIR}/cmake/otap_parquet")
install(EXPORT otap_parquetTargets NAMESPACE otap_parquet:: DESTINATION "${_cmakedir}")
configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/otap_parquetConfig.cmake.in"
  "${CMAKE_BINARY_DIR}/otap_parquetConfig.cmake" INSTALL_DESTINATION "${_cmakedir}")
# 0.x: a minor version may change the API.
write_basic_package_version_file("${CMAKE_BINARY_DIR}/otap_parquetConfigVersion.cmake"
                                 COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_BINARY_DIR}/otap_parquetConfig.cmake"
              "${CMAKE_BINARY_DIR}/otap_parquetConfigVersion.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/OtapArrowTargets.cmake"
        DESTINATION "${_cmakedir}")
