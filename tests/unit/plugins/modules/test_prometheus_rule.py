# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for the prometheus_rule module, run as a subprocess with a real promtool.

promtool comes from ``VIGIL_PROMTOOL`` or ``<repo>/.cache/bin/promtool``, which
``scripts/debian-binaries.sh`` downloads. The end-to-end reload test also needs
``<repo>/.cache/bin/prometheus`` (or ``VIGIL_PROMETHEUS``). All network traffic
stays on 127.0.0.1.
"""

from __future__ import annotations

import base64
import grp
import http.server
import json
import os
import pwd
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[4]
COLLECTIONS_ROOT = REPO_ROOT / "collections"
MODULE = "ansible_collections.vigil.monitoring.plugins.modules.prometheus_rule"

sys.path.insert(0, str(COLLECTIONS_ROOT))

from ansible_collections.vigil.monitoring.plugins.module_utils.prometheus_rules import (  # noqa: E402
    comparable_form,
    parse_duration,
)

PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")

NODE_GROUPS: list[dict[str, Any]] = [
    {
        "name": "node.recording",
        "interval": "30s",
        "rules": [
            {"record": "job:up:sum", "expr": "sum by (job) (up)"},
        ],
    },
    {
        "name": "node.alerts",
        "rules": [
            {
                "alert": "InstanceDown",
                "expr": "up == 0",
                "for": "1m",
                "keep_firing_for": "5m",
                "labels": {"severity": "page"},
                "annotations": {"summary": "{{ $labels.instance }} is down"},
            },
        ],
    },
]

PASSING_TEST_CASE: dict[str, Any] = {
    "interval": "1m",
    "input_series": [
        {"series": 'up{job="node",instance="host1:9100"}', "values": "0x10"},
    ],
    "alert_rule_test": [
        {
            "eval_time": "5m",
            "alertname": "InstanceDown",
            "exp_alerts": [
                {
                    "exp_labels": {
                        "severity": "page",
                        "job": "node",
                        "instance": "host1:9100",
                    },
                    "exp_annotations": {"summary": "host1:9100 is down"},
                },
            ],
        },
    ],
    "promql_expr_test": [
        {
            "expr": "job:up:sum",
            "eval_time": "1m",
            "exp_samples": [{"labels": 'job:up:sum{job="node"}', "value": 0}],
        },
    ],
}


def locate_binary(variable: str, name: str) -> str:
    """Return the binary from ``variable`` or ``.cache/bin``, failing the test."""
    candidate = os.environ.get(variable) or str(REPO_ROOT / ".cache" / "bin" / name)
    if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
        pytest.fail(
            f"{name} not found at {candidate}. Run scripts/debian-binaries.sh to"
            f" download it into .cache/bin, or set {variable} to its path."
        )
    return candidate


@pytest.fixture(scope="session")
def promtool() -> str:
    return locate_binary("VIGIL_PROMTOOL", "promtool")


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir()
    return directory


@pytest.fixture
def remote_tmp(tmp_path: Path) -> Path:
    directory = tmp_path / "remote-tmp"
    directory.mkdir()
    return directory


class ModuleRunner:
    """Run the module in a subprocess the way Ansible's module debugging does."""

    def __init__(self, tmp_path: Path, remote_tmp: Path, promtool: str) -> None:
        self.tmp_path = tmp_path
        self.remote_tmp = remote_tmp
        self.promtool = promtool
        self.calls = 0
        self.extra_path: list[str] = []

    def __call__(
        self,
        args: dict[str, Any],
        check_mode: bool = False,
        diff_mode: bool = False,
        with_promtool: bool = True,
    ) -> dict[str, Any]:
        module_args = dict(args)
        if with_promtool:
            module_args.setdefault("promtool", self.promtool)
        module_args["_ansible_check_mode"] = check_mode
        module_args["_ansible_diff"] = diff_mode
        module_args["_ansible_remote_tmp"] = str(self.remote_tmp)
        self.calls += 1
        args_file = self.tmp_path / f"args-{self.calls}.json"
        args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))

        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
        env["PYTHONPATH"] = str(COLLECTIONS_ROOT)
        env["PATH"] = os.pathsep.join([*self.extra_path, env.get("PATH", "")])
        completed = subprocess.run(
            [sys.executable, "-m", MODULE, str(args_file)],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.tmp_path,
            timeout=60,
            check=False,
        )
        try:
            return json.loads(completed.stdout)
        except json.JSONDecodeError:
            pytest.fail(
                f"module printed no JSON (exit code {completed.returncode})."
                f"\nstdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
            )


