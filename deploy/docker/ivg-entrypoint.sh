#!/bin/sh
# Entry point of the IVG images: runs the given command (an IVG binary and its flags) after
# replacing the token {ordinal} in any argument with this container's ordinal, so that one
# service definition can be scaled and every replica still gets a distinct, stable id:
#
#   ivg_actor --actor_id={ordinal} ...   ->   ivg_actor --actor_id=5 ...
#
# The ordinal comes from, in order:
#   1. $IVG_ORDINAL, when set (explicit);
#   2. a hostname ending in -<n> (Kubernetes StatefulSet pods: actor-5, replay-1, learner-0);
#   3. docker-compose: the container's name, which compose numbers from 1
#      (<project>_actor_6 in compose 1.x, <project>-actor-6 in compose 2) and which Docker's
#      embedded DNS returns for a reverse lookup of the container's own IP; ordinal = n - 1.
#      The lookup asks DNS only (`getent -s dns`): /etc/hosts maps the IP to the container id.
# A restarted container keeps its name, hence its ordinal; `--scale actor=8` gives 0..7.
# Without any of these the entry point stops with an error instead of guessing.
set -eu

ordinal_from_name() {
  # Prints the trailing number of "$1" (after '-' or '_'), or nothing.
  printf '%s\n' "$1" | sed -n 's/^.*[-_]\([0-9][0-9]*\)$/\1/p'
}

find_ordinal() {
  if [ -n "${IVG_ORDINAL:-}" ]; then
    printf '%s\n' "$IVG_ORDINAL"
    return
  fi
  host="$(hostname)"
  n="$(ordinal_from_name "$host")"
  if [ -n "$n" ]; then
    printf '%s\n' "$n"
    return
  fi
  ip="$(hostname -i 2>/dev/null | awk '{print $1}')"
  if [ -n "$ip" ]; then
    name="$(getent -s dns hosts "$ip" 2>/dev/null | awk '{print $2}' | cut -d. -f1)"
    n="$(ordinal_from_name "${name:-}")"
    if [ -n "$n" ]; then
      printf '%s\n' "$((n - 1))"
      return
    fi
  fi
  echo "ivg-entrypoint: cannot derive this container's ordinal for {ordinal}: set IVG_ORDINAL," \
       "or run it as a StatefulSet pod (hostname <name>-<n>) or a docker-compose service" >&2
  exit 2
}

if [ "$#" -eq 0 ]; then
  echo "usage: ivg-entrypoint <ivg binary> [flags...]   ({ordinal} in a flag is replaced)" >&2
  exit 2
fi

needs_ordinal=false
for arg in "$@"; do
  case "$arg" in *"{ordinal}"*) needs_ordinal=true ;; esac
done
if [ "$needs_ordinal" = true ]; then
  ordinal="$(find_ordinal)"
  case "$ordinal" in
    ''|*[!0-9]*) echo "ivg-entrypoint: ordinal '$ordinal' is not a non-negative integer" >&2; exit 2 ;;
  esac
  for arg in "$@"; do
    shift
    set -- "$@" "$(printf '%s' "$arg" | sed "s/{ordinal}/$ordinal/g")"
  done
  echo "ivg-entrypoint: ordinal $ordinal" >&2
fi
exec "$@"
