#!/usr/bin/env bash
# Build a local stand-in for the upstream release archives of Prometheus and
# node_exporter from Debian's packages, so that the roles' `archive` install
# method (download, sha256 check, unpack) runs here without GitHub.
#
# Output, below .cache/ in the repository:
#   mirror/prometheus-V.linux-ARCH.tar.gz, mirror/node_exporter-V.linux-ARCH.tar.gz
#   mirror/sha256sums.txt   (the upstream format: "<sha256>  <file name>")
#   mirror/versions.env     (PROMETHEUS_VERSION=..., NODE_EXPORTER_VERSION=...)
#   bin/prometheus, bin/promtool, bin/node_exporter   (for controller-side tests)
# The archives keep upstream's layout: one top-level folder named like the
# archive, holding the binaries.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=$repo/.cache
work=$cache/debs
mirror=$cache/mirror
bin=$cache/bin
arch=$(dpkg --print-architecture)

if [[ -f $mirror/versions.env && -x $bin/promtool && -x $bin/node_exporter ]]; then
  echo "mirror in $mirror is up to date"
  exit 0
fi

rm -rf "$work" "$mirror" "$bin"
mkdir -p "$work" "$mirror" "$bin"
cd "$work"
# The _apt user cannot write to this folder, so apt downloads as root.
apt-get -o APT::Sandbox::User=root download prometheus prometheus-node-exporter >/dev/null

version_of() {
  # 2.42.0+ds-5+deb12u1 -> 2.42.0
  dpkg-deb -f "$1" Version | sed -E 's/^[0-9]+://; s/[+~-].*$//'
}

prom_deb=$(ls prometheus_*.deb)
node_deb=$(ls prometheus-node-exporter_*.deb)
prom_version=$(version_of "$prom_deb")
node_version=$(version_of "$node_deb")

dpkg-deb -x "$prom_deb" prom-root
dpkg-deb -x "$node_deb" node-root

prom_dir=prometheus-$prom_version.linux-$arch
node_dir=node_exporter-$node_version.linux-$arch
mkdir -p "$prom_dir" "$node_dir"
install -m 0755 prom-root/usr/bin/prometheus prom-root/usr/bin/promtool "$prom_dir/"
install -m 0755 node-root/usr/bin/prometheus-node-exporter "$node_dir/node_exporter"

# Fixed owner and time stamps, so a rebuild gives the same bytes.
tar_flags=(--owner=0 --group=0 --numeric-owner --mtime=@0 --sort=name)
tar "${tar_flags[@]}" -czf "$mirror/$prom_dir.tar.gz" "$prom_dir"
tar "${tar_flags[@]}" -czf "$mirror/$node_dir.tar.gz" "$node_dir"
(cd "$mirror" && sha256sum ./*.tar.gz | sed 's# \./# #' >sha256sums.txt)

install -m 0755 "$prom_dir/prometheus" "$prom_dir/promtool" "$node_dir/node_exporter" "$bin/"
cat >"$mirror/versions.env" <<VERSIONS
PROMETHEUS_VERSION=$prom_version
NODE_EXPORTER_VERSION=$node_version
ARCH=$arch
VERSIONS
rm -rf "$work"
cat "$mirror/versions.env"
