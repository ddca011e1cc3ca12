#!/usr/bin/env bash
# Lay out the Grafana HTTP API test double (tests/grafana_double) as a Grafana
# release archive, so that the grafana role's `archive` install method
# (download, sha256 check, unpack, `bin/grafana server`, `bin/grafana cli`)
# runs in tests and in the sandbox. This machine cannot install any build of
# Grafana. The archive contains the double, not Grafana: its version string
# only names the Grafana release whose HTTP API the double models.
#
# Output, below .cache/mirror/ in the repository:
#   grafana-V.linux-ARCH.tar.gz   top folder grafana-vV/ as in Grafana's
#                                 archives, with bin/grafana, bin/grafana-server,
#                                 bin/grafana-cli and share/grafana-double/
#   sha256sums.txt                one "<sha256>  <file name>" line for the
#                                 archive is replaced or appended; the other
#                                 lines stay as they are
#   versions.env                  GRAFANA_VERSION=V is replaced or appended
#
# The double needs python3 with PyYAML and requests on the host (Debian:
# python3-yaml python3-requests); the role does not install them.
#
# Usage: scripts/grafana-double-archive.sh          (VIGIL_GRAFANA_VERSION
#        overrides the version, default 12.2.0)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
mirror=$repo/.cache/mirror
double=$repo/tests/grafana_double
version=${VIGIL_GRAFANA_VERSION:-12.2.0}
arch=$(dpkg --print-architecture)
name=grafana-$version.linux-$arch.tar.gz
top=grafana-v$version

[[ -f $double/grafana-server && -f $double/grafana-cli ]] || {
  echo "grafana-double-archive: the double is missing from $double" >&2
  exit 1
}
mkdir -p "$mirror"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

root=$work/$top
mkdir -p "$root/bin" "$root/share/grafana-double"
install -m 0644 "$double"/*.py "$double/README.md" "$root/share/grafana-double/"
install -m 0755 "$double/grafana-server" "$double/grafana-cli" "$root/share/grafana-double/"

# bin/grafana-server and bin/grafana-cli run the double's entry scripts, which
# load the package from their own folder.
for tool in grafana-server grafana-cli; do
  cat >"$root/bin/$tool" <<WRAPPER
#!/bin/sh
# Test double of Grafana's $tool: runs tests/grafana_double.
here=\$(dirname "\$(readlink -f "\$0")")
exec python3 "\$here/../share/grafana-double/$tool" "\$@"
WRAPPER
done

# bin/grafana takes the two subcommands of Grafana's single binary that the
# role uses: `grafana server ...` and `grafana cli ...`.
cat >"$root/bin/grafana" <<'WRAPPER'
#!/bin/sh
# Test double of Grafana's `grafana` binary: `server` and `cli` run
# tests/grafana_double.
here=$(dirname "$(readlink -f "$0")")
command=${1:-}
[ $# -gt 0 ] && shift
case $command in
  server) exec "$here/grafana-server" "$@" ;;
  cli) exec "$here/grafana-cli" "$@" ;;
  *)
    echo "grafana (test double): unknown command '$command': use server or cli" >&2
    exit 2
    ;;
esac
WRAPPER
chmod 0755 "$root/bin/grafana" "$root/bin/grafana-server" "$root/bin/grafana-cli"

cat >"$root/VERSION" <<VERSION
$version (Grafana HTTP API test double from tests/grafana_double, not Grafana)
VERSION

# Fixed owner, order and time stamps, so a rebuild gives the same bytes.
tar --owner=0 --group=0 --numeric-owner --mtime=@0 --sort=name \
  -C "$work" -cf - "$top" | gzip -n >"$work/$name"
mv "$work/$name" "$mirror/$name"

# Replace the lines that match a pattern with one line, and keep the others.
replace_line() {
  local file=$1 pattern=$2 line=$3
  touch "$file"
  { grep -v -- "$pattern" "$file" || true; echo "$line"; } >"$file.new"
  mv "$file.new" "$file"
}

checksum=$(sha256sum "$mirror/$name" | cut -d' ' -f1)
replace_line "$mirror/sha256sums.txt" "  $name\$" "$checksum  $name"
replace_line "$mirror/versions.env" '^GRAFANA_VERSION=' "GRAFANA_VERSION=$version"

echo "$mirror/$name ($checksum)"