@pytest.fixture
def run_module(tmp_path: Path, remote_tmp: Path, promtool: str) -> ModuleRunner:
    return ModuleRunner(tmp_path, remote_tmp, promtool)


def node_args(rules_dir: Path, **extra: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "name": "node",
        "rules_dir": str(rules_dir),
        "groups": NODE_GROUPS,
    }
    args.update(extra)
    return args


def assert_succeeded(result: dict[str, Any]) -> None:
    assert not result.get("failed"), result.get("msg")


def with_expr(expr: str) -> list[dict[str, Any]]:
    """Return NODE_GROUPS with the recording rule's expr replaced."""
    groups = json.loads(json.dumps(NODE_GROUPS))
    groups[0]["rules"][0]["expr"] = expr
    return groups


# Writing and idempotence


def test_rule_file_first_run_changed(run_module, rules_dir):
    result = run_module(node_args(rules_dir))
    assert_succeeded(result)
    assert result["changed"] is True
    assert result["path"] == str(rules_dir / "node.yml")
    assert "SUCCESS: 2 rules found" in result["promtool_check_output"]
    assert result["removed"] == []
    assert result["reloaded"] is False
    written = yaml.safe_load((rules_dir / "node.yml").read_text())
    assert [group["name"] for group in written["groups"]] == [
        "node.recording",
        "node.alerts",
    ]
    alert = written["groups"][1]["rules"][0]
    assert alert["keep_firing_for"] == "5m"
    assert alert["annotations"]["summary"] == "{{ $labels.instance }} is down"


def test_rule_file_unchanged_second_run(run_module, rules_dir):
    assert_succeeded(run_module(node_args(rules_dir)))
    first_text = (rules_dir / "node.yml").read_text()
    first_mtime = (rules_dir / "node.yml").stat().st_mtime_ns

    result = run_module(node_args(rules_dir))

    assert_succeeded(result)
    assert result["changed"] is False
    assert (rules_dir / "node.yml").read_text() == first_text
    assert (rules_dir / "node.yml").stat().st_mtime_ns == first_mtime


def test_rule_file_rendering_deterministic(run_module, tmp_path):
    first_dir = tmp_path / "first"
    second_dir = tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    # Same rules with the dict keys given in reverse order.
    reordered = [
        {key: group[key] for key in reversed(list(group))} for group in NODE_GROUPS
    ]
    for group in reordered:
        group["rules"] = [
            {key: rule[key] for key in reversed(list(rule))} for rule in group["rules"]
        ]

    assert_succeeded(run_module(node_args(first_dir)))
    assert_succeeded(run_module(node_args(second_dir, groups=reordered)))

    first_text = (first_dir / "node.yml").read_text()
    assert first_text == (second_dir / "node.yml").read_text()
    assert first_text.startswith("# Managed by Ansible")


def test_rule_file_reformatted_existing_unchanged(run_module, rules_dir):
    # Same meaning as NODE_GROUPS with another layout, quoting and duration spelling.
    (rules_dir / "node.yml").write_text(
        "# hand-written copy\n"
        "groups:\n"
        "  - name: 'node.recording'\n"
        "    interval: 30000ms\n"
        "    rules:\n"
        "      - {expr: '  sum by (job) (up)\n', record: \"job:up:sum\"}\n"
        "  - rules:\n"
        "      - annotations: {summary: '{{ $labels.instance }} is down'}\n"
        "        labels: {severity: page}\n"
        "        keep_firing_for: 300s\n"
        "        for: 60s\n"
        "        expr: up == 0\n"
        "        alert: InstanceDown\n"
        "    name: node.alerts\n"
        "    limit: 0\n"
    )
    os.chmod(rules_dir / "node.yml", 0o640)
    before = (rules_dir / "node.yml").read_text()

    result = run_module(node_args(rules_dir))

    assert_succeeded(result)
    assert result["changed"] is False
    assert (rules_dir / "node.yml").read_text() == before


