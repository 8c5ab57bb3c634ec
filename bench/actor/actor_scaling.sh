#!/usr/bin/env bash
# Aggregate env steps/s of 1, 2, 4, 8 actor processes on this machine, against a real
# ivg_replay_server (with its own redis-server) and a parameter service holding one parameter
# set published from a LearnerCore. For each actor count: start the actors, wait until every
# one has stepped, let them run WARMUP seconds, then read each actor's env step counter over
# WINDOW seconds. The anchor is the single-actor figure of the same run; the ratio is
# aggregate / anchor.
#
# IMPL=bench (default): actors are `actor_bench --mode=actor` processes (the real Actor class,
# Actor::Create + Run, exactly what ivg_actor runs, counter written to a file) and the
# parameter service is `actor_bench --mode=param_server`. IMPL=binaries uses ivg_actor and
# ivg_param_server and reads ivg_actor_env_steps_total from /metrics; at the time of writing
# both exit at start-up because their MetricsServer cannot start a worker thread in a process
# that loads LibTorch (bench/README.md).
#
#   BUILD=build CONFIG=configs/cpu_small.textproto bench/actor/actor_scaling.sh
#   CONFIG= bench/actor/actor_scaling.sh        # the paper's network sizes (defaults)
#
# Environment: BUILD (build dir), CONFIG (empty = defaults), COUNTS ("1 2 4 8"), WINDOW (s),
# WARMUP (s), CPUS (taskset list for every process, default all), IMPL (bench | binaries).
set -euo pipefail

BUILD=${BUILD:-build}
CONFIG=${CONFIG-configs/cpu_small.textproto}
COUNTS=${COUNTS:-"1 2 4 8"}
WINDOW=${WINDOW:-20}
WARMUP=${WARMUP:-5}
CPUS=${CPUS:-}
IMPL=${IMPL:-bench}
export LP_NUM_THREADS=1  # llvmpipe: render on the calling thread, like env_bench.

for bin in services/replay/ivg_replay_server services/param_server/ivg_param_server \
           services/actor/ivg_actor bench/actor/actor_bench; do
  [[ -x "$BUILD/$bin" ]] || { echo "missing $BUILD/$bin (build it first)" >&2; exit 1; }
done

