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
