#!/usr/bin/python
# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible modules keep the shebang but are not executable files.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: prometheus_rule
short_description: Manage a Prometheus rule file of recording and alerting rules
version_added: 0.1.0
description:
  - Writes one Prometheus rule file from a list of rule groups, or removes it.
  - Checks the rendered file with C(promtool check rules) before writing it, in
    check mode too, and fails with promtool's message when promtool rejects it.
  - Optionally runs promtool unit tests (O(tests)) against the new rules before
    writing them, and fails with promtool's output when a test fails.
  - Compares the new rules with the parsed content of the existing file, so
    differences in comments, key order, quoting or duration spelling (V(60s) and
    V(1m)) do not cause a rewrite.
  - Replaces the file atomically with a temporary file in the same directory.
  - Can remove the other rule files in the directory (O(exclusive)) and make
    Prometheus reload its configuration (O(reload)). It never restarts Prometheus.
author:
  - vigil.monitoring maintainers (!UNKNOWN)
requirements:
  - PyYAML on the managed host.
  - promtool on the managed host when O(state=present). Prometheus 2.42 or later
    is needed for O(groups[].rules[].keep_firing_for).
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction
      without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs
      changing in check_mode), when in diff mode.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  name:
    description:
      - Name of the rule file without its extension. The module manages
        C(<rules_dir>/<name>.yml).
      - Exactly one of O(name) and O(path) is required.
    type: str
  rules_dir:
    description:
      - Directory that contains the rule file when the file is addressed by
        O(name). Ignored when O(path) is set.
      - The directory must exist, except in check mode, where a missing directory
        gives a warning and a predicted change.
    type: path
    default: /etc/prometheus/rules
  path:
    description:
      - Full path of the rule file, for files that do not follow the
        C(<rules_dir>/<name>.yml) layout.
      - Exactly one of O(name) and O(path) is required.
    type: path
  state:
    description:
      - V(present) writes the rule file. V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  groups:
    description:
      - Rule groups of the file, in the order Prometheus should evaluate them.
      - Required when O(state=present). An empty list writes a file with no
        groups. Ignored when O(state=absent).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Group name, unique within the file. Required.
        type: str
      interval:
        description:
          - How often Prometheus evaluates the group, as a Prometheus duration
            such as V(30s) or V(1m). Defaults to Prometheus's global
            C(evaluation_interval) when unset.
        type: str
      limit:
        description:
          - Maximum number of series a recording rule and alerts an alerting rule
            of this group may produce. V(0) or unset means no limit.
        type: int
      rules:
        description:
          - Rules of the group, evaluated in order. Required, but may be empty.
        type: list
        elements: dict
        suboptions:
          record:
            description:
              - Name of the time series a recording rule writes. Exactly one of
                O(groups[].rules[].record) and O(groups[].rules[].alert) is
                required.
            type: str
          alert:
            description:
              - Name of the alert an alerting rule fires.
            type: str
          expr:
            description:
              - PromQL expression to evaluate. Required. Leading and trailing
                whitespace is removed.
            type: str
          for:
            description:
              - Alerting rules only. How long the expression must return results
                before the alert fires, as a Prometheus duration.
            type: str
          keep_firing_for:
            description:
              - Alerting rules only. How long the alert keeps firing after the
                expression stops returning results, as a Prometheus duration.
                Needs Prometheus 2.42 or later.
            type: str
          labels:
            description:
              - Labels to add to the series or alert, as a dict of label names to
                string values. Numbers are turned into strings. Booleans are
                rejected, so quote V("true").
            type: dict
          annotations:
            description:
              - Alerting rules only. Annotations of the alert, as a dict of names
                to string values. Values may use Prometheus templates, see the
                notes about escaping them from Jinja.
            type: dict
  promtool:
    description:
      - Path of the promtool binary that validates the rules and runs O(tests).
      - When unset, the module searches the E(PATH) of the managed host, then
        C(/usr/local/bin) and C(/usr/bin).
      - Not used when O(state=absent).
    type: path
  tests:
    description:
      - Promtool unit test cases to run against the new rules before writing
        them, in the format of the C(tests) list of a C(promtool test rules)
        file. Each case is a dict with keys such as C(interval),
        C(input_series), C(alert_rule_test), C(promql_expr_test) and
        C(external_labels). The cases are passed to promtool unchanged.
      - When any case fails, the module fails with promtool's output and does not
        write the file. This also applies in check mode.
      - The module writes the C(rule_files) list of the test file itself.
    type: list
    elements: dict
  tests_evaluation_interval:
    description:
      - Evaluation interval of groups without O(groups[].interval) during
        O(tests), as a Prometheus duration. Set it to the C(evaluation_interval)
        of the Prometheus configuration. promtool uses V(1m) when unset.
    type: str
  owner:
    description:
      - Name or numeric id of the user that owns the rule file. When unset, a new
        file belongs to the user that runs the module and an existing file keeps
        its owner.
    type: str
  group:
    description:
      - Name or numeric id of the group that owns the rule file. When unset, a new
        file gets the default group and an existing file keeps its group.
    type: str
  mode:
    description:
      - Permissions of the rule file, as an octal string such as V("0640") or a
        symbolic mode such as V(u=rw,g=r,o=). Quote octal numbers in YAML.
    type: raw
    default: "0640"
  exclusive:
    description:
      - When V(true), removes every file in the directory of the rule file whose
        name ends in C(.yml), C(.yaml) or C(.rules), except the rule file itself
        and the files that match O(keep).
      - Subdirectories and other files are left alone. The removed files are
        listed in RV(removed).
      - Use it when one task owns the whole directory, because a later task with
        O(exclusive=true) removes the files that earlier tasks wrote. Only valid
        with O(state=present).
    type: bool
    default: false
  keep:
    description:
      - File names or shell patterns (such as C(node_*.yml)) in the directory that
        O(exclusive) keeps. Matched against the file name without its directory.
    type: list
    elements: str
    default: []
  reload:
    description:
      - How to make Prometheus load the changed rules. The module reloads only
        when it wrote or removed a file, and never in check mode.
      - V(none) leaves it to the caller, for example with a handler.
      - V(systemd) runs C(systemctl reload) on O(service_name).
      - V(http) sends a POST request to C(<reload_url>/-/reload). Prometheus
        accepts it only when it runs with C(--web.enable-lifecycle).
      - When the reload fails, the module fails with RV(changed=true), because
        the file is already written.
    type: str
    choices: [none, systemd, http]
    default: none
  service_name:
    description:
      - Systemd unit that O(reload=systemd) reloads.
    type: str
    default: prometheus
  reload_url:
    description:
      - Base URL of Prometheus for O(reload=http), including any route prefix
        set with C(--web.route-prefix). The module appends C(/-/reload).
    type: str
    default: http://127.0.0.1:9090
  url_username:
    description:
      - User name for HTTP basic authentication of the reload request.
    type: str
  url_password:
    description:
      - Password for HTTP basic authentication of the reload request.
    type: str
  validate_certs:
    description:
      - Whether to verify the TLS certificate of O(reload_url).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificates that verify O(reload_url). The system
        CA store is used when unset.
    type: path
  client_cert:
    description:
      - PEM file with the client certificate for the reload request, when
        Prometheus requires TLS client authentication.
    type: path
  client_key:
    description:
      - PEM file with the private key of O(client_cert), unless O(client_cert)
        contains it.
    type: path
  reload_timeout:
    description:
      - Timeout of the reload request in seconds.
    type: int
    default: 30