run_dir=$(mktemp -d /tmp/actor_scaling.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {  # port, seconds
  for _ in $(seq 1 $(($2 * 10))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1 after $2 s (logs in $run_dir)" >&2
  return 1
}
# Runs in the background subshell that `pin ... &` forks: exec makes $! the process itself, so
# CPU accounting and kill reach it.
pin() { if [[ -n "$CPUS" ]]; then exec taskset -c "$CPUS" "$@"; else exec "$@"; fi; }
# utime + stime of a process in seconds.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat" 2>/dev/null || echo 0
}
steps_of() {  # metrics port or status file -> the actor's env step counter
  if [[ "$IMPL" == binaries ]]; then
    curl -s --max-time 2 "http://127.0.0.1:$1/metrics" |
      awk '/^ivg_actor_env_steps_total[{ ]/ {s += $NF} END {printf "%d\n", s}'
  else
    awk '{print $1} END {if (NR == 0) print 0}' "$1" 2>/dev/null || echo 0
  fi
}

replay_port=$(free_port)
redis_port=$(free_port)
param_port=$(free_port)
config_flag=(--config="$CONFIG")
overrides=(--set "replay.shard_addresses=[\"127.0.0.1:$replay_port\"]"
           --set "cluster.param_server_address=127.0.0.1:$param_port")

pin "$BUILD/services/replay/ivg_replay_server" "${config_flag[@]}" --shard=0 \
  --address="127.0.0.1:$replay_port" --metrics_address=127.0.0.1:0 --start_redis=true --redis_port="$redis_port" \
  --redis_data_dir="$run_dir/redis" --logdir="$run_dir" "${overrides[@]}" \
  >"$run_dir/replay.out" 2>&1 &
replay_pid=$!
pids+=("$replay_pid")
if [[ "$IMPL" == binaries ]]; then
  pin "$BUILD/services/param_server/ivg_param_server" "${config_flag[@]}" \
    --address="127.0.0.1:$param_port" --state_dir="$run_dir/param_server" --logdir="$run_dir" \
    "${overrides[@]}" >"$run_dir/param_server.out" 2>&1 &
  pids+=($!)
  wait_port "$param_port" 60
  "$BUILD/bench/actor/actor_bench" --mode=publish "${config_flag[@]}" \
    --param_server="127.0.0.1:$param_port" --version=1
else
  pin "$BUILD/bench/actor/actor_bench" --mode=param_server "${config_flag[@]}" \
    --port_file="$run_dir/param_port" >"$run_dir/param_server.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do [[ -s "$run_dir/param_port" ]] && break; sleep 0.1; done
  param_port=$(cat "$run_dir/param_port")
  overrides=(--set "replay.shard_addresses=[\"127.0.0.1:$replay_port\"]"
             --set "cluster.param_server_address=127.0.0.1:$param_port")
fi
wait_port "$replay_port" 60
redis_pid=$(pgrep -P "$replay_pid" redis-server || true)
server_cpu() {
  local r=0
  for pid in "$replay_pid" ${redis_pid:+"$redis_pid"}; do r=$(echo "$r + $(cpu_seconds "$pid")" | bc -l); done
  echo "$r"
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) hardware threads, Linux $(uname -r)"
echo "actors: $IMPL; config: ${CONFIG:-<paper defaults>}; window ${WINDOW} s after ${WARMUP} s warm-up; cpus ${CPUS:-all}"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# The replay server's (and its Redis's) CPU use with no actor, as a baseline for its column.
idle0=$(server_cpu); t_idle=$(date +%s.%N)
sleep 5
echo "replay server + redis CPU with no actor: $(printf '%.3f' "$(echo "($(server_cpu) - $idle0) / ($(date +%s.%N) - $t_idle)" | bc -l)") cores"
printf '%-7s %-14s %-10s %-28s %-16s %-24s %-16s %s\n' actors "steps/s (sum)" "x 1 actor" \
  "per actor" "in-episode/actor" "CPU cores actors/replay" "steps/actor-CPU-s" "load avg"
anchor=""
next_id=0
for n in $COUNTS; do
  actor_pids=()
  ports=()
  for ((i = 0; i < n; i++)); do
    if [[ "$IMPL" == binaries ]]; then
      port=$(free_port)
      pin "$BUILD/services/actor/ivg_actor" "${config_flag[@]}" --actor_id="$next_id" \
        --metrics_address="127.0.0.1:$port" --logdir="$run_dir" "${overrides[@]}" \
        >"$run_dir/actor-$next_id.out" 2>&1 &
    else
      port="$run_dir/actor-$next_id.steps"
      pin "$BUILD/bench/actor/actor_bench" --mode=actor "${config_flag[@]}" \
        --actor_id="$next_id" --status_file="$port" "${overrides[@]}" \
        >"$run_dir/actor-$next_id.out" 2>&1 &
    fi
    ports+=("$port")
    actor_pids+=($!)
    pids+=($!)
    next_id=$((next_id + 1))
  done
  for port in "${ports[@]}"; do
    [[ "$IMPL" == binaries ]] && wait_port "$port" 120
    for _ in $(seq 1 1200); do
      [[ "$(steps_of "$port")" -gt 0 ]] && break
      sleep 0.1
    done
  done
  sleep "$WARMUP"
  read_all() { for port in "${ports[@]}"; do steps_of "$port"; done; }
  cpu_all() {
    local a=0
    for pid in "${actor_pids[@]}"; do a=$(echo "$a + $(cpu_seconds "$pid")" | bc -l); done
    echo "$a $(server_cpu)"
  }
  t0=$(date +%s.%N); before=($(read_all)); cpu0=($(cpu_all))
  sleep "$WINDOW"
  t1=$(date +%s.%N); after=($(read_all)); cpu1=($(cpu_all))
  elapsed=$(echo "$t1 - $t0" | bc -l)
  total=0
  per=()
  for ((i = 0; i < n; i++)); do
    d=$((after[i] - before[i]))
    total=$((total + d))
    per+=("$(printf '%.0f' "$(echo "$d / $elapsed" | bc -l)")")
  done
  rate=$(echo "$total / $elapsed" | bc -l)
  [[ -z "$anchor" ]] && anchor=$rate
  actor_cores=$(echo "(${cpu1[0]} - ${cpu0[0]}) / $elapsed" | bc -l)
  replay_cores=$(echo "(${cpu1[1]} - ${cpu0[1]}) / $elapsed" | bc -l)
  # Mean over actors of the last episode's own rate (bench actors only): steps/s while acting,
  # without the episode-start fetch and the episode-end insert.
  in_episode="-"
  if [[ "$IMPL" != binaries ]]; then
    in_episode=$(cat "${ports[@]}" | awk '{s += $2} END {printf "%.0f", s / NR}')
  fi
  printf '%-7s %-14.1f %-10.2f %-28s %-16s %-24s %-16.0f %s\n' "$n" "$rate" \
    "$(echo "$rate / $anchor" | bc -l)" "$(IFS=,; echo "${per[*]}")" "$in_episode" \
    "$(printf '%.2f / %.2f' "$actor_cores" "$replay_cores")" \
    "$(echo "$rate / $actor_cores" | bc -l)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  for pid in "${actor_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${actor_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
done
echo "anchor: 1 actor = $(printf '%.1f' "$anchor") steps/s in this run; logs in $run_dir"
