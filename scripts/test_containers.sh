#!/usr/bin/env bash
# The docker-compose cluster for real: builds the images, brings up
# deploy/docker/docker-compose.yml and checks, each with a deadline, what its users rely on:
#   1. every service's healthcheck turns healthy;
#   2. actors insert episodes and both learners step (read through the Prometheus container);
#   3. the live policy service answers Act (ivg_policy_client) with a published version;
#   4. `--scale actor=4` gives the replicas distinct actor ids 0..3 (ivg-entrypoint.sh);
#   5. `docker-compose restart` of a replay shard keeps its items (its named Redis volume);
#   6. `docker-compose down` leaves no container behind;
#   7. the secrets come from a generated env file: the services that need them hold them in
#      their environment, none has them on its command line, the actors have none.
# The secrets file is made for the run (deploy/docker/generate-secrets.sh, a temporary path
# passed as IVG_SECRETS_ENV), so the run never reads or replaces deploy/docker/secrets.env.
# and prints "N passed, M failed" (exit 1 if any failed).
#
#   scripts/test_containers.sh                 binaries from the host build (IVG_BUILD_DIR, default
#                                              build/; scripts/test.sh makes it), else from source
#   scripts/test_containers.sh --from-source   the users' self-contained image build (~20 min more)
#   scripts/test_containers.sh --keep          leave the cluster (and a private dockerd) running
#
# Needs root or sudo. Uses the Docker daemon that answers, or installs Debian's docker.io and
# starts a private one for the run (scripts/lib/docker_host.sh); makes the debian:bookworm base
# image with debootstrap when it is absent. Containers talk only to each other on the compose
# network and to loopback; only image builds use the host network (apt-get). Grafana's image
# is not available from Debian, so docker-compose.test.yml leaves it out and builds Prometheus
# from Debian's package instead.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=lib/docker_host.sh
source scripts/lib/docker_host.sh

from_source=false
keep=false
for arg in "$@"; do
  case "$arg" in
    --from-source) from_source=true ;;
    --keep) keep=true ;;
    *) echo "usage: scripts/test_containers.sh [--from-source] [--keep]" >&2; exit 2 ;;
  esac
done

project="${IVG_COMPOSE_PROJECT:-ivgtest}"
secrets_dir="$(mktemp -d /tmp/ivg-secrets.XXXXXX)"
export IVG_SECRETS_ENV="$secrets_dir/secrets.env"
deploy/docker/generate-secrets.sh "$IVG_SECRETS_ENV" >/dev/null
compose=(docker-compose -p "$project" -f deploy/docker/docker-compose.yml
         -f deploy/docker/docker-compose.test.yml)
passed=0
failed=0
failures=()
started=$SECONDS

pass() { passed=$((passed + 1)); ivg_log "PASS $1"; }
fail() { failed=$((failed + 1)); failures+=("$1"); ivg_log "FAIL $1${2:+: $2}"; }

finish() {
  if [[ "$keep" == false ]]; then
    "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
    ivg_docker_stop_daemon
  fi
  rm -rf "$secrets_dir"
  ivg_log "$passed passed, $failed failed ($((SECONDS - started)) s)"
  for f in "${failures[@]}"; do ivg_log "  failed: $f"; done
}
trap finish EXIT

# Waits until "$@" succeeds, up to $1 seconds; prints the last failure's output on timeout.
wait_for() {
  local timeout="$1"
  shift
  local deadline=$((SECONDS + timeout)) out
  while true; do
    if out="$("$@" 2>&1)"; then return 0; fi
    if ((SECONDS >= deadline)); then
      printf '%s\n' "$out" | tail -5 >&2
      return 1
    fi
    sleep 5
  done
}

container_of() { "${compose[@]}" ps -q "$1" | head -n 1; }

# Runs Python in the evaluator's container, on the compose network (it has python3 and
# reaches every service by name).
in_cluster_python() { docker exec -i "$(container_of evaluator)" python3 - "$@"; }

# Sum of a metric (every label set) on one process's /metrics: metric HOST NAME
metric() {
  in_cluster_python "$1" "$2" <<'EOF'
import sys, urllib.request
host, name = sys.argv[1], sys.argv[2]
text = urllib.request.urlopen("http://%s:9400/metrics" % host, timeout=5).read().decode()
values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
          if line.startswith(name + " ") or line.startswith(name + "{")]