def test_rule_file_expr_change_rewrites(run_module, rules_dir):
    assert_succeeded(run_module(node_args(rules_dir)))

    result = run_module(node_args(rules_dir, groups=with_expr("count by (job) (up)")))

    assert_succeeded(result)
    assert result["changed"] is True
    written = yaml.safe_load((rules_dir / "node.yml").read_text())
    assert written["groups"][0]["rules"][0]["expr"] == "count by (job) (up)"


def test_rule_file_multiline_expr_literal_block(run_module, rules_dir):
    expr = "sum by (job) (\n  up\n)"

    result = run_module(node_args(rules_dir, groups=with_expr(expr)))

    assert_succeeded(result)
    text = (rules_dir / "node.yml").read_text()
    assert "expr: |-\n" in text
    assert yaml.safe_load(text)["groups"][0]["rules"][0]["expr"] == expr


def test_rule_file_path_option(run_module, tmp_path):
    path = tmp_path / "custom.rules"

    result = run_module({"path": str(path), "groups": NODE_GROUPS})

    assert_succeeded(result)
    assert result["path"] == str(path)
    assert path.is_file()


def test_rule_file_empty_groups_allowed(run_module, rules_dir):
    result = run_module(node_args(rules_dir, groups=[]))

    assert_succeeded(result)
    assert yaml.safe_load((rules_dir / "node.yml").read_text()) == {"groups": []}


# Check mode and diff mode


def test_check_mode_new_file_not_written(run_module, rules_dir):
    result = run_module(node_args(rules_dir), check_mode=True)

    assert_succeeded(result)
    assert result["changed"] is True
    assert "SUCCESS" in result["promtool_check_output"]
    assert list(rules_dir.iterdir()) == []


def test_check_mode_changed_file_not_written(run_module, rules_dir):
    assert_succeeded(run_module(node_args(rules_dir)))
    before = (rules_dir / "node.yml").read_text()

    result = run_module(
        node_args(rules_dir, groups=with_expr("count(up)")), check_mode=True
    )

    assert_succeeded(result)
    assert result["changed"] is True
    assert (rules_dir / "node.yml").read_text() == before


def test_check_mode_unchanged_file_reports_no_change(run_module, rules_dir):
    assert_succeeded(run_module(node_args(rules_dir)))

    result = run_module(node_args(rules_dir), check_mode=True)

    assert_succeeded(result)
    assert result["changed"] is False


def test_check_mode_missing_directory_warns(run_module, tmp_path):
    missing = tmp_path / "not-yet-created"

    result = run_module(node_args(missing), check_mode=True)

    assert_succeeded(result)
    assert result["changed"] is True
    # ansible-core 2.19 sends each warning as a dict with the text under "msg".
    assert f"Directory {missing} not found" in json.dumps(result["warnings"])
    assert not missing.exists()


def test_missing_directory_fails(run_module, tmp_path):
    missing = tmp_path / "not-yet-created"

    result = run_module(node_args(missing))

    assert result["failed"] is True
    assert f"Directory {missing} not found" in result["msg"]
    assert "state=directory" in result["msg"]


def test_diff_mode_before_and_after(run_module, rules_dir):
    assert_succeeded(run_module(node_args(rules_dir)))
    before = (rules_dir / "node.yml").read_text()

    result = run_module(
        node_args(rules_dir, groups=with_expr("count(up)")), diff_mode=True
    )

    assert_succeeded(result)
    diff = result["diff"][0]
    path = str(rules_dir / "node.yml")
    assert diff["before_header"] == path
    assert diff["after_header"] == path
    assert diff["before"] == before
    assert diff["after"] == (rules_dir / "node.yml").read_text()
    assert "expr: count(up)" in diff["after"]
    assert "expr: sum by (job) (up)" in diff["before"]


def test_diff_mode_new_file_empty_before(run_module, rules_dir):
    result = run_module(node_args(rules_dir), check_mode=True, diff_mode=True)

    assert_succeeded(result)
    assert result["diff"][0]["before"] == ""
    assert "record: job:up:sum" in result["diff"][0]["after"]


def test_diff_mode_unchanged_equal_texts(run_module, rules_dir):
    assert_succeeded(run_module(node_args(rules_dir)))

    result = run_module(node_args(rules_dir), diff_mode=True)

    assert_succeeded(result)
    assert result["diff"][0]["before"] == result["diff"][0]["after"]


def test_diff_omitted_without_diff_mode(run_module, rules_dir):
    result = run_module(node_args(rules_dir))

    assert_succeeded(result)
    assert "diff" not in result


