#!/bin/sh
# Copies the binaries named in image-binaries.txt from a CMake build folder into one flat
# folder, stripped of debug information (a RelWithDebInfo learner is ~10x larger with it).
#   install-binaries.sh BUILD_DIR DEST_DIR
#   install-binaries.sh --targets       prints the list (for `cmake --build --target`)
set -eu
list="$(dirname "$0")/image-binaries.txt"
names="$(grep -v -E '^[[:space:]]*(#|$)' "$list")"
if [ "${1:-}" = "--targets" ]; then
  echo $names
  exit 0
fi
if [ "$#" -ne 2 ]; then
  echo "usage: install-binaries.sh BUILD_DIR DEST_DIR | --targets" >&2
  exit 2
fi
build="$1"
dest="$2"
mkdir -p "$dest"
for name in $names; do
  found="$(find "$build" -type f -name "$name" -perm -u+x -not -path '*/CMakeFiles/*' | head -n 1)"
  if [ -z "$found" ]; then
    echo "install-binaries.sh: $name not found under $build (build it first)" >&2
    exit 1
  fi
  strip --strip-debug -o "$dest/$name" "$found"
done
