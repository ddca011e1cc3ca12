#!/usr/bin/env bash
# Build the Debian base images that the sandbox and the molecule scenarios boot:
# debootstrap a minimal root filesystem with systemd and Python, then
# `docker import` it. No container registry is needed. An image is rebuilt only
# when this script changes or the image is missing.
#
# Usage: scripts/build-images.sh [bookworm] [trixie]   (default: both, in parallel)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mirror=${VIGIL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache_dir=${VIGIL_CACHE_DIR:-/var/cache/vigil-monitoring}
# python3-yaml and python3-requests run the Grafana HTTP API test double,
# which the sandbox and molecule install in place of Grafana.
packages=systemd,systemd-sysv,dbus,python3,python3-apt,python3-yaml,python3-requests,ca-certificates,curl,iproute2,procps,gnupg
recipe_hash=$(sha256sum "$0" | cut -c1-16)

build_one() {
  local suite=$1
  local image=local/debian-systemd:$suite
  local current
  current=$(docker image inspect --format '{{ index .Config.Labels "vigil.recipe" }}' "$image" 2>/dev/null || true)
  if [[ $current == "$recipe_hash" ]]; then
    echo "image $image is up to date (recipe $recipe_hash)"
    return 0
  fi

  local root=$cache_dir/rootfs-$suite
  rm -rf "$root"
  mkdir -p "$root"
  echo "debootstrap $suite into $root"
  debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" \
    >"$cache_dir/debootstrap-$suite.log" 2>&1 || {
      tail -n 30 "$cache_dir/debootstrap-$suite.log" >&2
      echo "debootstrap of $suite failed; the full log is $cache_dir/debootstrap-$suite.log" >&2
      return 1
    }

  # Updates and security suites, so roles install current packages.
  cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb ${mirror%/debian}/debian-security $suite-security main
SOURCES
  # A container has no consoles and no udev; these units only fail or wait there.
  for unit in getty.target console-getty.service systemd-udevd.service \
      systemd-udev-trigger.service systemd-firstboot.service \
      systemd-remount-fs.service sys-kernel-config.mount; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  : >"$root/etc/machine-id"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

  tar -C "$root" -c . | docker import \
    --change 'CMD ["/lib/systemd/systemd"]' \
    --change 'ENV container=docker' \
    --change "LABEL vigil.recipe=$recipe_hash" \
    - "$image" >/dev/null
  rm -rf "$root"
  echo "built $image"
}

mkdir -p "$cache_dir"
suites=("$@")
[[ ${#suites[@]} -gt 0 ]] || suites=(bookworm trixie)

pids=()
for suite in "${suites[@]}"; do
  case $suite in
    bookworm|trixie) build_one "$suite" & pids+=($!) ;;
    *) echo "unknown suite '$suite': use bookworm or trixie" >&2; exit 2 ;;
  esac
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
