#!/usr/bin/env bash
# The main job: a local IVG cluster on embedded defaults, from a fresh Debian 12 machine.
# Installs the packages, builds, then runs `ivg_cluster`, which starts the replay shards (each
# with its own redis-server), the parameter server, the learners, the actors and the evaluator
# as separate processes on loopback and prints a progress line every few seconds; how many of
# each the profile decides (without a GPU cpu-state: 1 shard, 1 learner, 4 actors). Ctrl-C
# stops all.
# Any ivg_cluster flag passes through, e.g.:
#   scripts/run_cluster.sh --task=STACK_RED --minutes=30 --run_dir=runs/stack1
#   scripts/run_cluster.sh --config=configs/lift_r.textproto --set learner.imagination_horizon=20
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/bootstrap.sh
build_dir="${IVG_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target ivg_cluster ivg_replay_server ivg_param_server \
  ivg_learner ivg_actor ivg_evaluator ivg_policy_client ivg_env_viewer
exec "$build_dir/services/launcher/ivg_cluster" "$@"
