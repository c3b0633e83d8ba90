# SPDX-License-Identifier: Apache-2.0
# Apache Arrow C++ (with Parquet, compute, acero, dataset, S3): from the system when
# find_package finds it, else from the pinned pyarrow wheel in the project's venv,
# which ships the C++ headers and shared libraries. Either way the rest of the build
# sees the same targets: otap::arrow, otap::parquet, otap::arrow_dataset.

set(OTAP_ARROW_SOURCE "" CACHE STRING "Where Arrow came from (set by the build)")

find_package(Arrow CONFIG QUIET)
if(Arrow_FOUND)
  find_package(Parquet CONFIG REQUIRED)
  find_package(ArrowDataset CONFIG REQUIRED)
  add_library(otap::arrow INTERFACE IMPORTED)
  target_link_libraries(otap::arrow INTERFACE Arrow::arrow_shared)
  if(TARGET ArrowCompute::arrow_compute_shared)
    target_link_libraries(otap::arrow INTERFACE ArrowCompute::arrow_compute_shared)
  endif()
  add_library(otap::parquet INTERFACE IMPORTED)
  target_link_libraries(otap::parquet INTERFACE Parquet::parquet_shared)
  add_library(otap::arrow_dataset INTERFACE IMPORTED)
  target_link_libraries(otap::arrow_dataset INTERFACE ArrowDataset::arrow_dataset_shared)
  set(OTAP_ARROW_SOURCE "system (${Arrow_VERSION})" CACHE STRING "" FORCE)
  return()
endif()

if(NOT OTAP_PYTHON)
  message(FATAL_ERROR "Arrow C++ not found on the system and OTAP_PYTHON is not set; "
                      "run scripts/setup.sh, which installs the pinned pyarrow wheel")
endif()
execute_process(
  COMMAND "${OTAP_PYTHON}" -c
          "import pyarrow; print(pyarrow.get_include()); print(pyarrow.get_library_dirs()[0]); print(pyarrow.__version__)"
  OUTPUT_VARIABLE _pa_out
  RESULT_VARIABLE _pa_rc
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _pa_rc EQUAL 0)
  message(FATAL_ERROR "pyarrow is not importable by ${OTAP_PYTHON}; run scripts/setup.sh")
endif()
string(REPLACE "\n" ";" _pa_lines "${_pa_out}")
list(GET _pa_lines 0 PYARROW_INCLUDE_DIR)
list(GET _pa_lines 1 PYARROW_LIB_DIR)
list(GET _pa_lines 2 PYARROW_VERSION)
string(REGEX MATCH "^([0-9]+)\\.([0-9]+)" _ "${PYARROW_VERSION}")
math(EXPR _so "${CMAKE_MATCH_1} * 100 + ${CMAKE_MATCH_2}")
set(OTAP_ARROW_SOVERSION "${_so}")

# The wheel ships only versioned sonames (libarrow.so.2600); import them as they are.
function(_otap_import_wheel_lib target file)
  set(_path "${PYARROW_LIB_DIR}/${file}.so.${_so}")
  if(NOT EXISTS "${_path}")
    message(FATAL_ERROR "pyarrow wheel lacks ${_path}")
  endif()
  add_library(${target} SHARED IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION "${_path}")
  target_include_directories(${target} SYSTEM INTERFACE "${PYARROW_INCLUDE_DIR}")
endfunction()

_otap_import_wheel_lib(otap_wheel_arrow libarrow)
_otap_import_wheel_lib(otap_wheel_arrow_compute libarrow_compute)
_otap_import_wheel_lib(otap_wheel_arrow_acero libarrow_acero)
_otap_import_wheel_lib(otap_wheel_arrow_dataset libarrow_dataset)
_otap_import_wheel_lib(otap_wheel_parquet libparquet)

add_library(otap::arrow INTERFACE IMPORTED)
target_link_libraries(otap::arrow INTERFACE otap_wheel_arrow otap_wheel_arrow_compute)
if(EXISTS "${PYARROW_LIB_DIR}/libarrow_s3.so.${_so}")
  # Arrow >= 24 keeps the S3 filesystem in its own library, loaded on first use of s3://.
  _otap_import_wheel_lib(otap_wheel_arrow_s3 libarrow_s3)
  target_link_libraries(otap::arrow INTERFACE otap_wheel_arrow_s3)
endif()
add_library(otap::parquet INTERFACE IMPORTED)
target_link_libraries(otap::parquet INTERFACE otap_wheel_parquet otap::arrow)
add_library(otap::arrow_dataset INTERFACE IMPORTED)
target_link_libraries(otap::arrow_dataset INTERFACE otap_wheel_arrow_dataset
                                                   otap_wheel_arrow_acero otap::parquet)

# Built binaries find the wheel's libraries without LD_LIBRARY_PATH.
list(APPEND CMAKE_BUILD_RPATH "${PYARROW_LIB_DIR}")
set(CMAKE_BUILD_RPATH "${CMAKE_BUILD_RPATH}" PARENT_SCOPE)
set(OTAP_ARROW_SOURCE "pyarrow ${PYARROW_VERSION} wheel" CACHE STRING "" FORCE)
