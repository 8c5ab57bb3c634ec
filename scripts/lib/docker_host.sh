# Docker on a machine that may have none running, for scripts/test_containers.sh and
# scripts/test_fresh_machine.sh (source it; it defines functions only).
#
#   ivg_docker_ensure_daemon   use the Docker daemon that answers, or install Debian's docker.io
#                              and start a private dockerd (stopped by ivg_docker_stop_daemon)
#   ivg_docker_ensure_base_image   make debian:bookworm from a debootstrap minbase root when the
#                              daemon has no such image (the root is cached between runs)
#
# No image registry is reachable from this project's machines, so the base image is built
# locally. A private daemon runs without iptables and without the default bridge: containers
# reach each other only on the networks compose (or a test) creates, and use the host's
# network only where a script asks for it (apt-get during image builds).
#
# State is kept under IVG_DOCKER_CACHE (default ~/.cache/ivg-docker): the debootstrap root
# tarball and the private daemon's data root, so a second run reuses the images of the first.
# Delete that folder to measure a run from nothing.

IVG_DOCKER_CACHE="${IVG_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ivg-docker}"
IVG_DOCKER_STARTED_DAEMON=""
IVG_DOCKER_EXEC_ROOT=""

ivg_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

ivg_as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

ivg_docker_apt_install() {
  # Installs the Debian packages named, when missing.
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  ivg_log "installing ${missing[*]}"
  ivg_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  ivg_as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ivg_docker_answers() { docker info >/dev/null 2>&1; }

ivg_docker_ensure_daemon() {
  if command -v docker >/dev/null 2>&1 && ivg_docker_answers; then
    ivg_log "using the running Docker daemon ($(docker info -f '{{.ServerVersion}}' 2>/dev/null))"
    return 0
  fi
  ivg_docker_apt_install docker.io
  # The socket and exec root stay short (containerd's socket paths must fit in 108 bytes);
  # the data root (images, volumes) lives in the cache so that images survive the run.
  IVG_DOCKER_EXEC_ROOT="$(mktemp -d /tmp/ivg-dockerd.XXXXXX)"
  mkdir -p "$IVG_DOCKER_CACHE/data-root"
  local driver="${IVG_DOCKER_STORAGE_DRIVER:-}"
  if [[ -z "$driver" ]]; then
    # overlay2 where the kernel and the data root's file system allow it (ext4 and xfs do),
    # vfs (a full copy per layer: slower, larger, works everywhere) otherwise.
    if grep -qw overlay /proc/filesystems; then driver=overlay2; else driver=vfs; fi
  fi
  export DOCKER_HOST="unix://$IVG_DOCKER_EXEC_ROOT/docker.sock"
  ivg_log "starting a private dockerd ($driver, data root $IVG_DOCKER_CACHE/data-root)"
  ivg_as_root dockerd --storage-driver="$driver" --iptables=false --ip6tables=false \
    --bridge=none --data-root="$IVG_DOCKER_CACHE/data-root" \
    --exec-root="$IVG_DOCKER_EXEC_ROOT/exec" --pidfile="$IVG_DOCKER_EXEC_ROOT/dockerd.pid" \
    -H "$DOCKER_HOST" >"$IVG_DOCKER_EXEC_ROOT/dockerd.log" 2>&1 &
  IVG_DOCKER_STARTED_DAEMON=$!
  local deadline=$((SECONDS + 60))
  until ivg_docker_answers; do
    if ! kill -0 "$IVG_DOCKER_STARTED_DAEMON" 2>/dev/null || ((SECONDS > deadline)); then
      ivg_log "dockerd did not start; its log:"
      tail -20 "$IVG_DOCKER_EXEC_ROOT/dockerd.log" >&2
      if [[ "$driver" == overlay2 && -z "${IVG_DOCKER_STORAGE_DRIVER:-}" ]]; then
        ivg_log "retrying with the vfs storage driver"
        ivg_docker_stop_daemon
        IVG_DOCKER_STORAGE_DRIVER=vfs ivg_docker_ensure_daemon
        return
      fi
      return 1
    fi
    sleep 1
  done
  # Socket owned by root; a non-root caller reaches it through sudo-started dockerd's group.
  ivg_as_root chmod 666 "$IVG_DOCKER_EXEC_ROOT/docker.sock" || true
}

ivg_docker_stop_daemon() {
  [[ -z "$IVG_DOCKER_STARTED_DAEMON" ]] && return 0
  ivg_log "stopping the private dockerd"
  local pid
  pid="$(cat "$IVG_DOCKER_EXEC_ROOT/dockerd.pid" 2>/dev/null || echo "$IVG_DOCKER_STARTED_DAEMON")"
  ivg_as_root kill "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while ivg_as_root kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 1; done
  ivg_as_root kill -9 "$pid" 2>/dev/null || true
  # dockerd leaves its default network namespace mounted.
  for ns in "$IVG_DOCKER_EXEC_ROOT"/exec/netns/*; do
    [[ -e "$ns" ]] && ivg_as_root umount "$ns" 2>/dev/null
  done
  ivg_as_root rm -rf "$IVG_DOCKER_EXEC_ROOT"
  IVG_DOCKER_STARTED_DAEMON=""
  unset DOCKER_HOST
}

ivg_docker_ensure_base_image() {
  # debian:bookworm from `debootstrap --variant=minbase`, with this machine's apt sources
  # (its mirror is the one known to be reachable).
  local image="${IVG_BASE_IMAGE:-debian:bookworm}"
  if docker image inspect "$image" >/dev/null 2>&1; then
    ivg_log "base image $image present"
    return 0
  fi
  local tarball="$IVG_DOCKER_CACHE/debian-bookworm-minbase.tar"
  if [[ ! -s "$tarball" ]]; then
    ivg_docker_apt_install debootstrap
    local root mirror
    root="$(mktemp -d /tmp/ivg-bookworm.XXXXXX)"
    mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)"
    mirror="${mirror:-http://deb.debian.org/debian}"
    ivg_log "debootstrap --variant=minbase bookworm from $mirror (a few minutes, cached after)"
    ivg_as_root debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
      tail -20 "$root.log" >&2
      return 1
    }
    if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
      ivg_as_root cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
      ivg_as_root rm -f "$root/etc/apt/sources.list"
    fi
    for conf in /etc/apt/apt.conf.d/99artifact-registry; do
      # Snapshot mirrors serve Release files past their Valid-Until date.
      [[ -f "$conf" ]] && ivg_as_root cp "$conf" "$root/etc/apt/apt.conf.d/"
    done
    ivg_as_root rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
    mkdir -p "$IVG_DOCKER_CACHE"
    ivg_as_root tar -C "$root" -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
    ivg_as_root rm -rf "$root" "$root.log"
  fi
  ivg_log "importing $tarball as $image"
  docker import "$tarball" "$image" >/dev/null
}