# promtool check rules


def test_promtool_rejects_bad_expr(run_module, rules_dir):
    result = run_module(node_args(rules_dir, groups=with_expr("sum(up")))

    assert result["failed"] is True
    assert "promtool check rules rejected" in result["msg"]
    assert "node.yml" in result["msg"]
    assert "unclosed left parenthesis" in result["msg"]
    assert "unclosed left parenthesis" in result["promtool_check_output"]
    assert list(rules_dir.iterdir()) == []


def test_promtool_rejects_bad_expr_check_mode(run_module, rules_dir):
    result = run_module(
        node_args(rules_dir, groups=with_expr("sum(up")), check_mode=True
    )

    assert result["failed"] is True
    assert "unclosed left parenthesis" in result["msg"]
    assert list(rules_dir.iterdir()) == []


def test_promtool_rejection_keeps_existing_file(run_module, rules_dir):
    assert_succeeded(run_module(node_args(rules_dir)))
    before = (rules_dir / "node.yml").read_text()

    result = run_module(node_args(rules_dir, groups=with_expr("rate(up)")))

    assert result["failed"] is True
    assert "rate(up)" in result["msg"] or "range vector" in result["msg"]
    assert (rules_dir / "node.yml").read_text() == before


def test_promtool_rejects_invalid_label_name(run_module, rules_dir):
    groups = json.loads(json.dumps(NODE_GROUPS))
    groups[1]["rules"][0]["labels"] = {"bad-label": "x"}

    result = run_module(node_args(rules_dir, groups=groups))

    assert result["failed"] is True
    assert "bad-label" in result["msg"]
    assert list(rules_dir.iterdir()) == []


def test_promtool_missing_binary_fails(run_module, rules_dir, tmp_path):
    missing = tmp_path / "no-promtool"

    result = run_module(node_args(rules_dir, promtool=str(missing)))

    assert result["failed"] is True
    assert f"promtool not found or not executable at {missing}" in result["msg"]
    assert list(rules_dir.iterdir()) == []


def test_promtool_found_on_path(run_module, rules_dir, promtool):
    run_module.extra_path = [os.path.dirname(promtool)]

    result = run_module(node_args(rules_dir), with_promtool=False)

    assert_succeeded(result)
    assert result["changed"] is True


# promtool test rules


def test_promtool_tests_pass(run_module, rules_dir):
    result = run_module(node_args(rules_dir, tests=[PASSING_TEST_CASE]))

    assert_succeeded(result)
    assert result["changed"] is True
    assert "SUCCESS" in result["promtool_test_output"]
    assert (rules_dir / "node.yml").is_file()


def test_promtool_tests_fail_blocks_write(run_module, rules_dir):
    failing = json.loads(json.dumps(PASSING_TEST_CASE))
    failing["promql_expr_test"][0]["exp_samples"][0]["value"] = 3

    result = run_module(node_args(rules_dir, tests=[failing]))

    assert result["failed"] is True
    assert "promtool test rules failed" in result["msg"]
    assert "FAILED" in result["msg"]
    assert "job:up:sum" in result["promtool_test_output"]
    assert list(rules_dir.iterdir()) == []


def test_promtool_tests_fail_check_mode(run_module, rules_dir):
    failing = json.loads(json.dumps(PASSING_TEST_CASE))
    failing["alert_rule_test"][0]["eval_time"] = "30s"

    result = run_module(node_args(rules_dir, tests=[failing]), check_mode=True)

    assert result["failed"] is True
    assert "InstanceDown" in result["msg"]
    assert list(rules_dir.iterdir()) == []


def test_promtool_tests_evaluation_interval_used(run_module, rules_dir):
    # node.alerts has no interval: with a 10m evaluation interval the alert is
    # first evaluated at 10m, so it is not firing yet at 5m.
    result = run_module(
        node_args(
            rules_dir,
            tests=[PASSING_TEST_CASE],
            tests_evaluation_interval="10m",
        )
    )

    assert result["failed"] is True
    assert "InstanceDown" in result["promtool_test_output"]


def test_promtool_tests_invalid_evaluation_interval(run_module, rules_dir):
    result = run_module(
        node_args(
            rules_dir, tests=[PASSING_TEST_CASE], tests_evaluation_interval="often"
        )
    )

    assert result["failed"] is True
    assert "tests_evaluation_interval: invalid duration 'often'" in result["msg"]


