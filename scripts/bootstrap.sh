#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and running IVG cluster needs.
# Idempotent: apt-get skips what is already installed. The package list lives in
# scripts/debian-packages.txt so the Dockerfiles install exactly the same set.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mapfile -t packages < <(grep -v -E '^\s*(#|$)' "${here}/debian-packages.txt")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# kubectl (for `kubectl kustomize` in the deploy tests): Debian's kubernetes-client, unless a
# kubectl is already there (e.g. the Google Cloud SDK's, which conflicts with it).
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive

# Where another kubectl is on PATH, Debian 12's own (1.20, with the old kustomize v2 built in)
# is unpacked beside it, not installed: the deploy tests render the manifests with both,
# because a user may apply them with either (tests/deploy/kubernetes_test.py).
debian_kubectl_dir=/usr/local/lib/ivg/debian-kubectl
if kubectl_path="$(command -v kubectl 2>/dev/null)" \
    && ! dpkg -S "$(readlink -f "$kubectl_path")" 2>/dev/null | grep -q '^kubernetes-client:' \
    && [[ ! -x "$debian_kubectl_dir/kubectl" ]]; then
  unpack="$(mktemp -d)"
  (cd "$unpack" && { apt-get download kubernetes-client >/dev/null 2>&1 \
      || { "${sudo_cmd[@]}" apt-get update -qq && apt-get download kubernetes-client >/dev/null; }; } \
    && dpkg-deb -x kubernetes-client_*.deb root \
    && "${sudo_cmd[@]}" install -D -m 755 root/usr/bin/kubectl "$debian_kubectl_dir/kubectl") \
    && echo "bootstrap: Debian's kubectl unpacked to $debian_kubectl_dir (for the deploy tests)"
  rm -rf "$unpack"
fi

if ((${#missing[@]} == 0)); then
  echo "bootstrap: all ${#packages[@]} packages already installed"
  exit 0
fi
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "bootstrap: installed ${#missing[@]} packages"