if not values:
    sys.exit("%s: no %s" % (host, name))
print(sum(values))
EOF
}

# The Prometheus container's answer to an instant query, one "process value" line per series.
prometheus_query() {
  in_cluster_python "$1" <<'EOF'
import json, sys, urllib.parse, urllib.request
url = "http://prometheus:9090/api/v1/query?query=" + urllib.parse.quote(sys.argv[1])
answer = json.load(urllib.request.urlopen(url, timeout=5))
for series in answer["data"]["result"]:
    print(series["metric"].get("process", "?"), series["value"][1])
EOF
}

# The health of container ID: healthy, starting, unhealthy, or no-healthcheck.
health_of() {
  docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}}' "$1"
}

all_healthy() {
  local ids id bad=()
  ids="$("${compose[@]}" ps -q)"
  [[ -n "$ids" ]] || { echo "no containers"; return 1; }
  for id in $ids; do
    [[ "$(health_of "$id")" == healthy ]] \
      || bad+=("$(docker inspect -f '{{.Name}}' "$id") $(health_of "$id")")
  done
  ((${#bad[@]} == 0)) || { printf 'not healthy: %s\n' "${bad[@]}"; return 1; }
}

service_healthy() {  # service_healthy SERVICE: its container's healthcheck reports healthy
  local id
  id="$("${compose[@]}" ps -q "$1")"
  [[ -n "$id" ]] || { echo "$1 has no container"; return 1; }
  [[ "$(health_of "$id")" == healthy ]]
}

actors_insert_and_both_learners_step() {
  local episodes steps
  episodes="$(prometheus_query 'sum(ivg_replay_inserted_episodes_total)' | awk '{print $2}')"
  steps="$(prometheus_query 'ivg_learner_steps_total')"
  echo "inserted episodes: ${episodes:-none}; learner steps: ${steps//$'\n'/, }"
  awk -v e="${episodes:-0}" 'BEGIN {exit !(e > 0)}' || return 1
  for rank in learner-0 learner-1; do
    printf '%s\n' "$steps" | awk -v r="$rank" '$1 == r && $2 > 0 {found=1} END {exit !found}' \
      || return 1
  done
}

act_answers_with_a_published_version() {
  local out
  out="$(docker exec "$(container_of evaluator)" ivg_policy_client \
           --address=param-server:50100 --config=/etc/ivg/config.textproto --seed=3 \
           --deterministic --deadline_ms=10000 2>&1)" || { echo "$out"; return 1; }
  echo "$out"
  printf '%s\n' "$out" | grep -Eiq 'version:? *[1-9]'
}

actor_ids() {
  local id
  for id in $("${compose[@]}" ps -q actor); do
    docker exec "$id" cat /proc/1/cmdline | tr '\0' '\n' | sed -n 's/^--actor_id=//p'
  done | sort -n | tr '\n' ' '
}

# --- Docker, base image, images --------------------------------------------------------------
ivg_docker_ensure_daemon || { fail "a Docker daemon" "see above"; exit 1; }
ivg_docker_ensure_base_image || { fail "the debian:bookworm base image"; exit 1; }
build_log="$(mktemp /tmp/ivg-image-build.XXXXXX.log)"
build_image() {  # build_image TAG DOCKER-BUILD-ARGS...
  local tag="$1" t0=$SECONDS
  shift
  if ! docker build --network host -t "$tag" "$@" >>"$build_log" 2>&1; then
    tail -30 "$build_log" >&2
    return 1
  fi
  ivg_log "image $tag: $((SECONDS - t0)) s, $(docker image inspect -f '{{.Size}}' "$tag" \
    | awk '{printf "%.2f GB", $1 / 1e9}')"
}
ivg_log "building images (log: $build_log)"
build_dir="${IVG_BUILD_DIR:-build}"
if [[ "$from_source" == false ]] && deploy/docker/install-binaries.sh --targets >/dev/null \
    && staged="$(mktemp -d /tmp/ivg-bin.XXXXXX)" \
    && deploy/docker/install-binaries.sh "$build_dir" "$staged" 2>/dev/null; then
  ivg_log "using the binaries of $build_dir"
  build_image ivg-cluster-base:latest -f deploy/docker/Dockerfile --target runtime-base . \
    && build_image ivg-cluster:latest -f deploy/docker/Dockerfile.prebuilt \
         --build-arg RUNTIME_BASE=ivg-cluster-base:latest "$staged" \
    || { fail "image build"; exit 1; }
  rm -rf "$staged"
else
  ivg_log "building the binaries in the image (no host build in $build_dir, or --from-source)"
  build_image ivg-cluster:latest -f deploy/docker/Dockerfile . || { fail "image build"; exit 1; }
fi
build_image ivg-prometheus:latest -f deploy/docker/Dockerfile.prometheus deploy/docker \
  || { fail "Prometheus image build"; exit 1; }
pass "images build"

# --- The cluster -----------------------------------------------------------------------------
"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
ivg_log "docker-compose up -d --scale actor=4"
if ! "${compose[@]}" up -d --scale actor=4 >>"$build_log" 2>&1; then
  tail -20 "$build_log" >&2
  fail "docker-compose up"
  exit 1
fi

if wait_for 300 all_healthy; then pass "every service healthy"; else fail "every service healthy"; fi
if wait_for 600 actors_insert_and_both_learners_step; then
  pass "actors insert and both learners step: $(actors_insert_and_both_learners_step | tail -1)"
else
  fail "actors insert and both learners step"
fi
if wait_for 120 act_answers_with_a_published_version; then
  pass "Act answers with a published version"
else
  fail "Act answers with a published version"
fi
# The token and password are the generated ones, in the environment of the services that use
# them only, and on no command line.
secrets_where_they_belong() {
  local token service id environ cmdline
  token="$(sed -n 's/^IVG_PUBLISH_TOKEN=//p' "$IVG_SECRETS_ENV")"
  for service in replay-0 param-server learner-0 actor; do
    id="$(container_of "$service")"
    environ="$(docker exec "$id" cat /proc/1/environ | tr '\0' '\n')"
    cmdline="$(docker exec "$id" cat /proc/1/cmdline | tr '\0' ' ')"
    if [[ "$cmdline" == *"$token"* ]]; then echo "$service: the token is on its command line"; return 1; fi
    case "$service" in
      actor) if grep -qE '^IVG_(PUBLISH_TOKEN|REDIS_PASSWORD)=' <<<"$environ"; then
               echo "actor: holds a secret"; return 1; fi ;;
      param-server|learner-0)
        grep -qx "IVG_PUBLISH_TOKEN=$token" <<<"$environ" || { echo "$service: no token"; return 1; } ;;
      replay-0)
        grep -q '^IVG_REDIS_PASSWORD=' <<<"$environ" || { echo "$service: no password"; return 1; } ;;
    esac
  done
}
if out="$(secrets_where_they_belong)"; then
  pass "secrets from the generated env file, on no command line"