# state: absent


def test_state_absent_removes_file(run_module, rules_dir):
    assert_succeeded(run_module(node_args(rules_dir)))

    result = run_module(
        {"name": "node", "rules_dir": str(rules_dir), "state": "absent"}
    )

    assert_succeeded(result)
    assert result["changed"] is True
    assert result["removed"] == [str(rules_dir / "node.yml")]
    assert list(rules_dir.iterdir()) == []


def test_state_absent_missing_file_unchanged(run_module, rules_dir):
    result = run_module(
        {"name": "node", "rules_dir": str(rules_dir), "state": "absent"}
    )

    assert_succeeded(result)
    assert result["changed"] is False
    assert result["removed"] == []


def test_state_absent_check_mode_keeps_file(run_module, rules_dir):
    assert_succeeded(run_module(node_args(rules_dir)))
    before = (rules_dir / "node.yml").read_text()

    result = run_module(
        {"name": "node", "rules_dir": str(rules_dir), "state": "absent"},
        check_mode=True,
        diff_mode=True,
    )

    assert_succeeded(result)
    assert result["changed"] is True
    assert (rules_dir / "node.yml").read_text() == before
    assert result["diff"][0]["before"] == before
    assert result["diff"][0]["after"] == ""


def test_state_absent_needs_no_promtool(run_module, rules_dir, tmp_path):
    (rules_dir / "node.yml").write_text("groups: []\n")

    result = run_module(
        {
            "name": "node",
            "rules_dir": str(rules_dir),
            "state": "absent",
            "promtool": str(tmp_path / "no-promtool"),
        }
    )

    assert_succeeded(result)
    assert result["changed"] is True


# exclusive


def populate_unmanaged(rules_dir: Path) -> None:
    for name in ("old.yml", "legacy.yaml", "classic.rules", "local-disk.yml"):
        (rules_dir / name).write_text("groups: []\n")
    (rules_dir / "README.txt").write_text("not a rule file\n")
    (rules_dir / "archive.yml").mkdir()


def test_exclusive_removes_unmanaged_files(run_module, rules_dir):
    populate_unmanaged(rules_dir)

    result = run_module(node_args(rules_dir, exclusive=True, keep=["local-*.yml"]))

    assert_succeeded(result)
    assert result["changed"] is True
    assert result["removed"] == [
        str(rules_dir / "classic.rules"),
        str(rules_dir / "legacy.yaml"),
        str(rules_dir / "old.yml"),
    ]
    assert sorted(path.name for path in rules_dir.iterdir()) == [
        "README.txt",
        "archive.yml",
        "local-disk.yml",
        "node.yml",
    ]


def test_exclusive_removal_alone_reports_change(run_module, rules_dir):
    assert_succeeded(run_module(node_args(rules_dir)))
    (rules_dir / "old.yml").write_text("groups: []\n")

    result = run_module(node_args(rules_dir, exclusive=True))

    assert_succeeded(result)
    assert result["changed"] is True
    assert result["removed"] == [str(rules_dir / "old.yml")]


def test_exclusive_nothing_to_remove_unchanged(run_module, rules_dir):
    assert_succeeded(run_module(node_args(rules_dir, exclusive=True)))

    result = run_module(node_args(rules_dir, exclusive=True))

    assert_succeeded(result)
    assert result["changed"] is False
    assert result["removed"] == []


def test_exclusive_check_mode_keeps_files(run_module, rules_dir):
    populate_unmanaged(rules_dir)

    result = run_module(
        node_args(rules_dir, exclusive=True), check_mode=True, diff_mode=True
    )

    assert_succeeded(result)
    assert result["changed"] is True
    assert str(rules_dir / "old.yml") in result["removed"]
    assert (rules_dir / "old.yml").is_file()
    assert not (rules_dir / "node.yml").exists()
    removed_headers = [diff["before_header"] for diff in result["diff"][1:]]
    assert removed_headers == result["removed"]


def test_exclusive_with_state_absent_rejected(run_module, rules_dir):
    (rules_dir / "other.yml").write_text("groups: []\n")

    result = run_module(
        {
            "name": "node",
            "rules_dir": str(rules_dir),
            "state": "absent",
            "exclusive": True,
        }
    )

    assert result["failed"] is True
    assert "exclusive=true is only valid with state=present" in result["msg"]
    assert (rules_dir / "other.yml").is_file()


