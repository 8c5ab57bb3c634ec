#!/usr/bin/env bash
# One learning-benchmark row: runs the main job (the whole local cluster, evaluator included)
# for a fixed wall budget, then prints the evaluator's last learned-policy row next to the
# random and scripted baselines on the same seeds, the normalised score, learner steps and
# env steps, from <run_dir>/eval.csv.
#   bench/learning/run.sh NAME MINUTES [ivg_cluster flags...]
#   bench/learning/run.sh reach_r 30 --task=REACH_RED
# The run directory is runs/bench_NAME (removed first: every row starts from scratch).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
name="$1"; minutes="$2"; shift 2
run_dir="runs/bench_${name}"
rm -rf "$run_dir"
mkdir -p "$(dirname "$run_dir")"  # runs/ does not exist in a fresh checkout.
build_dir="${IVG_BUILD_DIR:-build}"
"$build_dir/services/launcher/ivg_cluster" --minutes="$minutes" --run_dir="$run_dir" "$@" \
  > "$run_dir.log" 2>&1 || true
eval_csv="$run_dir/eval.csv"
if [[ ! -s "$eval_csv" ]]; then
  echo "no $eval_csv: see $run_dir.log" >&2
  exit 1
fi
# Columns: wall_seconds,policy,task,param_version,learner_step,env_steps,episodes,return_mean,
# return_std,return_min,return_max,success_rate,normalized_score
awk -F, -v name="$name" -v minutes="$minutes" '
  NR > 1 && $2 == "random"   { random[$3] = $8 }
  NR > 1 && $2 == "scripted" { scripted[$3] = $8 }
  NR > 1 && $2 == "learned"  { learned[$3] = $8; spread[$3] = $9; step[$3] = $5; env[$3] = $6;
                               success[$3] = $12; score[$3] = $13 }
  END {
    printf "%-12s %-10s %7s %8s %7s %8s %7s %8s %9s %10s\n", "run", "task", "minutes", "eval",
           "+-", "random", "scripted", "score", "learner", "env steps"
    for (t in learned)
      printf "%-12s %-10s %7s %8.1f %7.1f %8.1f %7.1f %8s %9s %10s\n", name, t, minutes,
             learned[t], spread[t], random[t], scripted[t], score[t], step[t], env[t]
  }' "$eval_csv"
cp "$eval_csv" "bench/learning/results/${name}_eval.csv"
cp "$run_dir/metrics.csv" "bench/learning/results/${name}_metrics.csv"
[[ -f "$run_dir/learning_curve.png" ]] && cp "$run_dir/learning_curve.png" \
  "bench/learning/results/${name}_learning_curve.png"
