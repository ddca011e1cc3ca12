#!/usr/bin/env bash
# The local sandbox: Debian hosts as systemd containers on a private Docker
# network, an inventory for them, and site.yml run against it.
#
#   scripts/sandbox.sh run [--debian 12|13] [ansible-playbook options]
#       create the hosts when missing, install the sample service on the
#       application hosts, then run site.yml (the main job)
#   scripts/sandbox.sh up [--debian 12|13]      create the hosts and inventory
#   scripts/sandbox.sh playbook FILE [options]  run one playbook on the sandbox
#   scripts/sandbox.sh down [--images]          remove the hosts (and images)
#
# Hosts: vigil-mon1 (Prometheus, Grafana, Alertmanager), vigil-app1 and vigil-app2 (applications);
# all run node_exporter. Traffic stays between them and the controller's
# loopback, where a mirror serves the release archives.
#
# Environment: VIGIL_SANDBOX_NAME (default vigil), the prefix of the
# container and network names, so that several clones can each run a
# sandbox; VIGIL_SANDBOX_SUBNET (default 172.30.213.0/24, required with
# another name); VIGIL_MIRROR_PORT (default 18080).
#
# VIGIL_SANDBOX_SET=production selects a second, separate set of hosts that
# the tests deploy to as production: NAME-prod-mon1, NAME-prod-app1 and
# NAME-prod-app2 on the network NAME-production (VIGIL_PRODUCTION_SUBNET,
# default 172.30.219.0/24, required with another name), with the inventory
# inventories/sandbox-production. It reuses the base images, the release
# archives and the mirror port, so run one set's playbooks at a time.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
name=${VIGIL_SANDBOX_NAME:-vigil}
network=$name-sandbox
if [[ $name != vigil && -z ${VIGIL_SANDBOX_SUBNET:-} ]]; then
  echo "sandbox: VIGIL_SANDBOX_NAME is '$name': also set VIGIL_SANDBOX_SUBNET to a free /24, such as 172.30.220.0/24" >&2
  exit 2
fi
subnet=${VIGIL_SANDBOX_SUBNET:-172.30.213.0/24}
prefix=${subnet%.*/*}
mirror_port=${VIGIL_MIRROR_PORT:-18080}
inventory=$repo/inventories/sandbox
state=$repo/.cache/sandbox
mon1=$name-mon1
app1=$name-app1
app2=$name-app2
case ${VIGIL_SANDBOX_SET:-main} in
  main) ;;
  production)
    if [[ $name != vigil && -z ${VIGIL_PRODUCTION_SUBNET:-} ]]; then
      echo "sandbox: VIGIL_SANDBOX_NAME is '$name': also set VIGIL_PRODUCTION_SUBNET to a free /24, such as 172.30.221.0/24" >&2
      exit 2
    fi
    network=$name-production
    subnet=${VIGIL_PRODUCTION_SUBNET:-172.30.219.0/24}
    prefix=${subnet%.*/*}
    inventory=$repo/inventories/sandbox-production
    state=$repo/.cache/sandbox-production
    mon1=$name-prod-mon1
    app1=$name-prod-app1
    app2=$name-prod-app2
    ;;
  *) echo "sandbox: VIGIL_SANDBOX_SET must be main or production, not '$VIGIL_SANDBOX_SET'" >&2; exit 2 ;;
esac
hosts=("$mon1" "$app1" "$app2")
declare -A address=([$mon1]=$prefix.10 [$app1]=$prefix.11 [$app2]=$prefix.12)

usage() {
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

suite_for() {
  case $1 in
    12|bookworm) echo bookworm ;;
    13|trixie) echo trixie ;;
    *) echo "sandbox: --debian takes 12 or 13, not '$1'" >&2; exit 2 ;;
  esac
}