# Atomic write and file attributes


def test_atomic_write_leaves_no_temp_files(run_module, rules_dir, remote_tmp):
    assert_succeeded(run_module(node_args(rules_dir, tests=[PASSING_TEST_CASE])))
    assert_succeeded(run_module(node_args(rules_dir, groups=with_expr("count(up)"))))

    assert [path.name for path in rules_dir.iterdir()] == ["node.yml"]
    assert list(remote_tmp.iterdir()) == []


def test_atomic_write_replaces_inode(run_module, rules_dir):
    assert_succeeded(run_module(node_args(rules_dir)))
    first_inode = (rules_dir / "node.yml").stat().st_ino

    assert_succeeded(run_module(node_args(rules_dir, groups=with_expr("count(up)"))))

    assert (rules_dir / "node.yml").stat().st_ino != first_inode


def test_file_mode_default_0640(run_module, rules_dir):
    assert_succeeded(run_module(node_args(rules_dir)))

    assert stat.S_IMODE((rules_dir / "node.yml").stat().st_mode) == 0o640


def test_file_mode_custom(run_module, rules_dir):
    assert_succeeded(run_module(node_args(rules_dir, mode="0604")))

    assert stat.S_IMODE((rules_dir / "node.yml").stat().st_mode) == 0o604


def test_file_mode_change_alone_reports_change(run_module, rules_dir):
    assert_succeeded(run_module(node_args(rules_dir)))
    os.chmod(rules_dir / "node.yml", 0o600)

    check = run_module(node_args(rules_dir), check_mode=True)
    assert_succeeded(check)
    assert check["changed"] is True
    assert stat.S_IMODE((rules_dir / "node.yml").stat().st_mode) == 0o600

    result = run_module(node_args(rules_dir))
    assert_succeeded(result)
    assert result["changed"] is True
    assert stat.S_IMODE((rules_dir / "node.yml").stat().st_mode) == 0o640


def test_file_owner_group_current_user(run_module, rules_dir):
    owner = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name

    result = run_module(node_args(rules_dir, owner=owner, group=group))

    assert_succeeded(result)
    assert result["owner"] == owner
    assert result["group"] == group


# Bad input


def single_group(**rule: Any) -> list[dict[str, Any]]:
    return [{"name": "api", "rules": [rule]}]


BAD_INPUT_CASES = [
    pytest.param(
        [{"rules": [{"record": "a:b", "expr": "up"}]}],
        ["groups[1] has no name", "Set name"],
        id="group_without_name",
    ),
    pytest.param(
        [{"name": "api", "rules": []}, {"name": "api", "rules": []}],
        ['groups[1] and groups[2] are both named "api"', "rename one of them"],
        id="duplicate_group_names",
    ),
    pytest.param(
        single_group(record="a:b", alert="A", expr="up"),
        ['group "api", rule 1 (record "a:b") sets both record and alert', "split"],
        id="record_and_alert",
    ),
    pytest.param(
        single_group(expr="up"),
        ['group "api", rule 1 sets neither record nor alert'],
        id="neither_record_nor_alert",
    ),
    pytest.param(
        single_group(alert="A"),
        ['group "api", rule 1 (alert "A") has no expr', "Set expr"],
        id="missing_expr",
    ),
    pytest.param(
        single_group(alert="A", expr="up", **{"for": "5 minutes"}),
        [
            'group "api", rule 1 (alert "A"), for: invalid duration \'5 minutes\'',
            "such as 30s, 5m",
        ],
        id="invalid_for_duration",
    ),
    pytest.param(
        single_group(alert="A", expr="up", keep_firing_for="300"),
        ["keep_firing_for: invalid duration '300'"],
        id="invalid_keep_firing_for_duration",
    ),
    pytest.param(
        [{"name": "api", "interval": "1m30", "rules": []}],
        ["group \"api\", interval: invalid duration '1m30'"],
        id="invalid_group_interval",
    ),
    pytest.param(
        [{"name": "api", "interval": "5s1m", "rules": []}],
        ["invalid duration '5s1m'", "from largest to smallest"],
        id="duration_units_out_of_order",
    ),
    pytest.param(
        single_group(record="a:b", expr="up", **{"for": "5m"}),
        ['rule 1 (record "a:b") sets for, which only alerting rules accept'],
        id="recording_rule_with_for",
    ),
    pytest.param(
        single_group(record="a:b", expr="up", annotations={"summary": "x"}),
        ["sets annotations, which only alerting rules accept"],
        id="recording_rule_with_annotations",
    ),
    pytest.param(
        single_group(alert="A", expr="up", labels={"page": True}),
        ["labels.page has the value True of type bool", "Quote it"],
        id="boolean_label_value",
    ),
    pytest.param(
        [{"name": "api", "limit": -1, "rules": []}],
        ['group "api": invalid limit -1'],
        id="negative_limit",
    ),
    pytest.param(
        [{"name": "api"}],
        ['group "api" has no rules', "an empty list is allowed"],
        id="missing_rules",
    ),
]


