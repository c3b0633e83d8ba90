# SPDX-License-Identifier: Apache-2.0
# The targets every layer links Arrow by: otap::arrow, otap::parquet,
# otap::arrow_dataset. One definition for the build (cmake/ArrowDeps.cmake finds
# Arrow, then calls one of these) and for the installed package (installed beside
# otap_parquetConfig.cmake, which calls the same one with what the build found).

# From Arrow's own CMake packages (Arrow, Parquet and ArrowDataset already found).
function(otap_arrow_targets_from_packages)
  add_library(otap::arrow INTERFACE IMPORTED)
  target_link_libraries(otap::arrow INTERFACE Arrow::arrow_shared)
  if(TARGET ArrowCompute::arrow_compute_shared)
    target_link_libraries(otap::arrow INTERFACE ArrowCompute::arrow_compute_shared)
  endif()
  add_library(otap::parquet INTERFACE IMPORTED)
  target_link_libraries(otap::parquet INTERFACE Parquet::parquet_shared)
  add_library(otap::arrow_dataset INTERFACE IMPORTED)
  target_link_libraries(otap::arrow_dataset INTERFACE ArrowDataset::arrow_dataset_shared)
endfunction()

# From a pyarrow wheel's headers and libraries. The wheel ships only versioned
# sonames (libarrow.so.2600): they are imported as they are. Sets `missing_var` to
# the first required library that is absent (then no target is made), else to "".
# libarrow_s3 is optional: Arrow >= 24 keeps the S3 filesystem in its own library,
# loaded on first use of s3://.
function(otap_arrow_targets_from_wheel include_dir lib_dir soversion missing_var)
  set(_libs arrow arrow_compute arrow_acero arrow_dataset parquet)
  foreach(_lib ${_libs})
    if(NOT EXISTS "${lib_dir}/lib${_lib}.so.${soversion}")
      set(${missing_var} "${lib_dir}/lib${_lib}.so.${soversion}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${missing_var} "" PARENT_SCOPE)
  if(EXISTS "${lib_dir}/libarrow_s3.so.${soversion}")
    list(APPEND _libs arrow_s3)
  endif()
  foreach(_lib ${_libs})
    add_library(otap_wheel_${_lib} SHARED IMPORTED)
    set_target_properties(otap_wheel_${_lib} PROPERTIES
                          IMPORTED_LOCATION "${lib_dir}/lib${_lib}.so.${soversion}")
    target_include_directories(otap_wheel_${_lib} SYSTEM INTERFACE "${include_dir}")
  endforeach()
  add_library(otap::arrow INTERFACE IMPORTED)
  target_link_libraries(otap::arrow INTERFACE otap_wheel_arrow otap_wheel_arrow_compute)
  if(TARGET otap_wheel_arrow_s3)
    target_link_libraries(otap::arrow INTERFACE otap_wheel_arrow_s3)
  endif()
  add_library(otap::parquet INTERFACE IMPORTED)
  target_link_libraries(otap::parquet INTERFACE otap_wheel_parquet otap::arrow)
  add_library(otap::arrow_dataset INTERFACE IMPORTED)
  target_link_libraries(otap::arrow_dataset INTERFACE otap_wheel_arrow_dataset
                                                     otap_wheel_arrow_acero otap::parquet)
endfunction()
