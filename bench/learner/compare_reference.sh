#!/usr/bin/env bash
# The C++ learner step (learner_bench) against its eager-PyTorch twin (reference_step.py):
# the same networks, losses and step at the same sizes and threads, measured one after the
# other in this script, so the ratio says what the C++ implementation buys on this machine.
#
#   bench/learner/compare_reference.sh [build_dir]      # THREADS=1 STEPS=10 PAPER_STEPS=5
#
# Each pair runs C++ first, then Python, one after the other; rerun for the spread. Python
# runs twice: as started by default, and with the malloc settings the C++ learner gives
# itself (model/core/heap_settings.h) as GLIBC_TUNABLES, so the second ratio is the
# implementation's alone and the first is what a researcher's default run sees.
# Needs Debian's python3-torch (apt-get install python3-torch; 1.13, the LibTorch we link).
set -euo pipefail
cd "$(dirname "$0")/../.."
build_dir="${1:-build}"
threads="${THREADS:-1}"
steps="${STEPS:-10}"
paper_steps="${PAPER_STEPS:-5}"
bench="${build_dir}/bench/learner/learner_bench"
python=/usr/bin/python3
[[ -x "${bench}" ]] || { echo "no ${bench}: cmake --build ${build_dir} --target learner_bench" >&2; exit 1; }
"${python}" -c 'import torch' 2>/dev/null || { echo "no torch for ${python}: apt-get install python3-torch" >&2; exit 1; }

field() {  # field NAME LINE: the value of NAME=value in LINE.
  sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2"
}

compare() {  # compare LABEL STEPS OPS CPP_ARGS... -- PY_ARGS...
  local label="$1" n="$2" ops="$3"; shift 3
  local cpp_args=() py_args=()
  while [[ "$1" != "--" ]]; do cpp_args+=("$1"); shift; done
  shift
  py_args=("$@")
  local cpp py py_heap
  cpp="$("${bench}" "${cpp_args[@]}" --steps="${n}" --threads="${threads}" | grep '^profile=')"
  py="$("${python}" bench/learner/reference_step.py "${py_args[@]}" --steps="${n}" \
        --threads="${threads}" --ops="${ops}" | grep '^reference_step ')"
  # The same Python process given the malloc settings the C++ learner sets for itself.
  py_heap="$(GLIBC_TUNABLES="${learner_malloc}" "${python}" bench/learner/reference_step.py \
        "${py_args[@]}" --steps="${n}" --threads="${threads}" --ops="${ops}" |
        grep '^reference_step ')"
  local cpp_ms py_ms py_heap_ms cpp_params py_params
  cpp_ms="$(field median_step_ms " ${cpp}")"
  py_ms="$(field median_ms "${py}")"
  py_heap_ms="$(field median_ms "${py_heap}")"
  cpp_params="$(field params " ${cpp}")"
  py_params="$(field params "${py}")"
  if [[ "${cpp_params}" != "${py_params}" ]]; then
    echo "${label}: the twins differ: ${cpp_params} C++ parameters, ${py_params} in Python" >&2
    exit 1
  fi
  awk -v l="${label}" -v o="${ops}" -v c="${cpp_ms}" -v p="${py_ms}" -v q="${py_heap_ms}" \
    -v t="${threads}" -v n="${cpp_params}" 'BEGIN { printf "%-10s threads=%s params=%s  C++ %8.1f ms  eager PyTorch (--ops=%s) %8.1f ms  ratio %.2fx  | eager with the learner'"'"'s malloc settings %8.1f ms  ratio %.2fx\n", l, t, n, c, o, p, p / c, q, q / c }'
}

# What model/core/heap_settings.cc sets with mallopt, as glibc tunables for Python.
learner_malloc="glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647:glibc.malloc.top_pad=67108864"

echo "machine: $(nproc) cores; $(date -u +%FT%TZ)"
# reference: the networks as defined with stock eager ops (what a researcher would write):
# the ratio is what this implementation buys. mirror: the same op choices as the C++ (see
# reference_step.py's Ops): the ratio is what driving them from C++ buys alone.
for ops in reference mirror; do
  compare cpu-small "${steps}" "${ops}" --config=configs/cpu_small.textproto -- \
    --config=configs/cpu_small.textproto
  compare paper "${paper_steps}" "${ops}" --profile=paper -- --profile=paper
done
