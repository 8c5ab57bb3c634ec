#!/usr/bin/env bash
# One experiment of the paper on this system: every arm of ARMS_FILE, each with SEEDS actor
# seeds (1..SEEDS), one bench/learning/run.sh row per (arm, seed), one after the other on this
# machine; then report.py's table and plot over seeds.
#   bench/learning/paper/run_arms.sh EXPERIMENT MINUTES SEEDS ARMS_FILE [ivg_cluster flags...]
#   bench/learning/paper/run_arms.sh algorithms 5 3 bench/learning/paper/algorithms.txt --profile=cpu-state
# ARMS_FILE: one arm per line, a label then `field=value` overrides (space-separated) for
# that arm alone; '#' starts a comment. Row names: EXPERIMENT_LABEL_sSEED (run directory
# runs/bench_<row>, CSVs in bench/learning/results/). Every row ends with the final
# evaluation of its last parameters on 100 seeds (FINAL_EVAL_EPISODES).
# IVG_PAPER_ONLY_ARMS="a b" runs those arms only; IVG_PAPER_FIRST_SEED=N starts at seed N
# (to add seeds to rows already run: the report reads seeds 1..SEEDS); IVG_PAPER_REPORT_ONLY=1
# runs nothing and rebuilds the report from the results.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$repo"
if [[ $# -lt 4 ]]; then
  sed -n '2,14p' "$0" >&2
  exit 2
fi
experiment="$1"; minutes="$2"; seeds="$3"; arms_file="$4"; shift 4
[[ -f "$arms_file" ]] || { echo "run_arms.sh: no arms file '$arms_file'" >&2; exit 2; }

if [[ "${IVG_PAPER_REPORT_ONLY:-0}" != 1 ]]; then
  while read -r label overrides; do
    [[ -z "$label" || "$label" == \#* ]] && continue
    if [[ -n "${IVG_PAPER_ONLY_ARMS:-}" && " ${IVG_PAPER_ONLY_ARMS} " != *" $label "* ]]; then
      continue
    fi
    set_flags=()
    for o in $overrides; do set_flags+=(--set "$o"); done
    for seed in $(seq "${IVG_PAPER_FIRST_SEED:-1}" "$seeds"); do
      row="${experiment}_${label}_s${seed}"
      echo "== $row: ${overrides:-(defaults)} seed $seed ($minutes min)"
      bench/learning/run.sh "$row" "$minutes" "$@" --set "actor.seed=$seed" \
        --set eval.write_videos=false "${set_flags[@]+"${set_flags[@]}"}" < /dev/null ||
        echo "   (no evaluation: see runs/bench_${row}.log)"
    done
  done < "$arms_file"
fi
python3 bench/learning/paper/report.py "$experiment" "$seeds" "$arms_file"
