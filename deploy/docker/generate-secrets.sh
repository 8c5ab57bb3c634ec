#!/bin/sh
# Writes the compose cluster's secrets file (default deploy/docker/secrets.env, or the path
# given): a random publish token for the learners and a random Redis password for the replay
# shards, 24 bytes each from /dev/urandom as hex, readable by its owner only. The services
# that use them read it as their env_file (docker-compose.yml); for Kubernetes, load the same
# file into the Secret the manifests reference:
#   kubectl create secret generic ivg-secrets --from-env-file=deploy/docker/secrets.env -n ivg
# An existing file is kept (the Redis volumes hold data written under its password);
# --force replaces it.
set -eu
force=false
if [ "${1:-}" = "--force" ]; then force=true; shift; fi
out="${1:-$(dirname "$0")/secrets.env}"
if [ -e "$out" ] && [ "$force" = false ]; then
  echo "generate-secrets: $out exists; kept (--force replaces it)"
  exit 0
fi
random_hex() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
umask 077
tmp="$out.tmp.$$"
{
  echo "# IVG cluster secrets (deploy/docker/generate-secrets.sh); keep private."
  echo "IVG_PUBLISH_TOKEN=$(random_hex)"
  echo "IVG_REDIS_PASSWORD=$(random_hex)"
} > "$tmp"
mv "$tmp" "$out"
echo "generate-secrets: wrote $out (mode 0600)"