notes:
  - Prometheus templates in annotations, such as C({{ $labels.instance }}), look
    like Jinja to Ansible. Mark such values C(!unsafe) or wrap them in
    C({% raw %}...{% endraw %}) so that Ansible passes them through.
  - The written file starts with a comment that says Ansible manages it. Comments
    in an existing file are not kept when the module rewrites it.
  - The module compares the order of groups and rules, so reordering them
    rewrites the file.
  - A new file briefly has the mode that the umask gives before the module applies
    O(mode), O(owner) and O(group).
  - O(exclusive) decides from file names alone. It does not read the C(rule_files)
    setting of the Prometheus configuration.
seealso:
  - name: Prometheus recording rules
    description: Syntax of recording rules and rule groups.
    link: https://prometheus.io/docs/prometheus/latest/configuration/recording_rules/
  - name: Prometheus alerting rules
    description: Syntax of alerting rules.
    link: https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/
  - name: Unit testing for rules
    description: Format of the promtool test cases that O(tests) takes.
    link: https://prometheus.io/docs/prometheus/latest/configuration/unit_testing_rules/
"""

EXAMPLES = r"""
- name: Write recording and alerting rules for node_exporter
  vigil.monitoring.prometheus_rule:
    name: node
    owner: root
    group: prometheus
    mode: "0640"
    reload: systemd
    groups:
      - name: node.recording
        interval: 30s
        rules:
          - record: instance:node_cpu_utilisation:rate5m
            expr: >-
              1 - avg without (cpu) (
                rate(node_cpu_seconds_total{mode="idle"}[5m])
              )
      - name: node.alerts
        rules:
          - alert: NodeDown
            expr: up{job="node"} == 0
            for: 5m
            labels:
              severity: page
            annotations:
              summary: !unsafe "{{ $labels.instance }} is down"

