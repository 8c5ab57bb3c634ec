#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine: installs the packages, builds once,
# runs every GoogleTest case through CTest (two at a time: the machines have two cores).
#   scripts/test.sh                 everything
#   scripts/test.sh -L integration  only tests that start real servers (CTest arguments pass through)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/bootstrap.sh
build_dir="${IVG_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
start=$(date +%s)
cmake --build "$build_dir" -j"$(nproc)"
echo "build: $(( $(date +%s) - start )) s"
start=$(date +%s)
ctest --test-dir "$build_dir" -j2 --output-on-failure --no-tests=error "$@"
echo "tests: $(( $(date +%s) - start )) s"
