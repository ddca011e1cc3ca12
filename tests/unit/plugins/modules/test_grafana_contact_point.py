# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for grafana_contact_point, run as a subprocess against the Grafana double."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

COLLECTIONS_ROOT = Path(__file__).resolve().parents[4] / "collections"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")
MODULE = "grafana_contact_point"
BASE = "/api/v1/provisioning/contact-points"
PASSWORD = "hook-password-7c1e"
NEW_PASSWORD = "hook-password-rotated-93ab"
SLACK_URL = "https://hooks.slack.invalid/services/T01/B02/slack-secret-55d0"
TEAMS_URL = "https://example.webhook.office.invalid/webhookb2/teams-secret-1f2e"


def assert_ok(result: dict[str, Any]) -> dict[str, Any]:
    assert not result.get("failed"), result.get("msg")
    return result


def webhook(password: str = PASSWORD, **settings: Any) -> dict[str, Any]:
    values = {"url": "http://127.0.0.1:9/alerts", "username": "grafana"}
    values.update(settings)
    if password:
        values["password"] = password
    return {"type": "webhook", "settings": values}


def email(*addresses: str) -> dict[str, Any]:
    return {"type": "email", "settings": {"addresses": list(addresses)}}


def stored(grafana, name: str) -> list[dict[str, Any]]:
    """Return the double's unredacted integrations named ``name``."""
    points = grafana.store.alerting(1).get("contact_points", [])
    return [point for point in points if point["name"] == name]


def requests_since(grafana, start: int) -> list[dict[str, Any]]:
    return grafana.records[start:]


def writes_since(grafana, start: int) -> list[str]:
    return [
        f"{record['method']} {record['target']}"
        for record in requests_since(grafana, start)
        if record["method"] != "GET"
    ]


def test_contact_point_created_then_unchanged(run_module, grafana, unique):
    args = {
        "name": unique,
        "integrations": [webhook(), email("a@example.test", "b@example.test")],
    }

    first = assert_ok(run_module(MODULE, args))
    start = len(grafana.records)
    second = assert_ok(run_module(MODULE, args))

    assert first["changed"] is True
    assert len(first["created"]) == 2
    assert second["changed"] is False
    assert second["created"] == second["updated"] == second["deleted"] == []
    assert writes_since(grafana, start) == []
    points = stored(grafana, unique)
    assert [point["uid"] for point in points] == first["created"]
    assert points[0]["settings"]["password"] == PASSWORD
    assert points[1]["settings"]["addresses"] == "a@example.test;b@example.test"
    assert points[0]["provenance"] == "api"


def test_derived_uids_stable_and_valid(run_module, unique):
    args = {"name": unique, "integrations": [webhook(), webhook(), email("a@x.test")]}

    first = assert_ok(run_module(MODULE, args, check_mode=True))
    second = assert_ok(run_module(MODULE, args, check_mode=True))

    assert first["created"] == second["created"]
    assert len(set(first["created"])) == 3
    for uid in first["created"]:
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", uid), uid


def test_check_mode_predicts_create(run_module, grafana, unique):
    args = {"name": unique, "integrations": [webhook(), email("a@example.test")]}

    start = len(grafana.records)
    checked = assert_ok(run_module(MODULE, args, check_mode=True))
    writes = writes_since(grafana, start)
    applied = assert_ok(run_module(MODULE, args))

    assert writes == []
    assert checked["changed"] is True
    assert checked["created"] == applied["created"]
    assert checked["integrations"] == applied["integrations"]


def test_check_mode_predicts_update(run_module, grafana, unique):
    start_args = {"name": unique, "integrations": [webhook(), email("a@example.test")]}
    assert_ok(run_module(MODULE, start_args))
    args = {"name": unique, "integrations": [webhook(httpMethod="PUT")]}

    start = len(grafana.records)
    checked = assert_ok(run_module(MODULE, args, check_mode=True, diff_mode=True))
    writes = writes_since(grafana, start)
    applied = assert_ok(run_module(MODULE, args, diff_mode=True))

    assert writes == []
    assert checked["changed"] is True
    assert checked["updated"] == applied["updated"]
    assert checked["deleted"] == applied["deleted"]
    assert len(checked["deleted"]) == 1
    assert checked["diff"] == applied["diff"]


