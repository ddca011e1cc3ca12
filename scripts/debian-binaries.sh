#!/usr/bin/env bash
# Build a local stand-in for the upstream release archives of Prometheus,
# node_exporter and Alertmanager from Debian's packages, so that the roles'
# `archive` install method (download, sha256 check, unpack) runs here without
# GitHub. Alertmanager comes from both Debian 12 (bookworm, 0.25, without
# msteams_configs) and Debian 13 (trixie, 0.28), so that tests can cover the
# version that lacks Microsoft Teams. apt fetches the trixie package with a
# separate state below .cache/ and leaves the host's apt settings untouched.
#
# Output, below .cache/ in the repository:
#   mirror/prometheus-V.linux-ARCH.tar.gz, mirror/node_exporter-V.linux-ARCH.tar.gz
#   mirror/alertmanager-V.linux-ARCH.tar.gz   (one per Debian release)
#   mirror/sha256sums.txt   (the upstream format: "<sha256>  <file name>")
#   mirror/versions.env     (PROMETHEUS_VERSION=..., NODE_EXPORTER_VERSION=...,
#                            ALERTMANAGER_BOOKWORM_VERSION=...,
#                            ALERTMANAGER_TRIXIE_VERSION=...)
#   bin/prometheus, bin/promtool, bin/node_exporter, bin/amtool
#                           (for controller-side tests; amtool from bookworm)
# The archives keep upstream's layout: one top-level folder named like the
# archive, holding the binaries.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=$repo/.cache
work=$cache/debs
mirror=$cache/mirror
bin=$cache/bin
arch=$(dpkg --print-architecture)

if [[ -f $mirror/versions.env && -x $bin/promtool && -x $bin/node_exporter && -x $bin/amtool ]] &&
  grep -q '^ALERTMANAGER_TRIXIE_VERSION=' "$mirror/versions.env" &&
  tar -tzf "$mirror/alertmanager-$(sed -n 's/^ALERTMANAGER_TRIXIE_VERSION=//p' "$mirror/versions.env").linux-$arch.tar.gz" |
  grep 'default[.]tmpl$' >/dev/null; then
  echo "mirror in $mirror is up to date"
  exit 0
fi

rm -rf "$work" "$mirror" "$bin"
mkdir -p "$work" "$mirror" "$bin"
cd "$work"
# The _apt user cannot write to this folder, so apt downloads as root.
apt-get -o APT::Sandbox::User=root download prometheus prometheus-node-exporter \
  prometheus-alertmanager >/dev/null

# Debian 13's Alertmanager, through an apt state of its own: a sources file,
# package lists and cache below $work, checked with Debian's archive keyring.
trixie=$work/apt-trixie
mkdir -p "$trixie/lists/partial" "$trixie/cache/archives/partial" "$trixie/debs"
cat >"$trixie/trixie.sources" <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
trixie_apt=(
  -o APT::Sandbox::User=root
  -o Dir::Etc::SourceList=/dev/null
  -o Dir::Etc::SourceParts="$trixie"
  -o Dir::State::Lists="$trixie/lists"
  -o Dir::Cache="$trixie/cache"
  -o Dir::State::Status=/dev/null
)
apt-get "${trixie_apt[@]}" update >/dev/null
(cd "$trixie/debs" && apt-get "${trixie_apt[@]}" download prometheus-alertmanager >/dev/null)

version_of() {
  # 2.42.0+ds-5+deb12u1 -> 2.42.0
  dpkg-deb -f "$1" Version | sed -E 's/^[0-9]+://; s/[+~-].*$//'
}

prom_deb=$(ls prometheus_*.deb)
node_deb=$(ls prometheus-node-exporter_*.deb)
am_deb=$(ls prometheus-alertmanager_*.deb)
am_trixie_deb=$(ls "$trixie"/debs/prometheus-alertmanager_*.deb)
prom_version=$(version_of "$prom_deb")
node_version=$(version_of "$node_deb")
am_version=$(version_of "$am_deb")
am_trixie_version=$(version_of "$am_trixie_deb")

dpkg-deb -x "$prom_deb" prom-root
dpkg-deb -x "$node_deb" node-root
dpkg-deb -x "$am_deb" am-root
dpkg-deb -x "$am_trixie_deb" am-trixie-root

prom_dir=prometheus-$prom_version.linux-$arch
node_dir=node_exporter-$node_version.linux-$arch
mkdir -p "$prom_dir" "$node_dir"
install -m 0755 prom-root/usr/bin/prometheus prom-root/usr/bin/promtool "$prom_dir/"
install -m 0755 node-root/usr/bin/prometheus-node-exporter "$node_dir/node_exporter"
# Debian names the server prometheus-alertmanager; upstream's archive calls
# it alertmanager. Debian's build reads its notification templates from
# /usr/share/prometheus/alertmanager instead of embedding them, so the
# archives carry them and the role's archive method installs them there.
am_dir=alertmanager-$am_version.linux-$arch
am_trixie_dir=alertmanager-$am_trixie_version.linux-$arch
mkdir -p "$am_dir" "$am_trixie_dir"
install -m 0755 am-root/usr/bin/prometheus-alertmanager "$am_dir/alertmanager"
install -m 0755 am-root/usr/bin/amtool "$am_dir/amtool"
install -m 0755 am-trixie-root/usr/bin/prometheus-alertmanager "$am_trixie_dir/alertmanager"
install -m 0755 am-trixie-root/usr/bin/amtool "$am_trixie_dir/amtool"
install -m 0644 am-root/usr/share/prometheus/alertmanager/*.tmpl "$am_dir/"
install -m 0644 am-trixie-root/usr/share/prometheus/alertmanager/*.tmpl "$am_trixie_dir/"

# Fixed owner and time stamps, so a rebuild gives the same bytes.
tar_flags=(--owner=0 --group=0 --numeric-owner --mtime=@0 --sort=name)
tar "${tar_flags[@]}" -czf "$mirror/$prom_dir.tar.gz" "$prom_dir"
tar "${tar_flags[@]}" -czf "$mirror/$node_dir.tar.gz" "$node_dir"
tar "${tar_flags[@]}" -czf "$mirror/$am_dir.tar.gz" "$am_dir"
tar "${tar_flags[@]}" -czf "$mirror/$am_trixie_dir.tar.gz" "$am_trixie_dir"
(cd "$mirror" && sha256sum ./*.tar.gz | sed 's# \./# #' >sha256sums.txt)

install -m 0755 "$prom_dir/prometheus" "$prom_dir/promtool" "$node_dir/node_exporter" \
  "$am_dir/amtool" "$bin/"
cat >"$mirror/versions.env" <<VERSIONS
PROMETHEUS_VERSION=$prom_version
NODE_EXPORTER_VERSION=$node_version
ALERTMANAGER_BOOKWORM_VERSION=$am_version
ALERTMANAGER_TRIXIE_VERSION=$am_trixie_version
ARCH=$arch
VERSIONS
rm -rf "$work"
cat "$mirror/versions.env"
