#!/usr/bin/env bash
# One learning-benchmark row: runs the main job (the whole local cluster, evaluator included)
# for a fixed wall budget, then prints the evaluator's last learned-policy row next to the
# random and scripted baselines on the same seeds, the normalised score, learner steps and
# env steps, from <run_dir>/eval.csv.
#
# Then the final evaluation: the parameters the run ended with (param_server/parameters.pb),
# scored once by ivg_evaluator on FINAL_EVAL_EPISODES seeds (default 100; 0 skips it), with the
# random and scripted policies on the same seeds, into <run_dir>/final_eval.csv. The periodic
# evaluations score a few fixed seeds each (eval.episodes), and on Reach-R each episode either
# reaches the cube or misses it: the same parameters scored 68.2 (normalised 0.35) on the first
# 5 eval seeds and 29.6 (0.13) on 100 (bench/README.md, "Learning"). With 100 seeds the
# standard error of the final score is ~0.03 normalised.
#   bench/learning/run.sh NAME MINUTES [ivg_cluster flags...]
#   bench/learning/run.sh reach_r 30 --task=REACH_RED
#   FINAL_EVAL_EPISODES=200 bench/learning/run.sh reach_r 30 --task=REACH_RED
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
# return_std,return_min,return_max,success_rate,normalized_score,target_heading_cosine,
# target_reached_rate (the last two: how the TCP approached the task's object, Reach and Lift)
print_row() {  # CSV LABEL: its last learned row per task, with that file's baselines
  awk -F, -v name="$2" -v minutes="$minutes" '
    NR > 1 && $2 == "random"   { random[$3] = $8 }
    NR > 1 && $2 == "scripted" { scripted[$3] = $8 }
    NR > 1 && $2 == "learned"  { learned[$3] = $8; spread[$3] = $9; step[$3] = $5; env[$3] = $6;
                                 episodes[$3] = $7; success[$3] = $12; score[$3] = $13;
                                 heading[$3] = $14 == "" ? "-" : $14;
                                 reached[$3] = $15 == "" ? "-" : $15 }
    END {
      printf "%-16s %-10s %7s %8s %7s %8s %8s %8s %8s %8s %8s %8s %9s %10s\n", "run", "task",
             "minutes", "episodes", "eval", "+-", "random", "scripted", "success", "score",
             "heading", "reached", "learner", "env steps"
      for (t in learned)
        printf "%-16s %-10s %7s %8s %7.1f %8.1f %8.1f %8.1f %8.2f %8s %8s %8s %9s %10s\n", name,
               t, minutes, episodes[t], learned[t], spread[t], random[t], scripted[t],
               success[t], score[t], heading[t], reached[t], step[t], env[t]
    }' "$1"
}
print_row "$eval_csv" "$name"
cp "$eval_csv" "bench/learning/results/${name}_eval.csv"
cp "$run_dir/metrics.csv" "bench/learning/results/${name}_metrics.csv"
[[ -f "$run_dir/learning_curve.png" ]] && cp "$run_dir/learning_curve.png" \
  "bench/learning/results/${name}_learning_curve.png"

final_episodes="${FINAL_EVAL_EPISODES:-100}"
parameters="$run_dir/param_server/parameters.pb"
if [[ "$final_episodes" -gt 0 && -s "$parameters" ]]; then
  final_csv="$run_dir/final_eval.csv"
  rm -f "$final_csv"
  if "$build_dir/services/evaluator/ivg_evaluator" --config="$run_dir/config.textproto" \
       --parameters_file="$parameters" --set "eval.episodes=$final_episodes" \
       --eval_csv="$final_csv" > "$run_dir/final_eval.log" 2>&1; then
    print_row "$final_csv" "${name}(final)"
    cp "$final_csv" "bench/learning/results/${name}_final_eval.csv"
  else
    echo "final evaluation failed: see $run_dir/final_eval.log" >&2
    exit 1
  fi
fi