create_hosts() {
  local suite=$1
  docker network inspect "$network" >/dev/null 2>&1 ||
    docker network create --subnet "$subnet" "$network" >/dev/null || {
      echo "sandbox: could not create network $network on $subnet; set VIGIL_SANDBOX_SUBNET to a free /24" >&2
      exit 1
    }
  for host in "${hosts[@]}"; do
    # A host made from an older build of the image is made anew, so that it
    # has what the current recipe installs.
    local running_image wanted_id
    running_image=$(docker inspect --format '{{ .Config.Image }}' "$host" 2>/dev/null || true)
    wanted_id=$(docker image inspect --format '{{ .Id }}' "local/debian-systemd:$suite")
    if [[ -n $running_image && $(docker inspect --format '{{ .Image }}' "$host") != "$wanted_id" ]]; then
      echo "sandbox: $host runs an older image than local/debian-systemd:$suite; recreating it"
      docker rm -f "$host" >/dev/null
      docker volume rm -f "$host-data" >/dev/null
      running_image=
    fi
    if [[ -z $running_image ]]; then
      docker run -d --name "$host" --hostname "$host" \
        --network "$network" --ip "${address[$host]}" \
        --label "vigil.sandbox=$name" \
        --cap-add SYS_ADMIN --cap-add NET_ADMIN \
        --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
        --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
        --tmpfs /run --tmpfs /run/lock \
        -v "$host-data:/var/lib/prometheus" \
        --stop-signal SIGRTMIN+3 -e container=docker \
        "local/debian-systemd:$suite" /lib/systemd/systemd >/dev/null
      echo "sandbox: started $host (${address[$host]}, Debian $suite)"
    else
      docker start "$host" >/dev/null
    fi
  done
  for host in "${hosts[@]}"; do
    for _ in $(seq 1 30); do
      docker exec "$host" systemctl is-system-running 2>/dev/null | grep -qE 'running|degraded' && break
      sleep 1
    done
  done
}

write_inventory() {
  mkdir -p "$inventory/group_vars/all" "$state"
  source "$repo/.cache/mirror/versions.env"
  # The controller's address on the sandbox network, where test receivers
  # of alert notifications listen.
  local gateway
  gateway=$(docker network inspect --format '{{ range .IPAM.Config }}{{ .Gateway }}{{ end }}' "$network")
  if [[ -z $gateway ]]; then
    # A network made without --gateway can lack the gateway in its settings
    # (seen with Docker 20.10), so the address comes from its bridge then.
    local bridge
    bridge=br-$(docker network inspect --format '{{ .Id }}' "$network" | cut -c1-12)
    gateway=$(ip -4 -o addr show dev "$bridge" | awk '{ sub("/.*", "", $4); print $4; exit }')
  fi
  cat >"$inventory/hosts.yml" <<HOSTS
---
# Written by scripts/sandbox.sh.
all:
  children:
    prometheus:
      hosts:
        $mon1: {vigil_address: ${address[$mon1]}}
    grafana:
      hosts:
        $mon1:
    alertmanager:
      hosts:
        $mon1:
    app_user_management:
      hosts:
        $app1: {vigil_address: ${address[$app1]}}
        $app2: {vigil_address: ${address[$app2]}}
    node_exporter:
      children:
        prometheus:
        app_user_management:
HOSTS
  cat >"$inventory/group_vars/all/generated.yml" <<GENERATED
---
# Written by scripts/sandbox.sh.
sandbox_mirror_url: http://127.0.0.1:$mirror_port
sandbox_gateway: $gateway
sandbox_prometheus_version: "$PROMETHEUS_VERSION"
sandbox_node_exporter_version: "$NODE_EXPORTER_VERSION"
sandbox_grafana_version: "$GRAFANA_VERSION"
sandbox_alertmanager_version: "$ALERTMANAGER_TRIXIE_VERSION"
GENERATED
  # Existing passwords stay; a password that a newer version of this script
  # needs is added.
  local secrets=$inventory/group_vars/all/secrets.yml
  (umask 077 && python3 - "$secrets" <<'PY'
import pathlib
import secrets
import sys

import yaml

path = pathlib.Path(sys.argv[1])
known = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
names = (
    "prometheus_web_password",
    "node_exporter_web_password",
    "grafana_admin_password",
    "grafana_secret_key",
    "sandbox_grafana_user_password",
    "app_telemetry_web_password",
    "alertmanager_web_password",
)
if any(name not in known for name in names):
    lines = ["---", "# Random passwords of this sandbox, written by scripts/sandbox.sh."]
    for name in names:
        lines.append(f"{name}: {known.get(name) or secrets.token_urlsafe(24)}")
    path.write_text("\n".join(lines) + "\n")
PY
  )
}

