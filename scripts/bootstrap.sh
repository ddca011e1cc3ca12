#!/usr/bin/env bash
# Install what the sandbox and the tests need on a Debian controller, each
# step only when it is missing:
#   - Debian packages: docker.io, debootstrap, python3-venv
#   - a running Docker daemon (systemd, or dockerd started in the background)
#   - the Python virtual environment .venv with requirements-test.txt
# The other scripts source it, which also puts .venv/bin first on PATH.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=$repo/.venv

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  if [[ -d /run/systemd/system ]]; then
    systemctl start docker
  else
    echo "bootstrap: starting dockerd (log: /var/log/vigil-dockerd.log)"
    nohup dockerd >/var/log/vigil-dockerd.log 2>&1 &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || {
    echo "bootstrap: the Docker daemon did not start; see /var/log/vigil-dockerd.log" >&2
    exit 1
  }
fi

wanted=$(cat "$repo/requirements.txt" "$repo/requirements-test.txt" | sha256sum | cut -c1-16)
if [[ ! -x $venv/bin/python || $(cat "$venv/.requirements" 2>/dev/null) != "$wanted" ]]; then
  echo "bootstrap: installing the Python requirements into .venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >/dev/null 2>"$venv/pip.log"
  "$venv/bin/pip" install -q -r "$repo/requirements-test.txt" 2>"$venv/pip.log" || {
    tail -n 30 "$venv/pip.log" >&2
    echo "bootstrap: pip install failed; the full log is $venv/pip.log" >&2
    exit 1
  }
  echo "$wanted" >"$venv/.requirements"
fi
export PATH=$venv/bin:$PATH
