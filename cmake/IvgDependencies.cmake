# Finds every dependency once, for the whole tree.
#
# Order matters: Torch's CMake package defines its own (empty) protobuf::libprotobuf target,
# so Protobuf is found first and targets link ${Protobuf_LIBRARIES}.
find_package(Threads REQUIRED)
find_package(Torch REQUIRED)

if(NOT IVG_LEARNER_CORE_ONLY)
  find_package(Protobuf REQUIRED)
  find_package(gRPC CONFIG REQUIRED)
  find_package(absl CONFIG REQUIRED)
  find_package(glog CONFIG REQUIRED)
  # Debian 12's civetweb CMake package names a /usr/bin/civetweb it does not install, so
  # the library is found directly.
  find_path(CIVETWEB_INCLUDE_DIR civetweb.h REQUIRED)
  find_library(CIVETWEB_LIBRARY civetweb REQUIRED)
  add_library(ivg_civetweb INTERFACE)
  target_include_directories(ivg_civetweb INTERFACE ${CIVETWEB_INCLUDE_DIR})
  target_link_libraries(ivg_civetweb INTERFACE ${CIVETWEB_LIBRARY})
  find_package(mujoco CONFIG REQUIRED)
  find_package(PkgConfig REQUIRED)
  # Debian 12's hiredis CMake package is broken (its version file fails to parse): use
  # pkg-config for it, and for zstd alike.
  pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
  pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
  pkg_check_modules(EGL REQUIRED IMPORTED_TARGET egl)
  pkg_check_modules(LIBPNG REQUIRED IMPORTED_TARGET libpng)
  find_package(ZLIB REQUIRED)  # zlib1g-dev: the animated PNG writer (common/image)
  find_program(IVG_REDIS_SERVER redis-server REQUIRED)
  find_program(IVG_REDIS_BENCHMARK redis-benchmark)
  find_program(IVG_PROMTOOL promtool)
  find_program(IVG_PROMETHEUS prometheus)
endif()

if(IVG_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(IVG_BUILD_BENCH)
  find_package(benchmark CONFIG)
endif()
