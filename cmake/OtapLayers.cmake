# SPDX-License-Identifier: Apache-2.0
# One library per folder of src/otap_parquet (a "layer"), declared with otap_layer()
# in src/otap_parquet/layers.cmake. The declarations are the layer graph: the
# linker refuses a call into a folder that is not a dependency, and
# scripts/check_layers.py (ctest: check_layers) refuses an #include of one, also
# of a header-only one.

set(OTAP_SRC "${PROJECT_SOURCE_DIR}/src/otap_parquet")

# otap_layer(<target> <folder> [DEPS ...] [PRIVATE_DEPS ...] [TEST_DEPS ...])
#   <folder>'s *.cc (not *_test.cc, not its subfolders) build <target>; DEPS are
#   public (its headers include them), PRIVATE_DEPS only its .cc files. A folder
#   without .cc files is an INTERFACE library (DEPS only). Its *_test.cc files
#   build <target>_tests, linked with <target> and TEST_DEPS, labelled <folder>
#   (`ctest -L dataset`; one label: gtest_discover_tests writes a list of labels
#   as separate properties); the same objects go into otap_parquet_tests.
function(otap_layer target folder)
  cmake_parse_arguments(L "" "" "DEPS;PRIVATE_DEPS;TEST_DEPS" ${ARGN})
  file(GLOB _sources CONFIGURE_DEPENDS "${OTAP_SRC}/${folder}/*.cc")
  set(_tests ${_sources})
  list(FILTER _sources EXCLUDE REGEX "(_test|_benchmark)\\.cc$|/cli/main\\.cc$")
  list(FILTER _tests INCLUDE REGEX "_test\\.cc$")
  if(_sources)
    add_library(${target} STATIC ${_sources})
    target_include_directories(${target} PUBLIC "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>"
                                                "$<INSTALL_INTERFACE:include>")
    target_link_libraries(${target} PUBLIC ${L_DEPS} PRIVATE ${L_PRIVATE_DEPS})
    target_compile_options(${target} PRIVATE ${OTAP_WARNINGS})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>"
                                                   "$<INSTALL_INTERFACE:include>")
    target_link_libraries(${target} INTERFACE ${L_DEPS})
  endif()
  set_property(GLOBAL APPEND PROPERTY OTAP_LAYER_TARGETS ${target})
  if(OTAP_BUILD_TESTS AND _tests)
    add_library(${target}_test_objs OBJECT ${_tests})
    target_link_libraries(${target}_test_objs PUBLIC ${target} ${L_TEST_DEPS} otap_testing
                                                     GTest::gtest GTest::gmock)
    target_compile_options(${target}_test_objs PRIVATE ${OTAP_WARNINGS})
    target_compile_definitions(${target}_test_objs PRIVATE
      OTAP_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data")
    add_executable(${target}_tests)
    target_link_libraries(${target}_tests PRIVATE ${target}_test_objs GTest::gtest_main)
    # Tests find their data relative to the build directory (__FILE__ under ccache's
    # base_dir is relative), as otap_parquet_tests does.
    gtest_discover_tests(${target}_tests DISCOVERY_TIMEOUT 60
                         WORKING_DIRECTORY "${CMAKE_BINARY_DIR}"
                         PROPERTIES LABELS "${folder}")
    set_property(GLOBAL APPEND PROPERTY OTAP_TEST_OBJECTS ${target}_test_objs)
  endif()
endfunction()