def test_diff_hides_secrets(run_module, unique):
    args = {
        "name": unique,
        "integrations": [
            webhook(authorization_credentials="bearer-cred-0a9f"),
            {"type": "slack", "settings": {"url": SLACK_URL, "recipient": "#ops"}},
        ],
    }

    created = assert_ok(run_module(MODULE, args, diff_mode=True))
    rotated = assert_ok(
        run_module(MODULE, dict(args, secret_update="always"), diff_mode=True)
    )

    for result in (created, rotated):
        text = json.dumps(result)
        assert PASSWORD not in text
        assert "bearer-cred-0a9f" not in text
        assert SLACK_URL not in text
    assert created["diff"]["before"] == ""
    before = json.loads(rotated["diff"]["before"])
    after = json.loads(rotated["diff"]["after"])
    assert before[0]["settings"]["password"] == "[REDACTED]"
    assert after[0]["settings"]["password"] == "[REDACTED] (new value sent)"
    assert after[1]["settings"]["url"] == "[REDACTED] (new value sent)"
    assert after[1]["settings"]["recipient"] == "#ops"


def test_secret_on_create_not_resent(run_module, grafana, unique):
    assert_ok(run_module(MODULE, {"name": unique, "integrations": [webhook()]}))
    rotated = {"name": unique, "integrations": [webhook(NEW_PASSWORD)]}

    start = len(grafana.records)
    result = assert_ok(run_module(MODULE, rotated))

    assert result["changed"] is False
    assert writes_since(grafana, start) == []
    assert stored(grafana, unique)[0]["settings"]["password"] == PASSWORD


def test_secret_always_sent_each_run(run_module, grafana, unique):
    assert_ok(run_module(MODULE, {"name": unique, "integrations": [webhook()]}))
    rotated = {
        "name": unique,
        "integrations": [webhook(NEW_PASSWORD)],
        "secret_update": "always",
    }

    first = assert_ok(run_module(MODULE, rotated))
    second = assert_ok(run_module(MODULE, rotated))

    assert first["changed"] is True
    assert second["changed"] is True
    assert second["updated"] == first["updated"]
    assert stored(grafana, unique)[0]["settings"]["password"] == NEW_PASSWORD


def test_on_create_sends_missing_secret(run_module, grafana, unique):
    assert_ok(run_module(MODULE, {"name": unique, "integrations": [webhook("")]}))
    args = {"name": unique, "integrations": [webhook()]}

    first = assert_ok(run_module(MODULE, args))
    second = assert_ok(run_module(MODULE, args))

    assert first["changed"] is True
    assert second["changed"] is False
    assert stored(grafana, unique)[0]["settings"]["password"] == PASSWORD


def test_non_secret_change_keeps_secret(run_module, grafana, unique):
    slack = {"type": "slack", "settings": {"url": SLACK_URL, "recipient": "#ops"}}
    teams = {"type": "teams", "settings": {"url": TEAMS_URL}}
    assert_ok(run_module(MODULE, {"name": unique, "integrations": [slack, teams]}))
    slack_changed = {"type": "slack", "settings": {"url": "x", "recipient": "#new"}}
    teams_changed = {"type": "teams", "settings": {"url": "y", "message": "hi"}}
    args = {"name": unique, "integrations": [slack_changed, teams_changed]}

    first = assert_ok(run_module(MODULE, args))
    second = assert_ok(run_module(MODULE, args))

    assert first["changed"] is True
    assert len(first["updated"]) == 2
    assert second["changed"] is False
    points = stored(grafana, unique)
    assert points[0]["settings"] == {"url": SLACK_URL, "recipient": "#new"}
    assert points[1]["settings"] == {"url": TEAMS_URL, "message": "hi"}


def test_removed_integration_deleted(run_module, grafana, unique):
    both = {"name": unique, "integrations": [webhook(), email("a@example.test")]}
    created = assert_ok(run_module(MODULE, both))["created"]

    args = {"name": unique, "integrations": [webhook()]}
    result = assert_ok(run_module(MODULE, args))

    assert result["changed"] is True
    assert result["deleted"] == [created[1]]
    assert result["updated"] == []
    assert [point["uid"] for point in stored(grafana, unique)] == [created[0]]


