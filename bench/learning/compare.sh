#!/usr/bin/env bash
# Comparison runs: several algorithms (or any configs) on the same task and wall budget, one
# after the other on this machine, then one plot of the evaluator's deterministic return
# against env steps and against wall time for all of them, and a table.
#   bench/learning/compare.sh NAME MINUTES RUNS_FILE [ivg_cluster flags for every run...]
#   bench/learning/compare.sh reach_baselines 10 bench/learning/baselines_cpu_small.txt --task=REACH_RED
# RUNS_FILE lists one run per line: a label, a config file, then --set overrides
# (`field=value`, space-separated); '#' starts a comment. Each run is one
# bench/learning/run.sh row named NAME_LABEL (runs/bench_NAME_LABEL, results copied to
# bench/learning/results/). Writes bench/learning/results/NAME_comparison.{csv,png}.
# IVG_COMPARE_REPORT_ONLY=1 skips the runs and rebuilds the table and plot from the results.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
if [[ $# -lt 3 ]]; then
  sed -n '2,10p' "$0" >&2
  exit 2
fi
name="$1"; minutes="$2"; runs_file="$3"; shift 3
results="bench/learning/results"
mkdir -p "$results"

labels=()
while read -r label config overrides; do
  [[ -z "$label" || "$label" == \#* ]] && continue
  [[ -f "$config" ]] || { echo "compare.sh: $runs_file: no config file '$config'" >&2; exit 2; }
  labels+=("$label")
  set_flags=()
  for o in $overrides; do set_flags+=(--set "$o"); done
  [[ "${IVG_COMPARE_REPORT_ONLY:-0}" == 1 ]] && continue  # re-tabulate and re-plot only
  echo "== ${name}_${label}: $config ${overrides:-} ($minutes min)"
  bench/learning/run.sh "${name}_${label}" "$minutes" --config="$config" \
    "${set_flags[@]+"${set_flags[@]}"}" "$@" || echo "   (no evaluation: see runs/bench_${name}_${label}.log)"
done < "$runs_file"

# One table over all runs. Columns of eval.csv: wall_seconds,policy,task,param_version,
# learner_step,env_steps,episodes,return_mean,return_std,return_min,return_max,success_rate,
# normalized_score,target_heading_cosine,target_reached_rate.
table="$results/${name}_comparison.csv"
echo "run,task,evaluations,final_eval,final_std,best_eval,random,scripted,final_score,learner_steps,env_steps" > "$table"
for label in "${labels[@]}"; do
  csv="$results/${name}_${label}_eval.csv"
  [[ -s "$csv" ]] || continue
  awk -F, -v run="$label" '
    NR > 1 && $2 == "random"   { random[$3] = $8 }
    NR > 1 && $2 == "scripted" { scripted[$3] = $8 }
    NR > 1 && $2 == "learned"  { n[$3]++; final[$3] = $8; spread[$3] = $9; score[$3] = $13;
                                 step[$3] = $5; if ($6 > env[$3]) env[$3] = $6;
                                 if (!($3 in best) || $8 > best[$3]) best[$3] = $8 }
    END { for (t in n) printf "%s,%s,%d,%.2f,%.2f,%.2f,%.2f,%.2f,%s,%s,%s\n", run, t, n[t],
                              final[t], spread[t], best[t], random[t], scripted[t], score[t],
                              step[t], env[t] }' "$csv" >> "$table"
done
column -s, -t < "$table"

# The plot: learned eval return per run against env steps and against wall minutes, with the
# random return of the first run as a line (same seeds in every run; the scripted return, far
# above, is in the title). Rows whose env steps are unknown (-1) leave the first panel.
plot="$results/${name}_comparison.png"
if command -v gnuplot > /dev/null; then
  data="$(mktemp -d)"
  first_csv=""
  series_env=(); series_wall=()
  for label in "${labels[@]}"; do
    csv="$results/${name}_${label}_eval.csv"
    [[ -s "$csv" ]] || continue
    [[ -z "$first_csv" ]] && first_csv="$csv"
    awk -F, '$2 == "learned" && $6 >= 0 { print $6, $8 }' "$csv" > "$data/$label.env"
    awk -F, '$2 == "learned" { print $1 / 60, $8 }' "$csv" > "$data/$label.wall"
    series_env+=("'$data/$label.env' using 1:2 with linespoints title '$label'")
    series_wall+=("'$data/$label.wall' using 1:2 with linespoints title '$label'")
  done
  if [[ -n "$first_csv" ]]; then
    random=$(awk -F, '$2 == "random" { v = $8 } END { printf "%.1f", v }' "$first_csv")
    scripted=$(awk -F, '$2 == "scripted" { v = $8 } END { printf "%.1f", v }' "$first_csv")
    join() { local IFS=","; echo "$*"; }
    gnuplot <<EOF
set terminal pngcairo size 1400,520 noenhanced
set output '$plot'
set multiplot layout 1,2 title '$name: deterministic eval return (random $random, scripted $scripted)'
set key top right
set ylabel 'eval return'
set xlabel 'env steps'
plot $(join "${series_env[@]}"), $random with lines dashtype 2 lc rgb 'gray' title 'random'
set xlabel 'wall minutes'
plot $(join "${series_wall[@]}"), $random with lines dashtype 2 lc rgb 'gray' title 'random'
unset multiplot
EOF
    echo "plot: $plot"
  fi
  rm -rf "$data"
else
  echo "compare.sh: gnuplot not found, no plot (apt-get install gnuplot-nox)" >&2
fi
echo "table: $table"
