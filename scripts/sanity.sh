#!/usr/bin/env bash
# Run ansible-test sanity on the plugins. ansible-test needs the collection
# at ansible_collections/vigil/monitoring inside a git work tree, so the
# collection is built with ansible-galaxy (which applies build_ignore) and
# unpacked into a scratch tree. `--local` runs the tests in the current
# virtual environment: ansible-test's own per-test environments bootstrap pip
# from a download site, which machines with only a package index cannot reach
# (see below).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ansible-test downloads a pip bootstrap script from outside the package
# index unless a copy is in its cache. scripts/pip-bootstrap.py does the same
# job from the index, as its docstring explains.
pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',$/\1/p" "$(python3 -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -n1)
pip_version=${pip_version:-24.2}
cache=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
if [[ ! -f $cache ]]; then
  mkdir -p "$(dirname "$cache")"
  cp "$repo/scripts/pip-bootstrap.py" "$cache"
fi

ansible-galaxy collection build "$repo" --output-path "$work" --force >/dev/null
tree=$work/ansible_collections/vigil/monitoring
mkdir -p "$tree"
tar -xzf "$work"/vigil-monitoring-*.tar.gz -C "$tree"
cd "$tree"
git init -q
git add -A
git -c user.name=sanity -c user.email=sanity@localhost commit -q -m sanity

python_version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# The plugins are what users import; tests/ and scripts/ have their own linters.
ansible-test sanity --local --python "$python_version" --color no "${@:-plugins/}"
