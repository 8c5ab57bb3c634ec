#!/usr/bin/env bash
# The paper's fig. 4-5 analogue from state: one multi-task run on the paper's source set
# (Reach-R, Reach-B, Lift-B, Stack-B, Move-B; ivg_cluster --multitask) for SOURCE_MINUTES,
# then TASK from scratch and transferred from it (bench/learning/paper/transfer.txt), MINUTES
# and SEEDS seeds each; the table holds each arm's env steps to 0.5 normalised, whose ratio
# is the transfer speed-up, and the plot both curves.
#   bench/learning/paper/transfer.sh [SOURCE_MINUTES] [MINUTES] [SEEDS] [TASK]
#   bench/learning/paper/transfer.sh 30 20 3 LIFT_RED
# IVG_PAPER_SKIP_SOURCE=1 reuses runs/bench_transfer_source.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
source_minutes="${1:-30}"; minutes="${2:-20}"; seeds="${3:-3}"; task="${4:-LIFT_RED}"
cd "$repo"
if [[ "${IVG_PAPER_SKIP_SOURCE:-0}" != 1 && "${IVG_PAPER_REPORT_ONLY:-0}" != 1 ]]; then
  echo "== transfer_source: multi-task source set ($source_minutes min)"
  FINAL_EVAL_EPISODES=20 bench/learning/run.sh transfer_source "$source_minutes" \
    --profile=cpu-state --multitask --set eval.write_videos=false < /dev/null ||
    echo "   (no evaluation: see runs/bench_transfer_source.log)"
fi
if [[ "${IVG_PAPER_REPORT_ONLY:-0}" != 1 && ! -s runs/bench_transfer_source/checkpoint_rank0.pt ]]; then
  echo "transfer.sh: no source checkpoint runs/bench_transfer_source/checkpoint_rank0.pt" >&2
  exit 1
fi
exec "$here/run_arms.sh" "transfer_$(echo "$task" | tr 'A-Z' 'a-z')" "$minutes" "$seeds" \
  "$here/transfer.txt" --profile=cpu-state --task="$task"
