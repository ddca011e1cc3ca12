#!/usr/bin/env bash
# The test suite. On a fresh Debian machine it first installs what it needs
# (scripts/bootstrap.sh: docker.io, debootstrap, dockerd, .venv). The molecule
# and integration phases build the Debian base images they need, once per
# recipe. The phases run in this order:
#   lint         yamllint, ansible-lint (production profile), ruff, ansible-test sanity
#   unit         pytest tests/unit (modules, filters, the Grafana double;
#                real promtool)
#   molecule     every scenario under molecule/ on Debian 12 and 13:
#                converge, idempotence, verify over the network
#   integration  pytest tests/integration: site.yml on the sandbox, rerun
#                with no change, check mode, password rotation, bad input,
#                alerts end to end (last: it breaks the sandbox on purpose)
#
# Usage: scripts/test.sh [lint|unit|molecule|integration ...]   (default: all)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
results=$repo/tests/output
phases=("$@")
[[ ${#phases[@]} -gt 0 ]] || phases=(lint unit molecule integration)

source "$repo/scripts/bootstrap.sh"
if [[ -z ${VIGIL_TEST_PHASE:-} ]]; then
  rm -rf "$results"
fi
mkdir -p "$results"

step() { printf '\n=== %s ===\n' "$*"; }

prepare_binaries() {
  "$repo/scripts/debian-binaries.sh" >/dev/null
  "$repo/scripts/grafana-double-archive.sh" >/dev/null
  source "$repo/.cache/mirror/versions.env"
  export VIGIL_PROMETHEUS_VERSION=$PROMETHEUS_VERSION
  export VIGIL_NODE_EXPORTER_VERSION=$NODE_EXPORTER_VERSION
  export VIGIL_ALERTMANAGER_BOOKWORM_VERSION=$ALERTMANAGER_BOOKWORM_VERSION
  export VIGIL_ALERTMANAGER_TRIXIE_VERSION=$ALERTMANAGER_TRIXIE_VERSION
  export VIGIL_GRAFANA_VERSION=$GRAFANA_VERSION
  export VIGIL_PROMTOOL=$repo/.cache/bin/promtool
}

start_mirror() {
  local port=${VIGIL_MIRROR_PORT:-18080}
  export VIGIL_MIRROR_URL=http://127.0.0.1:$port
  python3 -m http.server --bind 127.0.0.1 --directory "$repo/.cache/mirror" "$port" \
    >"$results/mirror.log" 2>&1 &
  mirror_pid=$!
  trap 'kill "$mirror_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1 20); do
    curl -fsS "$VIGIL_MIRROR_URL/sha256sums.txt" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "test: the mirror did not start on 127.0.0.1:$port" >&2
  exit 1
}

run_lint() {
  step "lint: yamllint"
  yamllint --strict .
  step "lint: ansible-lint (production profile)"
  ansible-lint --profile production
  step "lint: ruff"
  ruff check .
  ruff format --check .
  step "lint: ansible-test sanity"
  "$repo/scripts/sanity.sh"
}

run_unit() {
  step "unit: pytest tests/unit"
  prepare_binaries
  python -m pytest tests/unit -q --junitxml="$results/unit.xml"
}

run_molecule() {
  prepare_binaries
  "$repo/scripts/build-images.sh" bookworm trixie
  start_mirror
  local scenario
  for scenario in molecule/*/molecule.yml; do
    scenario=$(basename "$(dirname "$scenario")")
    step "molecule: $scenario"
    PYTEST_ADDOPTS="--junitxml=$results/molecule-$scenario.xml" \
      molecule test -s "$scenario"
  done
}

run_integration() {
  step "integration: pytest tests/integration"
  prepare_binaries
  "$repo/scripts/build-images.sh" bookworm
  python -m pytest tests/integration -v --junitxml="$results/integration.xml"
}

for phase in "${phases[@]}"; do
  case $phase in
    lint|unit|molecule|integration) ;;
    *) echo "test: unknown phase '$phase': use lint, unit, molecule or integration" >&2; exit 2 ;;
  esac
done

# Each phase runs in its own bash process, so that a failure stops that phase
# (errexit) but the later phases still run and report.
if [[ -n ${VIGIL_TEST_PHASE:-} ]]; then
  "run_$VIGIL_TEST_PHASE"
  exit 0
fi
failed=()
for phase in "${phases[@]}"; do
  VIGIL_TEST_PHASE=$phase bash "$0" "$phase" || failed+=("$phase")
done

step "summary"
status=0
python3 "$repo/scripts/junit-summary.py" "$results"/*.xml || status=1
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "test: failed phases: ${failed[*]}" >&2
  status=1
fi
exit $status
