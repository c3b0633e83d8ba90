# SPDX-License-Identifier: Apache-2.0
# Apache Arrow C++ (with Parquet, compute, acero, dataset, S3): from the system when
# find_package finds it, else from the pinned pyarrow wheel in the project's venv,
# which ships the C++ headers and shared libraries. Either way the rest of the build
# sees the same targets: otap::arrow, otap::parquet, otap::arrow_dataset.

set(OTAP_ARROW_SOURCE "" CACHE STRING "Where Arrow came from (set by the build)")
include("${CMAKE_CURRENT_LIST_DIR}/OtapArrowTargets.cmake")

find_package(Arrow CONFIG QUIET)
if(Arrow_FOUND)
  find_package(Parquet CONFIG REQUIRED)
  find_package(ArrowDataset CONFIG REQUIRED)
  otap_arrow_targets_from_packages()
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
math(EXPR OTAP_ARROW_SOVERSION "${CMAKE_MATCH_1} * 100 + ${CMAKE_MATCH_2}")

otap_arrow_targets_from_wheel("${PYARROW_INCLUDE_DIR}" "${PYARROW_LIB_DIR}"
                              "${OTAP_ARROW_SOVERSION}" _missing)
if(_missing)
  message(FATAL_ERROR "pyarrow wheel lacks ${_missing}")
endif()

# Built binaries find the wheel's libraries without LD_LIBRARY_PATH.
list(APPEND CMAKE_BUILD_RPATH "${PYARROW_LIB_DIR}")
set(OTAP_ARROW_SOURCE "pyarrow ${PYARROW_VERSION} wheel" CACHE STRING "" FORCE)