@pytest.mark.parametrize(("groups", "expected_fragments"), BAD_INPUT_CASES)
def test_bad_input_rejected_before_write(
    run_module, rules_dir, groups, expected_fragments
):
    result = run_module(node_args(rules_dir, groups=groups))

    assert result["failed"] is True
    for fragment in expected_fragments:
        assert fragment in result["msg"]
    assert "promtool_check_output" not in result
    assert list(rules_dir.iterdir()) == []


def test_bad_input_unknown_rule_key(run_module, rules_dir):
    result = run_module(node_args(rules_dir, groups=single_group(alert="A", exp="up")))

    assert result["failed"] is True
    assert "exp" in result["msg"]
    assert "Unsupported parameters" in result["msg"]


def test_bad_input_name_with_extension(run_module, rules_dir):
    result = run_module(node_args(rules_dir, name="node.yml"))

    assert result["failed"] is True
    assert "Invalid name 'node.yml'" in result["msg"]
    assert "Use name: node" in result["msg"]


def test_bad_input_name_with_directory(run_module, rules_dir):
    result = run_module(node_args(rules_dir, name="../node"))

    assert result["failed"] is True
    assert "Invalid name '../node'" in result["msg"]


def test_bad_input_name_and_path(run_module, rules_dir):
    result = run_module(node_args(rules_dir, path=str(rules_dir / "x.yml")))

    assert result["failed"] is True
    assert "mutually exclusive" in result["msg"]


def test_bad_input_groups_missing(run_module, rules_dir):
    result = run_module({"name": "node", "rules_dir": str(rules_dir)})

    assert result["failed"] is True
    assert "groups is required with state=present" in result["msg"]


# Reload