def test_contact_point_absent(run_module, grafana, unique):
    args = {"name": unique, "integrations": [webhook(), email("a@example.test")]}
    created = assert_ok(run_module(MODULE, args))["created"]

    checked = assert_ok(
        run_module(MODULE, {"name": unique, "state": "absent"}, check_mode=True)
    )
    removed = assert_ok(
        run_module(MODULE, {"name": unique, "state": "absent"}, diff_mode=True)
    )
    again = assert_ok(run_module(MODULE, {"name": unique, "state": "absent"}))

    assert checked["changed"] is True
    assert checked["deleted"] == created
    assert removed["deleted"] == created
    assert PASSWORD not in json.dumps(removed)
    assert removed["diff"]["after"] == ""
    assert again["changed"] is False
    assert stored(grafana, unique) == []


def test_absent_used_by_policy_fails(run_module, admin_api, grafana, unique):
    args = {"name": unique, "integrations": [email("a@example.test")]}
    assert_ok(run_module(MODULE, args))
    policy = admin_api.ok("GET", "/api/v1/provisioning/policies")
    route = {"receiver": unique, "object_matchers": [["team", "=", unique]]}
    tree = dict(policy, routes=[route])
    tree.pop("provenance", None)
    status, _ = admin_api.call("PUT", "/api/v1/provisioning/policies", tree)
    assert status == 202

    try:
        start = len(grafana.records)
        result = run_module(MODULE, {"name": unique, "state": "absent"})
        writes = writes_since(grafana, start)
    finally:
        admin_api.call("DELETE", "/api/v1/provisioning/policies")

    assert result["failed"] is True
    assert "receiver of a notification policy" in result["msg"]
    assert writes == []
    assert len(stored(grafana, unique)) == 1


def test_provenance_header_on_writes(run_module, grafana, unique):
    start = len(grafana.records)
    args = {
        "name": unique,
        "disable_provenance": True,
        "integrations": [webhook(), email("a@example.test")],
    }
    assert_ok(run_module(MODULE, args))
    args["integrations"] = [webhook(httpMethod="PUT")]
    assert_ok(run_module(MODULE, args))

    writes = [r for r in requests_since(grafana, start) if r["method"] != "GET"]
    assert [r["method"] for r in writes] == ["POST", "POST", "PUT", "DELETE"]
    for record in writes:
        assert record["request_headers"].get("x-disable-provenance") == "true"
    assert stored(grafana, unique)[0]["provenance"] == ""


def test_provenance_header_absent_by_default(run_module, grafana, unique):
    start = len(grafana.records)
    assert_ok(run_module(MODULE, {"name": unique, "integrations": [webhook()]}))

    writes = [r for r in requests_since(grafana, start) if r["method"] != "GET"]
    assert len(writes) == 1
    assert "x-disable-provenance" not in writes[0]["request_headers"]


def test_api_provenance_conflict_fails_first(run_module, grafana, unique):
    assert_ok(run_module(MODULE, {"name": unique, "integrations": [webhook()]}))
    args = {
        "name": unique,
        "disable_provenance": True,
        "integrations": [webhook(httpMethod="PUT")],
    }

    start = len(grafana.records)
    result = run_module(MODULE, args)

    assert result["failed"] is True
    assert "disable_provenance: false" in result["msg"]
    assert "provenance is 'api'" in result["msg"]
    assert writes_since(grafana, start) == []


def test_file_provenance_rejected_by_grafana(run_module, grafana, unique):
    assert_ok(run_module(MODULE, {"name": unique, "integrations": [webhook()]}))
    with grafana.store.lock:
        stored(grafana, unique)[0]["provenance"] = "file"
        grafana.store.save()
    args = {"name": unique, "integrations": [webhook(httpMethod="PUT")]}

    result = run_module(MODULE, args)

    assert result["failed"] is True
    assert result["status"] == 500
    assert "cannot change provenance from 'file' to 'api'" in result["msg"]
    assert "disable_provenance" in result["msg"]