- name: Check an alert with promtool unit tests before writing it
  vigil.monitoring.prometheus_rule:
    name: blackbox
    groups:
      - name: blackbox.alerts
        rules:
          - alert: ProbeFailed
            expr: probe_success == 0
            for: 2m
            labels:
              severity: ticket
    tests:
      - interval: 1m
        input_series:
          - series: probe_success{instance="https://example.org"}
            values: 0x10
        alert_rule_test:
          - eval_time: 5m
            alertname: ProbeFailed
            exp_alerts:
              - exp_labels:
                  severity: ticket
                  instance: https://example.org

- name: Write the only rule file of the directory and reload over HTTP
  vigil.monitoring.prometheus_rule:
    path: /etc/prometheus/rules/all.yml
    exclusive: true
    keep:
      - "local-*.yml"
    reload: http
    reload_url: https://prometheus.example.org:9090
    url_username: admin
    url_password: "{{ prometheus_admin_password }}"
    ca_path: /etc/prometheus/tls/ca.pem
    groups:
      - name: self
        rules:
          - record: job:up:count
            expr: count by (job) (up)

- name: Remove a rule file
  vigil.monitoring.prometheus_rule:
    name: legacy
    state: absent
    reload: systemd
"""

RETURN = r"""
path:
  description: Path of the managed rule file.
  returned: always
  type: str
  sample: /etc/prometheus/rules/node.yml
changed:
  description:
    - Whether the module wrote or removed a file or changed the file's owner,
      group or mode. In check mode, whether it would.
  returned: always
  type: bool
  sample: true
removed:
  description:
    - Files that the module removed, or would remove in check mode. Contains the
      rule file itself for O(state=absent) and the unmanaged files for
      O(exclusive=true).
  returned: always
  type: list
  elements: str
  sample: [/etc/prometheus/rules/old.yml]
reloaded:
  description:
    - Whether the module made Prometheus reload. Always V(false) in check mode and
      when O(reload=none).
  returned: always
  type: bool
  sample: false
promtool_check_output:
  description: Output of C(promtool check rules) for the new rule file.
  returned: when O(state=present)
  type: str
  sample: "Checking node.yml\n  SUCCESS: 2 rules found"
promtool_test_output:
  description: Output of C(promtool test rules) for O(tests).
  returned: when O(state=present) and O(tests) is set
  type: str
  sample: "Unit Testing:  tests.yml\n  SUCCESS"
diff:
  description:
    - Text of the rule file before and after the change, followed by one entry for
      each removed file.
  returned: in diff mode
  type: list
  elements: dict
  sample:
    - before: ""
      after: "groups:\n- name: self\n  rules: []\n"
      before_header: /etc/prometheus/rules/self.yml
      after_header: /etc/prometheus/rules/self.yml
