#!/usr/bin/env bash
# The paper's fig. 3 analogue: IVG(5), IVG(5) single-horizon, IVG(1), IVG(20), IVG(0), SVG(0),
# PG and CEM (bench/learning/paper/algorithms.txt) from state on Reach-R, MINUTES each (5),
# SEEDS seeds each (3), one after the other; then the table (final score on 100 seeds, env
# steps to 0.5 normalised) and the plot over seeds (report.py).
#   bench/learning/paper/algorithms.sh [MINUTES] [SEEDS] [ivg_cluster flags...]
#   IVG_PAPER_ONLY_ARMS="ivg5 svg0" bench/learning/paper/algorithms.sh 5 3
# 8 arms x 3 seeds x 5 minutes is ~2.5 hours on the 2-core machine (each row adds ~1 minute
# of start-up and final evaluation).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
minutes="${1:-5}"; seeds="${2:-3}"
shift $(( $# < 2 ? $# : 2 ))
exec "$here/run_arms.sh" algorithms "$minutes" "$seeds" "$here/algorithms.txt" \
  --profile=cpu-state --task=REACH_RED "$@"