start_mirror() {
  if [[ -f $state/mirror.pid ]] && kill -0 "$(cat "$state/mirror.pid")" 2>/dev/null; then
    return 0
  fi
  mkdir -p "$state"
  python3 -m http.server --bind 127.0.0.1 --directory "$repo/.cache/mirror" "$mirror_port" \
    >"$state/mirror.log" 2>&1 &
  echo $! >"$state/mirror.pid"
  for _ in $(seq 1 20); do
    curl -fsS "http://127.0.0.1:$mirror_port/sha256sums.txt" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "sandbox: the mirror did not start on 127.0.0.1:$mirror_port (log: $state/mirror.log); set VIGIL_MIRROR_PORT to a free port" >&2
  exit 1
}

stop_mirror() {
  if [[ -f $state/mirror.pid ]]; then
    kill "$(cat "$state/mirror.pid")" 2>/dev/null || true
    rm -f "$state/mirror.pid"
  fi
}

up() {
  local suite=bookworm
  while [[ $# -gt 0 ]]; do
    case $1 in
      --debian) suite=$(suite_for "${2:-}"); shift 2 ;;
      *) echo "sandbox: unknown option '$1'" >&2; usage ;;
    esac
  done
  source "$repo/scripts/bootstrap.sh"
  "$repo/scripts/build-images.sh" "$suite"
  "$repo/scripts/debian-binaries.sh" >/dev/null
  "$repo/scripts/grafana-double-archive.sh" >/dev/null
  create_hosts "$suite"
  write_inventory
}

playbook() {
  source "$repo/scripts/bootstrap.sh"
  [[ -f $inventory/hosts.yml ]] || { echo "sandbox: no sandbox yet; run 'scripts/sandbox.sh up' first" >&2; exit 1; }
  start_mirror
  trap stop_mirror EXIT
  ansible-playbook -i "$inventory" "$@"
}

down() {
  stop_mirror
  for host in "${hosts[@]}"; do
    docker rm -f "$host" >/dev/null 2>&1 && echo "sandbox: removed $host" || true
    docker volume rm -f "$host-data" >/dev/null 2>&1 || true
  done
  docker network rm "$network" >/dev/null 2>&1 || true
  rm -f "$inventory/hosts.yml" "$inventory/group_vars/all/generated.yml" "$inventory/group_vars/all/secrets.yml"
  rm -rf "$state"
  if [[ ${1:-} == --images ]]; then
    docker image rm -f local/debian-systemd:bookworm local/debian-systemd:trixie >/dev/null 2>&1 || true
    echo "sandbox: removed the base images"
  fi
}

command=${1:-run}
[[ $# -gt 0 ]] && shift
case $command in
  up) up "$@" ;;
  run)
    up_args=()
    if [[ ${1:-} == --debian ]]; then up_args=("$1" "${2:-}"); shift 2; fi
    up "${up_args[@]}"
    # The sample User Management service, whose exporter site.yml turns on.
    playbook tests/sample_service/deploy.yml
    playbook site.yml "$@"
    ;;
  playbook) [[ $# -gt 0 ]] || usage; playbook "$@" ;;
  down) down "$@" ;;
  -h|--help|help) usage ;;
  *) echo "sandbox: unknown command '$command'" >&2; usage ;;
esac