"""

import fnmatch
import os
import tempfile
import urllib.error
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url
from ansible_collections.vigil.monitoring.plugins.module_utils.prometheus_rules import (
    HAS_YAML,
    YAML_IMPORT_ERROR,
    PrometheusRuleError,
    comparable_form,
    normalize_groups,
    render_rule_file,
    render_test_file,
    validate_duration,
)

PROMTOOL_FALLBACK_DIRS = ("/usr/local/bin", "/usr/bin")
RULE_FILE_SUFFIXES = (".yml", ".yaml", ".rules")
RULE_FILE_EXTENSION = ".yml"

ARGUMENT_SPEC: dict[str, Any] = {
    "name": {"type": "str"},
    "rules_dir": {"type": "path", "default": "/etc/prometheus/rules"},
    "path": {"type": "path"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "groups": {
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str"},
            "interval": {"type": "str"},
            "limit": {"type": "int"},
            "rules": {
                "type": "list",
                "elements": "dict",
                "options": {
                    "record": {"type": "str"},
                    "alert": {"type": "str"},
                    "expr": {"type": "str"},
                    "for": {"type": "str"},
                    "keep_firing_for": {"type": "str"},
                    "labels": {"type": "dict"},
                    "annotations": {"type": "dict"},
                },
            },
        },
    },
    "promtool": {"type": "path"},
    "tests": {"type": "list", "elements": "dict"},
    "tests_evaluation_interval": {"type": "str"},
    "owner": {"type": "str"},
    "group": {"type": "str"},
    "mode": {"type": "raw", "default": "0640"},
    "exclusive": {"type": "bool", "default": False},
    "keep": {"type": "list", "elements": "str", "default": []},
    "reload": {
        "type": "str",
        "choices": ["none", "systemd", "http"],
        "default": "none",
    },
    "service_name": {"type": "str", "default": "prometheus"},
    "reload_url": {"type": "str", "default": "http://127.0.0.1:9090"},
    "url_username": {"type": "str"},
    "url_password": {"type": "str", "no_log": True},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "client_cert": {"type": "path"},
    "client_key": {"type": "path"},
    "reload_timeout": {"type": "int", "default": 30},
}


def resolve_rule_path(params: dict[str, Any]) -> str:
    """Return the rule file path from either ``path`` or ``name`` and ``rules_dir``."""
    if params["path"] is not None:
        return os.path.normpath(params["path"])
    name = params["name"]
    if not name or "/" in name or name in (".", ".."):
        raise PrometheusRuleError(
            f"Invalid name {name!r}: give a plain file name without a directory, or set"
            " path to the full path of the rule file."
        )
    if name.endswith(RULE_FILE_SUFFIXES):
        raise PrometheusRuleError(
            f"Invalid name {name!r}: name must not include an extension, because"
            f" the module adds {RULE_FILE_EXTENSION}. Use name:"
            f" {os.path.splitext(name)[0]}, or set path to the full path."
        )
    return os.path.join(params["rules_dir"], name + RULE_FILE_EXTENSION)


def find_promtool(configured: str | None) -> str:
    """Return the promtool binary to use, or raise PrometheusRuleError."""
    if configured is not None:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured
        raise PrometheusRuleError(
            f"promtool not found or not executable at {configured}. Install"
            " promtool there or set promtool to its path."
        )
    search_dirs = os.environ.get("PATH", "").split(os.pathsep)
    search_dirs.extend(PROMTOOL_FALLBACK_DIRS)
    for directory in search_dirs:
        candidate = os.path.join(directory, "promtool")
        if directory and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise PrometheusRuleError(
        "promtool not found on PATH or in {}. Install promtool (it ships with"
        " Prometheus) or set promtool to its path.".format(
            ", ".join(PROMTOOL_FALLBACK_DIRS)
        )
    )


def _command_output(stdout: str, stderr: str) -> str:
    return "\n".join(part.strip() for part in (stdout, stderr) if part.strip())


def validate_candidate(
    module: AnsibleModule, path: str, rule_text: str
) -> dict[str, str]:
    """Run promtool on the candidate rule file in the module's private tmp dir.

    Returns the promtool outputs as result keys, or raises PrometheusRuleError when
    ``promtool check rules`` or ``promtool test rules`` fails.
    """
    params = module.params
    promtool = find_promtool(params["promtool"])
    basename = os.path.basename(path)
    workdir = tempfile.mkdtemp(prefix="prometheus_rule-", dir=module.tmpdir)
    rules_dir = os.path.join(workdir, "rules")
    os.mkdir(rules_dir)
    # The candidate keeps the real file name, so that promtool's messages name it.
    with open(os.path.join(rules_dir, basename), "w", encoding="utf-8") as handle:
        handle.write(rule_text)

    rc, stdout, stderr = module.run_command(
        [promtool, "check", "rules", basename], cwd=rules_dir
    )
    result = {"promtool_check_output": _command_output(stdout, stderr)}
    if rc != 0:
        raise PrometheusRuleError(
            "promtool check rules rejected the rules for {}, so the file was not"
            " written. Fix the group or rule that promtool names:\n{}".format(
                path, result["promtool_check_output"]
            ),
            **result,
        )

    if params["tests"] is None:
        return result
    evaluation_interval = params["tests_evaluation_interval"]
    if evaluation_interval is not None:
        evaluation_interval = validate_duration(
            evaluation_interval, "tests_evaluation_interval"
        )
    test_file = "tests.yml"
    with open(os.path.join(workdir, test_file), "w", encoding="utf-8") as handle:
        handle.write(
            render_test_file("rules/" + basename, params["tests"], evaluation_interval)
        )
    rc, stdout, stderr = module.run_command(
        [promtool, "test", "rules", test_file], cwd=workdir
    )
    result["promtool_test_output"] = _command_output(stdout, stderr)
    if rc != 0:
        raise PrometheusRuleError(
            "promtool test rules failed for {}, so the file was not written. Fix"
            " the rules or the test case that promtool names:\n{}".format(
                path, result["promtool_test_output"]
            ),
            **result,
        )
    return result


def read_text(path: str) -> str | None:
    """Return the content of ``path``, or None when it does not exist."""
    if os.path.isdir(path):
        raise PrometheusRuleError(
            f"{path} is a directory, not a rule file. Choose another name or path."
        )
    try:
        with open(path, "rb") as handle:
            return to_text(handle.read(), errors="surrogate_or_replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PrometheusRuleError(
            f"Failed to read {path}: {to_native(exc)}. Check the permissions of the"
            " file and its directory."
        ) from exc


def write_atomically(module: AnsibleModule, path: str, text: str) -> None:
    """Replace ``path`` with ``text`` through a temporary file in its directory.

    The temporary name ends in ``.tmp``, so ``rule_files`` globs such as
    ``*.yml`` do not match a half-written file.
    """
    directory, basename = os.path.split(path)
    try:
        fd, tmp_path = tempfile.mkstemp(
            prefix=f".{basename}.", suffix=".tmp", dir=directory
        )
    except OSError as exc:
        raise PrometheusRuleError(
            f"Failed to create a temporary file in {directory}: {to_native(exc)}."
            " Check that the remote user can write to the directory."
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        module.atomic_move(tmp_path, path)
    finally:
        if os.path.exists(tmp_path):
            os.unlink(tmp_path)


def find_unmanaged_files(directory: str, path: str, keep: list[str]) -> list[str]:
    """Return the rule files in ``directory`` that ``exclusive`` removes."""
    unmanaged = []
    for entry in sorted(os.listdir(directory)):
        candidate = os.path.join(directory, entry)
        if candidate == path or not entry.endswith(RULE_FILE_SUFFIXES):
            continue
        if os.path.isdir(candidate):
            continue
        if any(fnmatch.fnmatchcase(entry, pattern) for pattern in keep):
            continue
        unmanaged.append(candidate)
    return unmanaged


def remove_file(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise PrometheusRuleError(
            f"Failed to remove {path}: {to_native(exc)}. Check the permissions of"
            " its directory."
        ) from exc


def reload_with_systemd(module: AnsibleModule) -> None:
    service = module.params["service_name"]
    systemctl = module.get_bin_path("systemctl")
    if systemctl is None:
        raise PrometheusRuleError(
            f"systemctl not found, so reload=systemd cannot reload {service}. Use"
            " reload=http or reload=none on hosts without systemd."
        )
    rc, stdout, stderr = module.run_command([systemctl, "reload", service])
    if rc != 0:
        raise PrometheusRuleError(
            f"systemctl reload {service} failed with exit code {rc}:"
            f" {_command_output(stdout, stderr)}. The rule files are already"
            " changed, so reload Prometheus once the unit is fixed."
        )


def reload_with_http(module: AnsibleModule) -> None:
    params = module.params
    url = params["reload_url"].rstrip("/") + "/-/reload"
    try:
        response = open_url(
            url,
            data=b"",
            method="POST",
            timeout=params["reload_timeout"],
            validate_certs=params["validate_certs"],
            url_username=params["url_username"],
            url_password=params["url_password"],
            force_basic_auth=params["url_username"] is not None,
            ca_path=params["ca_path"],
            client_cert=params["client_cert"],
            client_key=params["client_key"],
            http_agent="vigil.monitoring.prometheus_rule",
        )
        response.read()
    except urllib.error.HTTPError as exc:
        hint = "Check reload_url and the credentials."
        if exc.code == 403:
            hint = (
                "Prometheus rejects reload requests unless it runs with"
                " --web.enable-lifecycle."
            )
        raise PrometheusRuleError(
            f"POST {url} failed with HTTP status {exc.code}. {hint} The rule files"
            " are already changed."
        ) from exc
    except (urllib.error.URLError, UrlConnectionError, OSError) as exc:
        raise PrometheusRuleError(
            f"POST {url} failed: {to_native(exc)}. Check that Prometheus listens on"
            " reload_url. The rule files are already changed."
        ) from exc


def reload_prometheus(module: AnsibleModule) -> bool:
    """Reload Prometheus with the ``reload`` method and return whether it ran."""
    method = module.params["reload"]
    if method == "none" or module.check_mode:
        return False
    if method == "systemd":
        reload_with_systemd(module)
    else:
        reload_with_http(module)
    return True


def _file_diff(path: str, before: str, after: str) -> dict[str, str]:
    return {
        "before": before,
        "after": after,
        "before_header": path,
        "after_header": path,
    }


def ensure_present(module: AnsibleModule, path: str) -> dict[str, Any]:
    """Validate, write and set the attributes of the rule file."""
    params = module.params
    if not HAS_YAML:
        module.fail_json(
            msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR
        )
    if params["groups"] is None:
        raise PrometheusRuleError(
            "groups is required with state=present. Set groups to the rule groups"
            " of the file, or to an empty list for a file without groups."
        )
    text = render_rule_file(normalize_groups(params["groups"]))
    result: dict[str, Any] = validate_candidate(module, path, text)

    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        if not module.check_mode:
            raise PrometheusRuleError(
                f"Directory {directory} not found. Create it before this task, for"
                " example with ansible.builtin.file and state=directory."
            )
        module.warn(
            f"Directory {directory} not found. The change is predicted on the"
            " assumption that an earlier task creates it."
        )
        result.update(changed=True, removed=[])
        result["diff"] = [_file_diff(path, "", text)]
        return result

    existing = read_text(path)
    content_changed = comparable_form(existing) != comparable_form(text)
    if content_changed and not module.check_mode:
        write_atomically(module, path, text)
    changed = content_changed
    if os.path.exists(path):
        file_args = module.load_file_common_arguments(params, path=path)
        changed = module.set_fs_attributes_if_different(file_args, changed)

    diffs = [_file_diff(path, existing or "", text if content_changed else existing)]
    removed = []
    if params["exclusive"]:
        for unmanaged in find_unmanaged_files(directory, path, params["keep"]):
            diffs.append(_file_diff(unmanaged, read_text(unmanaged) or "", ""))
            if not module.check_mode:
                remove_file(unmanaged)
            removed.append(unmanaged)

    result.update(changed=changed or bool(removed), removed=removed, diff=diffs)
    result["files_changed"] = content_changed or bool(removed)
    return result


def ensure_absent(module: AnsibleModule, path: str) -> dict[str, Any]:
    """Remove the rule file if it exists."""
    existing = read_text(path)
    if existing is None and not os.path.islink(path):
        return {"changed": False, "removed": [], "diff": [_file_diff(path, "", "")]}
    if not module.check_mode:
        remove_file(path)
    return {
        "changed": True,
        "removed": [path],
        "diff": [_file_diff(path, existing or "", "")],
        "files_changed": True,
    }


def manage_rule_file(module: AnsibleModule) -> dict[str, Any]:
    """Bring the rule file to ``state`` and return the module result."""
    params = module.params
    path = resolve_rule_path(params)
    if params["exclusive"] and params["state"] == "absent":
        raise PrometheusRuleError(
            "exclusive=true is only valid with state=present, because it keeps the"
            " managed file and removes the others. Remove exclusive, or remove the"
            " files with state=absent one by one."
        )
    if params["state"] == "present":
        result = ensure_present(module, path)
    else:
        result = ensure_absent(module, path)

    files_changed = result.pop("files_changed", False)
    result["path"] = path
    result["reloaded"] = False
    if not module._diff:
        result.pop("diff")
    if files_changed:
        try:
            result["reloaded"] = reload_prometheus(module)
        except PrometheusRuleError as exc:
            exc.details.update(changed=True, path=path, removed=result["removed"])
            raise
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[("name", "path")],
        required_one_of=[("name", "path")],
        supports_check_mode=True,
    )
    try:
        result = manage_rule_file(module)
    except PrometheusRuleError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