@pytest.fixture
def fake_systemctl(tmp_path: Path, run_module: ModuleRunner):
    """Put a systemctl on PATH that records its arguments and exits with 0."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    log = tmp_path / "systemctl.log"
    script = bin_dir / "systemctl"
    script.write_text(
        f'#!/bin/sh\necho "$@" >> {log}\nexit "${{FAKE_SYSTEMCTL_RC:-0}}"\n'
    )
    script.chmod(0o755)
    run_module.extra_path = [str(bin_dir)]
    return log


def test_reload_systemd_after_change(run_module, rules_dir, fake_systemctl):
    result = run_module(node_args(rules_dir, reload="systemd", service_name="prom"))

    assert_succeeded(result)
    assert result["reloaded"] is True
    assert fake_systemctl.read_text() == "reload prom\n"


def test_reload_systemd_skipped_when_unchanged(run_module, rules_dir, fake_systemctl):
    assert_succeeded(run_module(node_args(rules_dir, reload="systemd")))

    result = run_module(node_args(rules_dir, reload="systemd"))

    assert_succeeded(result)
    assert result["reloaded"] is False
    assert fake_systemctl.read_text() == "reload prometheus\n"


def test_reload_skipped_in_check_mode(run_module, rules_dir, fake_systemctl):
    result = run_module(node_args(rules_dir, reload="systemd"), check_mode=True)

    assert_succeeded(result)
    assert result["reloaded"] is False
    assert not fake_systemctl.exists()


def test_reload_systemd_after_absent(run_module, rules_dir, fake_systemctl):
    (rules_dir / "node.yml").write_text("groups: []\n")

    result = run_module(
        {
            "name": "node",
            "rules_dir": str(rules_dir),
            "state": "absent",
            "reload": "systemd",
        }
    )

    assert_succeeded(result)
    assert result["reloaded"] is True
    assert fake_systemctl.read_text() == "reload prometheus\n"


def test_reload_systemd_failure_reports_change(
    run_module, rules_dir, fake_systemctl, monkeypatch
):
    monkeypatch.setenv("FAKE_SYSTEMCTL_RC", "1")

    result = run_module(node_args(rules_dir, reload="systemd"))

    assert result["failed"] is True
    assert result["changed"] is True
    assert "systemctl reload prometheus failed with exit code 1" in result["msg"]
    assert (rules_dir / "node.yml").is_file()


class ReloadHandler(http.server.BaseHTTPRequestHandler):
    """Record each request and respond with the server's configured status."""

    def do_POST(self) -> None:
        self.server.requests.append(
            (self.command, self.path, self.headers.get("Authorization"))
        )
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def reload_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ReloadHandler)
    server.requests = []
    server.status = 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def reload_url(server: http.server.HTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/prefix/"


def test_reload_http_posts_with_basic_auth(run_module, rules_dir, reload_server):
    result = run_module(
        node_args(
            rules_dir,
            reload="http",
            reload_url=reload_url(reload_server),
            url_username="admin",
            url_password="s3cret",
        )
    )

    assert_succeeded(result)
    assert result["reloaded"] is True
    expected_auth = "Basic " + base64.b64encode(b"admin:s3cret").decode()
    assert reload_server.requests == [("POST", "/prefix/-/reload", expected_auth)]


def test_reload_http_lifecycle_disabled(run_module, rules_dir, reload_server):
    reload_server.status = 403

    result = run_module(
        node_args(rules_dir, reload="http", reload_url=reload_url(reload_server))
    )

    assert result["failed"] is True
    assert result["changed"] is True
    assert "HTTP status 403" in result["msg"]
    assert "--web.enable-lifecycle" in result["msg"]


def test_reload_http_connection_refused(run_module, rules_dir):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = run_module(
        node_args(rules_dir, reload="http", reload_url=f"http://127.0.0.1:{port}")
    )

    assert result["failed"] is True
    assert f"POST http://127.0.0.1:{port}/-/reload failed" in result["msg"]


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch_rule_groups(base_url: str) -> list[str]:
    """Return the names of the rule groups that Prometheus has loaded."""
    # An empty ProxyHandler keeps the loopback request away from any proxy.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(base_url + "/api/v1/rules", timeout=5) as response:
        payload = json.load(response)
    return [group["name"] for group in payload["data"]["groups"]]


def test_reload_http_real_prometheus_loads_rules(run_module, rules_dir, tmp_path):
    prometheus = locate_binary("VIGIL_PROMETHEUS", "prometheus")
    config = tmp_path / "prometheus.yml"
    config.write_text(f"rule_files:\n  - {rules_dir}/*.yml\n")
    port = free_loopback_port()
    base_url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            "--storage.tsdb.path=%s" % (tmp_path / "tsdb"),
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                assert fetch_rule_groups(base_url) == []
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"Prometheus did not answer on {base_url} within 20s")
                time.sleep(0.2)

        result = run_module(node_args(rules_dir, reload="http", reload_url=base_url))

        assert_succeeded(result)
        assert result["reloaded"] is True
        # Prometheus 2.42's rules API does not list groups in file order.
        assert sorted(fetch_rule_groups(base_url)) == ["node.alerts", "node.recording"]
    finally:
        process.terminate()
        process.wait(timeout=20)


# module_utils helpers


@pytest.mark.parametrize(
    ("text", "milliseconds"),
    [
        ("0", 0),
        ("250ms", 250),
        ("30s", 30_000),
        ("1h30m", 5_400_000),
        ("2w", 14 * 24 * 3_600_000),
        ("1y", 365 * 24 * 3_600_000),
    ],
)
def test_parse_duration_valid(text, milliseconds):
    assert parse_duration(text) == milliseconds


@pytest.mark.parametrize("text", ["", "5", "1.5m", "m", "5 m", "30s5m", "-1m"])
def test_parse_duration_invalid(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_comparable_form_group_order_matters():
    first = "groups:\n- {name: a, rules: []}\n- {name: b, rules: []}\n"
    swapped = "groups:\n- {name: b, rules: []}\n- {name: a, rules: []}\n"

    assert comparable_form(first) != comparable_form(swapped)


def test_comparable_form_not_a_rule_file():
    assert comparable_form("just: text\n") != comparable_form("groups: []\n")
    assert comparable_form(": : :\n") == ("unparsed", ": : :\n")
