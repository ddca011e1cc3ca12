"""The collection as users get it: build, install, playbooks, docs, changelog.

The tarball is built with ansible-galaxy, installed into a temporary
collections path, and used from there without the repository's ansible.cfg
(which points at the clone). The run of the installed site playbook against
the sandbox is in tests/integration/test_collection_install.py.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
ROLES = sorted(
    p.parent.parent.name for p in REPO.glob("roles/*/meta/argument_specs.yml")
)


def run(command: list[str], env: dict | None = None, cwd: Path | None = None):
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=env,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build")
    done = run(
        ["ansible-galaxy", "collection", "build", str(REPO), "--output-path", str(out)]
    )
    assert done.returncode == 0, done.stderr
    return out / f"vigil-monitoring-{GALAXY['version']}.tar.gz"


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory) -> dict:
    """Install the tarball; return its collections path and an environment for it."""
    path = tmp_path_factory.mktemp("collections")
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(path),
        # No ansible.cfg: the clone's puts the clone on the collections path,
        # where ansible-galaxy would find vigil.monitoring installed already.
        ANSIBLE_CONFIG=str(path / "none.cfg"),
    )
    done = run(
        ["ansible-galaxy", "collection", "install", str(tarball), "-p", str(path)],
        env=env,
        cwd=path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return {
        "path": path,
        "root": path / "ansible_collections/vigil/monitoring",
        "env": env,
    }


def test_tarball_leaves_out_local_state(tarball):
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "MANIFEST.json" in names
    assert "playbooks/site.yml" in names
    leaked = [
        name
        for name in names
        if name.endswith(("/secrets.yml", "/generated.yml", "/vault.yml"))
        or name.startswith((".cache", ".venv", ".ruff_cache", "collections/"))
    ]
    assert leaked == []


def test_install_lands_in_collections_path(installed):
    manifest = installed["root"] / "MANIFEST.json"
    assert manifest.is_file()
    done = run(
        ["ansible-galaxy", "collection", "list", "vigil.monitoring"],
        env=installed["env"],
    )
    assert str(installed["path"]) in done.stdout
    assert GALAXY["version"] in done.stdout


@pytest.mark.parametrize(
    "playbook",
    [
        "vigil.monitoring.site",
        "vigil.monitoring.10_deploy_production",
        "vigil.monitoring.09_verify",
    ],
)
def test_installed_playbook_resolves(installed, playbook, tmp_path):
    done = run(
        ["ansible-playbook", playbook, "--syntax-check"],
        env=installed["env"],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The playbook comes from the installed copy, not from the clone.
    assert str(installed["root"] / "playbooks") in done.stdout


def test_installed_lookup_reads_manifest(installed, tmp_path):
    done = run(
        [
            "ansible",
            "localhost",
            "-m",
            "ansible.builtin.debug",
            "-a",
            "msg={{ lookup('vigil.monitoring.collection_version') }}",
        ],
        env=installed["env"],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert GALAXY["version"] in done.stdout


def test_role_argument_specs_render(installed, tmp_path):
    done = run(
        [
            "antsibull-docs",
            "collection",
            "--use-current",
            "--dest-dir",
            str(tmp_path),
            "vigil.monitoring",
        ],
        env=installed["env"],
    )
    assert done.returncode == 0, done.stderr
    pages = tmp_path / "collections/vigil/monitoring"
    for role in ROLES:
        page = (pages / f"{role}_role.rst").read_text()
        spec = yaml.safe_load(
            (REPO / f"roles/{role}/meta/argument_specs.yml").read_text()
        )
        for entry_point, entry in spec["argument_specs"].items():
            assert entry_point in page, (
                f"{role}: entry point {entry_point} not rendered"
            )
            for option in entry.get("options", {}):
                assert option in page, f"{role}: option {option} not rendered"


def test_collection_docs_lint_clean(installed):
    done = run(
        [
            "antsibull-docs",
            "lint-collection-docs",
            "--plugin-docs",
            str(installed["root"]),
        ],
        env=installed["env"],
    )
    problems = done.stdout.splitlines()
    # Every role's argument spec, and every filter and test plugin that has
    # a documentation file beside it.
    documented = [
        f"/{doc.parent.parent.name}/{doc.parent.name}/{doc.stem}.py:"
        for doc in REPO.glob("plugins/*/*.yml")
    ]
    assert documented
    assert [line for line in problems if "/roles/" in line] == []
    assert [line for line in problems if any(d in line for d in documented)] == []


def test_changelog_fragments_valid():
    done = run(["antsibull-changelog", "lint"], cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert list((REPO / "changelogs/fragments").glob("*.yml"))