@pytest.mark.parametrize(
    ("integration", "expected"),
    [
        ({"type": "pagerduty", "settings": {"url": "x"}}, "value of type must be one"),
        ({"type": "webhook", "settings": {}}, "integrations[0] of type webhook"),
        ({"type": "teams"}, "is missing settings.url"),
        ({"type": "email", "settings": {"addresses": []}}, "settings.addresses"),
        (
            {"type": "slack", "settings": {"token": "xoxb-slack-token"}},
            "settings.recipient",
        ),
        ({"type": "email", "settings": {"addresses": [""]}}, "settings.addresses"),
        (
            {"uid": "has space", "type": "teams", "settings": {"url": "x"}},
            "integrations[0].uid 'has space' is invalid",
        ),
    ],
)
def test_bad_input_fails_before_request(
    run_module, grafana, unique, integration, expected
):
    start = len(grafana.records)

    result = run_module(MODULE, {"name": unique, "integrations": [integration]})

    assert result["failed"] is True
    assert expected in result["msg"]
    assert requests_since(grafana, start) == []


def test_empty_integrations_rejected(run_module, grafana, unique):
    start = len(grafana.records)

    result = run_module(MODULE, {"name": unique, "integrations": []})

    assert result["failed"] is True
    assert "integrations is empty" in result["msg"]
    assert requests_since(grafana, start) == []


def test_duplicate_uid_rejected(run_module, unique):
    first = dict(webhook(), uid="same")
    second = dict(email("a@example.test"), uid="same")

    result = run_module(MODULE, {"name": unique, "integrations": [first, second]})

    assert result["failed"] is True
    assert "uid 'same' more than once" in result["msg"]


def test_uid_of_other_contact_point_rejected(run_module, grafana, unique):
    owner = {"name": f"{unique}a", "integrations": [dict(webhook(), uid=unique)]}
    assert_ok(run_module(MODULE, owner))
    thief = {"name": f"{unique}b", "integrations": [dict(webhook(), uid=unique)]}

    start = len(grafana.records)
    result = run_module(MODULE, thief)

    assert result["failed"] is True
    assert f"contact point '{unique}a'" in result["msg"]
    assert writes_since(grafana, start) == []


def test_validation_failure_masks_secret(run_module, unique):
    integration = {"type": "pagerduty", "settings": {"password": PASSWORD}}

    result = run_module(MODULE, {"name": unique, "integrations": [integration]})

    assert result["failed"] is True
    assert PASSWORD not in json.dumps(result)


def test_secrets_hidden_at_vvv(grafana, tmp_path: Path, unique):
    playbook = tmp_path / "contact_point.yml"
    task_args = {
        "url": grafana.url,
        "url_username": "admin",
        "url_password": "{{ admin_password }}",
        "name": unique,
        "integrations": [
            webhook(),
            {"type": "slack", "settings": {"url": SLACK_URL, "recipient": "#ops"}},
            {"type": "teams", "settings": {"url": TEAMS_URL}},
        ],
    }
    play = [
        {
            "name": "Manage a contact point",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [
                {"name": "Create it", f"vigil.monitoring.{MODULE}": task_args},
                {
                    "name": "Rotate its secrets",
                    f"vigil.monitoring.{MODULE}": dict(
                        task_args, secret_update="always"
                    ),
                },
            ],
        }
    ]
    playbook.write_text(json.dumps(play), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_ROOT),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "local"),
        ANSIBLE_REMOTE_TEMP=str(tmp_path / "remote"),
    )
    playbook_command = Path(sys.executable).parent / "ansible-playbook"

    completed = subprocess.run(
        [
            str(playbook_command),
            "-vvv",
            "--diff",
            "-i",
            "localhost,",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            "-e",
            "admin_password=admin-pass-for-tests",
            str(playbook),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=180,
        check=False,
    )

    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    assert "changed=2" in output
    for secret in (PASSWORD, SLACK_URL, TEAMS_URL):
        assert secret not in output
    assert len(stored(grafana, unique)) == 3
    # -vvv prints the module arguments, with the secrets masked.
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in output