else
  fail "secrets from the generated env file, on no command line" "$out"
fi
ids="$(actor_ids)"
if [[ "$ids" == "0 1 2 3 " ]]; then pass "--scale actor=4 gives actor ids $ids"; else
  fail "--scale actor=4 gives actor ids 0 1 2 3" "got '$ids'"
fi

# A shard restart with the actors stopped, so that no insert moves the count meanwhile.
ivg_log "stopping the actors, then restarting replay-0"
"${compose[@]}" stop actor >/dev/null 2>&1
before="$(metric replay-0 ivg_replay_items)"
"${compose[@]}" restart replay-0 >/dev/null 2>&1
ivg_log "replay-0 restarted; waiting for it to be healthy"
# replay-0 alone: the stopped actors never turn healthy again until they are started.
if wait_for 120 service_healthy replay-0 >/dev/null 2>&1; then
  ivg_log "replay-0 healthy again"
else
  ivg_log "replay-0 not healthy within 120 s; reading its items anyway"
fi
after="$(wait_for 60 metric replay-0 ivg_replay_items >/dev/null && metric replay-0 ivg_replay_items)"
if awk -v b="${before:-0}" -v a="${after:-x}" 'BEGIN {exit !(b > 0 && a == b)}'; then
  pass "replay-0 restart keeps its $before items"
else
  fail "replay-0 restart keeps its items" "before ${before:-?}, after ${after:-?}"
fi

if [[ "$keep" == false ]]; then
  "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1
  left="$(docker ps -aq --filter "label=com.docker.compose.project=$project")"
  if [[ -z "$left" ]]; then pass "docker-compose down leaves no container"; else
    fail "docker-compose down leaves no container" "$(echo $left)"
  fi
fi
((failed == 0))
