#!/usr/bin/env bash
# The README's two commands on a fresh Debian 12, as a newcomer runs them: in a container made
# from a `debootstrap --variant=minbase bookworm` root (cached between runs), with this
# checkout's files (tracked and untracked-but-not-ignored: what a clone plus local edits
# holds, no build trees), run
#   scripts/test.sh                    the whole test suite; every test must pass
#   scripts/run_cluster.sh --minutes=2 the main job; every process it plans must start
# Catches an install step that only the development machines happen to have. Not part of CI:
# it installs and builds everything from nothing (about 35 minutes on 2 cores).
#
#   scripts/test_fresh_machine.sh           needs root or sudo; Docker as in test_containers.sh
#   scripts/test_fresh_machine.sh --keep    leave the container for a look inside
#
# The packages are installed with the host's network (apt-get, through scripts/bootstrap.sh,
# exactly as both README commands start); the build, the tests and the cluster then run in
# a container of their own with no network but its own loopback, so they cannot collide with
# ports in use on this machine.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=lib/docker_host.sh
source scripts/lib/docker_host.sh

keep=false
[[ "${1:-}" == "--keep" ]] && keep=true
name="ivg-fresh-machine"
image="ivg-fresh-machine:bootstrapped"
started=$SECONDS
log_dir="$(mktemp -d /tmp/ivg-fresh-machine.XXXXXX)"
result=1

finish() {
  if [[ "$keep" == false ]]; then
    docker rm -f "$name" "$name-bootstrap" >/dev/null 2>&1 || true
    docker rmi "$image" >/dev/null 2>&1 || true
    ivg_docker_stop_daemon
  fi
  ivg_log "logs in $log_dir; $((SECONDS - started)) s in all"
  if ((result == 0)); then ivg_log "fresh machine: PASSED"; else ivg_log "fresh machine: FAILED"; fi
}
trap finish EXIT

ivg_docker_ensure_daemon || exit 1
ivg_docker_ensure_base_image || exit 1
docker rm -f "$name" "$name-bootstrap" >/dev/null 2>&1 || true

copy_checkout_into() {  # copy_checkout_into CONTAINER
  docker exec "$1" mkdir -p /root/ivg-cluster
  git ls-files -z --cached --others --exclude-standard \
    | tar --null --files-from=- --ignore-failed-read -cf - \
    | docker exec -i "$1" tar -C /root/ivg-cluster -xf -
}

t0=$SECONDS
ivg_log "installing the packages in a fresh root (scripts/bootstrap.sh, host network)"
docker run -d --name "$name-bootstrap" --network host debian:bookworm sleep infinity >/dev/null
copy_checkout_into "$name-bootstrap"
if ! docker exec -w /root/ivg-cluster "$name-bootstrap" bash scripts/bootstrap.sh \
    >"$log_dir/bootstrap.log" 2>&1; then
  tail -20 "$log_dir/bootstrap.log" >&2
  exit 1
fi
docker commit "$name-bootstrap" "$image" >/dev/null
docker rm -f "$name-bootstrap" >/dev/null
bootstrap_s=$((SECONDS - t0))
ivg_log "bootstrap: $bootstrap_s s ($(tail -1 "$log_dir/bootstrap.log"))"

# /dev/shm as on a normal machine (Docker's default is 64 MB).
docker run -d --name "$name" --network none --shm-size=4g "$image" sleep infinity >/dev/null
in_fresh() { docker exec -w /root/ivg-cluster "$name" "$@"; }

t0=$SECONDS
ivg_log "scripts/test.sh (log: $log_dir/test.log)"
in_fresh bash scripts/test.sh >"$log_dir/test.log" 2>&1
test_rc=$?
test_s=$((SECONDS - t0))
grep -E '^(build|tests): |tests passed|tests failed' "$log_dir/test.log" | sed 's/^/  /' >&2
if ((test_rc != 0)); then
  grep -E '^\s+[0-9]+ - ' "$log_dir/test.log" | sed 's/^/  failed: /' >&2
fi

t0=$SECONDS
ivg_log "scripts/run_cluster.sh --minutes=2 (log: $log_dir/cluster.log)"
in_fresh bash scripts/run_cluster.sh --minutes=2 --run_dir=runs/fresh_machine \
  >"$log_dir/cluster.log" 2>&1
cluster_rc=$?
cluster_s=$((SECONDS - t0))
# Every process the launcher plans must have started: its --dry_run lists them, and each
# started process leaves its log file in <run_dir>/logs.
# --dry_run prints one line per process: its name, then its command line.
planned="$(in_fresh build/services/launcher/ivg_cluster --dry_run --run_dir=runs/fresh_machine \
  2>/dev/null | awk 'NF >= 2 && $2 ~ /^\// {print $1}' | sort)"
missing=()
for process in $planned; do
  in_fresh bash -c "ls runs/fresh_machine/logs/ 2>/dev/null | grep -q '^$process[.]'" \
    || missing+=("$process")
done
ivg_log "main job: exit $cluster_rc, planned $(echo "$planned" | wc -w) processes," \
        "missing: ${missing[*]:-none}; last progress line:"
grep -E 'eval|learner' "$log_dir/cluster.log" | tail -1 | cut -c1-200 >&2

ivg_log "times: bootstrap $bootstrap_s s, scripts/test.sh $test_s s, main job $cluster_s s"
if ((test_rc == 0 && cluster_rc == 0)) && [[ -n "$planned" ]] && ((${#missing[@]} == 0)); then
  result=0
fi
exit $result
