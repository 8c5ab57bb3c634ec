# Helpers that keep per-folder CMakeLists short.

# ivg_add_gtest(NAME <name> SOURCES <files...> LIBS <targets...> [LABELS <labels...>]
#               [TIMEOUT <seconds>])
# One GoogleTest executable, registered with CTest per test case (gtest_discover_tests), so
# `ctest -j` runs cases in parallel and reports each one. Integration tests that start
# servers get the label "integration".
include(GoogleTest)
function(ivg_add_gtest)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT IVG_BUILD_TESTS)
    return()
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_LIBS} GTest::gmock GTest::gtest GTest::gtest_main)
  target_compile_definitions(${ARG_NAME} PRIVATE
    IVG_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    IVG_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${ARG_NAME}
    DISCOVERY_TIMEOUT 120
    PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}")
endfunction()

# ivg_add_python_test(NAME <name> SCRIPT <file.py> [ARGS <args...>] [LABELS <labels...>]
#                     [TIMEOUT <seconds>] [RUN_SERIAL])
# A test script run by Debian's /usr/bin/python3 (python3-grpcio, python3-yaml and
# python3-protobuf come from scripts/debian-packages.txt) from the source root. Configuring
# fails when that interpreter is missing: these tests must never be skipped silently.
function(ivg_add_python_test)
  cmake_parse_arguments(ARG "RUN_SERIAL" "NAME;SCRIPT;TIMEOUT" "ARGS;LABELS" ${ARGN})
  if(NOT IVG_BUILD_TESTS)
    return()
  endif()
  find_program(IVG_TEST_PYTHON python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(NOT IVG_TEST_PYTHON)
    message(FATAL_ERROR "${ARG_NAME} needs /usr/bin/python3")
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_test(NAME ${ARG_NAME}
    COMMAND ${IVG_TEST_PYTHON} ${ARG_SCRIPT} ${ARG_ARGS}
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}")
  set_tests_properties(${ARG_NAME} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}"
    RUN_SERIAL ${ARG_RUN_SERIAL})
endfunction()

# ivg_protobuf_include(<target>): generated .pb.h files must see the system Protobuf headers
# before any copy that LibTorch's include directories carry (PyTorch wheels ship one).
function(ivg_protobuf_include target)
  target_include_directories(${target} BEFORE PRIVATE ${Protobuf_INCLUDE_DIRS})
endfunction()

# ivg_add_subdirectories(LEARNER_CORE <dir> DIRS <dirs...>)
# Adds each folder in order. A core-only build (IVG_LEARNER_CORE_ONLY, for GPU machines
# without gRPC, MuJoCo or Redis) adds only the LEARNER_CORE folder (the one that holds the
# model core's tests or benchmark), if any.
function(ivg_add_subdirectories)
  cmake_parse_arguments(ARG "" "LEARNER_CORE" "DIRS" ${ARGN})
  foreach(dir ${ARG_DIRS})
    if(IVG_LEARNER_CORE_ONLY AND NOT dir STREQUAL "${ARG_LEARNER_CORE}")
      continue()
    endif()
    add_subdirectory(${dir})
  endforeach()
endfunction()

# ivg_torch_precompiled_headers(<target>)
# The LibTorch headers that every translation unit of the model core and of its tests parses
# (~5 s of the 15-25 s each takes), compiled once per target. Only worth it for targets with
# several such translation units: a precompiled header costs about two of them to build.
# Each target gets its own: a header compiled for a library (-fPIC) or with other
# definitions is refused by targets with different flags.
function(ivg_torch_precompiled_headers target)
  target_precompile_headers(${target} PRIVATE
    <ATen/ATen.h>
    <torch/autograd.h>
    <torch/nn/module.h>
    <torch/nn/modules/conv.h>
    <torch/nn/modules/linear.h>
    <torch/nn/modules/rnn.h>
    <torch/optim/adam.h>
    <torch/serialize/input-archive.h>
    <torch/serialize/output-archive.h>)
endfunction()
