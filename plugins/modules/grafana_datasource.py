#!/usr/bin/python
# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible modules keep the shebang but are not executable files, and they
# import after DOCUMENTATION, EXAMPLES and RETURN.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: grafana_datasource
short_description: Create, update or delete a Grafana data source
version_added: 0.1.0
description:
  - Manages one data source of a Grafana organization, addressed by O(uid)
    when set and by O(name) otherwise.
  - Has options for the settings of a Prometheus data source (basic auth,
    CA certificate, client certificate, scrape interval, HTTP method). Other
    types take their settings in O(json_data) and O(secure_json_data).
  - Grafana never returns secrets, so the module cannot compare them. With
    O(secure_json_data_update=on_create) it sends a secret only when the data
    source is created or when Grafana has no value for that key, which keeps
    reruns idempotent.
author:
  - vigil.monitoring maintainers (!UNKNOWN)
extends_documentation_fragment:
  - vigil.monitoring.grafana
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
      - Name of the data source, unique in the organization.
    type: str
    required: true
  uid:
    description:
      - Uid of the data source, at most 40 letters, digits, C(-) or C(_).
        Dashboards refer to data sources by uid, so set it to keep references
        stable across Grafana instances.
      - When unset, the module finds the data source by O(name), and Grafana
        generates the uid of a new one.
    type: str
  type:
    description:
      - Plugin id of the data source type, such as V(prometheus), V(loki) or
        V(alertmanager).
    type: str
    default: prometheus
  datasource_url:
    description:
      - URL that Grafana's server uses to reach the data source. Named
        differently from O(url), which is the URL of Grafana itself.
    type: str
    aliases: [ds_url]
  access:
    description:
      - V(proxy) makes Grafana's server send the queries. V(direct) makes the
        browser send them, which current Grafana versions no longer support
        for most types.
    type: str
    choices: [proxy, direct]
    default: proxy
  is_default:
    description:
      - Whether this is the organization's default data source. Making one
        data source the default clears the flag on the others.
      - When unset, a new data source is not the default and an existing one
        keeps its flag.
    type: bool
  basic_auth_user:
    description:
      - User for HTTP basic authentication towards the data source. Setting it
        turns basic authentication on.
    type: str
  basic_auth_password:
    description:
      - Password for O(basic_auth_user), stored as the secret
        C(basicAuthPassword).
    type: str
  tls_ca_cert:
    description:
      - PEM text of the CA certificate that verifies the data source, stored as
        C(tlsCACert). Turns on C(tlsAuthWithCACert).
    type: str
  tls_client_cert:
    description:
      - PEM text of a client certificate for TLS client authentication, stored
        as C(tlsClientCert). Turns on C(tlsAuth). Requires O(tls_client_key).
    type: str
  tls_client_key:
    description:
      - PEM text of the private key of O(tls_client_cert), stored as the secret
        C(tlsClientKey).
    type: str
  tls_skip_verify:
    description:
      - Whether Grafana skips the verification of the data source's TLS
        certificate (C(tlsSkipVerify)). When unset, the key is not sent.
    type: bool
  scrape_interval:
    description:
      - Prometheus scrape interval, such as V(15s), which Grafana uses as the
        minimum query step (C(jsonData.timeInterval)).
    type: str
  http_method:
    description:
      - HTTP method for Prometheus queries (C(jsonData.httpMethod)).
    type: str
    choices: [GET, POST]
  json_data:
    description:
      - Further C(jsonData) settings. The typed options above take precedence
        over the same keys here.
      - The module manages C(jsonData) as a whole, so keys that Grafana has
        and this task does not set are removed.
    type: dict
    default: {}
  secure_json_data:
    description:
      - "Further secret settings (C(secureJsonData)), such as
        V({httpHeaderValue1: \"Bearer ...\"}). The typed options above take
        precedence over the same keys here."
    type: dict
    default: {}
  secure_json_data_update:
    description:
      - V(on_create) sends a secret only when the data source is created or
        when Grafana has no value stored for its key. A changed secret is then
        not sent. Use it for idempotent reruns.
      - V(always) sends every secret on every run, so the task reports a
        change on every run that has secrets.
    type: str
    choices: [always, on_create]
    default: on_create
  state:
    description:
      - V(present) creates or updates the data source. V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Secrets that Grafana stores but the task does not set are kept, because
    Grafana's API has no way to remove a single secret.
  - A data source provisioned from a file is read-only in the API, and the
    task fails for it with a message saying so.
seealso:
  - name: Grafana data source HTTP API
    description: Routes and fields that the module uses.
    link: https://grafana.com/docs/grafana/latest/developers/http_api/data_source/
"""

EXAMPLES = r"""
- name: Add the local Prometheus with basic auth and a private CA
  vigil.monitoring.grafana_datasource:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    name: Prometheus
    uid: prometheus-main
    type: prometheus
    is_default: true
    datasource_url: https://prometheus.example.org:9090
    basic_auth_user: grafana
    basic_auth_password: "{{ prometheus_grafana_password }}"
    tls_ca_cert: "{{ lookup('ansible.builtin.file', 'pki/ca.pem') }}"
    scrape_interval: 15s
    http_method: POST
  delegate_to: localhost

- name: Add Loki with a custom header
  vigil.monitoring.grafana_datasource:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    name: Loki
    uid: loki
    type: loki
    datasource_url: http://loki.example.org:3100
    json_data:
      httpHeaderName1: X-Scope-OrgID
      maxLines: 1000
    secure_json_data:
      httpHeaderValue1: tenant-a
  delegate_to: localhost

- name: Remove a data source
  vigil.monitoring.grafana_datasource:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    name: Old Prometheus
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
changed:
  description: Whether the module created, updated or deleted the data
    source, or would in check mode.
  returned: always
  type: bool
  sample: true
uid:
  description: Uid of the data source.
  returned: when the data source exists after the run, except in check mode
    for a new data source without O(uid)
  type: str
  sample: prometheus-main
id:
  description: Numeric id of the data source.
  returned: when the data source exists after the run, except in check mode
    for a new data source
  type: int
  sample: 1
created:
  description: Whether the data source did not exist before.
  returned: when O(state=present)
  type: bool
  sample: false
secure_json_fields:
  description: Names of the secrets that Grafana stores for the data source
    after the run. The values are never returned.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [basicAuthPassword, tlsCACert]
diff:
  description: Settings before and after, as JSON text. Secrets appear only
    as the names in C(secureJsonFields).
  returned: in diff mode
  type: dict
  sample:
    before: "{\n  \"url\": \"http://old:9090\"\n}\n"
    after: "{\n  \"url\": \"http://prometheus:9090\"\n}\n"
    before_header: data source Prometheus
    after_header: data source Prometheus
"""

from typing import Any, Dict, List, Optional

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_api import (
    GrafanaAPIError,
    GrafanaClient,
    grafana_module_kwargs,
    path_segment,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_diff import (
    make_diff,
)

MODULE_OPTIONS: Dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "uid": {"type": "str"},
    "type": {"type": "str", "default": "prometheus"},
    "datasource_url": {"type": "str", "aliases": ["ds_url"]},
    "access": {"type": "str", "choices": ["proxy", "direct"], "default": "proxy"},
    "is_default": {"type": "bool"},
    "basic_auth_user": {"type": "str"},
    "basic_auth_password": {"type": "str", "no_log": True},
    "tls_ca_cert": {"type": "str"},
    "tls_client_cert": {"type": "str"},
    "tls_client_key": {"type": "str", "no_log": True},
    "tls_skip_verify": {"type": "bool"},
    "scrape_interval": {"type": "str"},
    "http_method": {"type": "str", "choices": ["GET", "POST"]},
    "json_data": {"type": "dict", "default": {}},
    "secure_json_data": {"type": "dict", "default": {}, "no_log": True},
    "secure_json_data_update": {
        "type": "str",
        "choices": ["always", "on_create"],
        "default": "on_create",
    },
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
}
REQUIRED_TOGETHER = [["tls_client_cert", "tls_client_key"]]
COMPARED_FIELDS = ("name", "type", "access", "url", "basicAuth", "basicAuthUser")


def build_json_data(params: Dict[str, Any]) -> Dict[str, Any]:
    json_data = dict(params.get("json_data") or {})
    typed = {
        "timeInterval": params.get("scrape_interval"),
        "httpMethod": params.get("http_method"),
        "tlsSkipVerify": params.get("tls_skip_verify"),
    }
    if params.get("tls_ca_cert"):
        typed["tlsAuthWithCACert"] = True
    if params.get("tls_client_cert"):
        typed["tlsAuth"] = True
    json_data.update({key: value for key, value in typed.items() if value is not None})
    return json_data


def build_secrets(params: Dict[str, Any]) -> Dict[str, str]:
    secrets = {
        key: str(value) for key, value in (params.get("secure_json_data") or {}).items()
    }
    typed = {
        "basicAuthPassword": params.get("basic_auth_password"),
        "tlsCACert": params.get("tls_ca_cert"),
        "tlsClientCert": params.get("tls_client_cert"),
        "tlsClientKey": params.get("tls_client_key"),
    }
    secrets.update({key: value for key, value in typed.items() if value is not None})
    return secrets


def build_settings(
    params: Dict[str, Any], current: Optional[Dict[str, Any]]
) -> Dict[str, Any]:
    """Return the non-secret fields of the data source as Grafana names them."""
    settings: Dict[str, Any] = {
        "name": params["name"],
        "type": params["type"],
        "access": params["access"],
        "url": params.get("datasource_url") or "",
        "basicAuth": bool(params.get("basic_auth_user")),
        "basicAuthUser": params.get("basic_auth_user") or "",
        "jsonData": build_json_data(params),
    }
    is_default = params.get("is_default")
    if is_default is None:
        is_default = bool((current or {}).get("isDefault"))
    settings["isDefault"] = is_default
    return settings


def stored_settings(current: Dict[str, Any]) -> Dict[str, Any]:
    settings = {key: current.get(key) for key in COMPARED_FIELDS}
    settings["isDefault"] = bool(current.get("isDefault"))
    settings["jsonData"] = current.get("jsonData") or {}
    return settings


class DatasourceRun:
    """One run of the module: reads, compares, and writes when needed."""

    def __init__(
        self,
        client: GrafanaClient,
        params: Dict[str, Any],
        check_mode: bool,
        diff_mode: bool,
    ) -> None:
        self.client = client
        self.params = params
        self.check_mode = check_mode
        self.diff_mode = diff_mode
        self.result: Dict[str, Any] = {"changed": False}

    def fetch(self) -> Optional[Dict[str, Any]]:
        """Return the stored data source by uid, or by name when uid is unset.

        A name is looked up in the list of data sources rather than with
        ``/api/datasources/name/:name``, so names with ``/`` or spaces work.
        """
        uid = self.params.get("uid")
        if not uid:
            listed = self.client.get("/api/datasources") or []
            matches = [
                item for item in listed if item.get("name") == self.params["name"]
            ]
            if not matches:
                return None
            uid = matches[0]["uid"]
        path = f"/api/datasources/uid/{path_segment(uid)}"
        return self.client.get(path, missing_ok=True)

    def absent(self) -> Dict[str, Any]:
        current = self.fetch()
        before = None
        if current is not None:
            self._require_writable(current)
            before = self._view(stored_settings(current), current)
            self.result.update(changed=True, uid=current["uid"], id=current["id"])
            if not self.check_mode:
                self.client.delete(
                    f"/api/datasources/uid/{path_segment(current['uid'])}"
                )
        self._diff(before, None)
        return self.result

    def present(self) -> Dict[str, Any]:
        current = self.fetch()
        settings = build_settings(self.params, current)
        secrets = build_secrets(self.params)
        self.result["created"] = current is None
        if current is None:
            self._create(settings, secrets)
            after_fields = sorted(secrets)
            self._diff(None, self._view(settings, None, after_fields))
            return self.result

        self.result.update(uid=current["uid"], id=current["id"])
        stored = stored_settings(current)
        stored_secrets = sorted((current.get("secureJsonFields") or {}).keys())
        to_send = self._secrets_to_send(secrets, stored_secrets)
        after_fields = sorted(set(stored_secrets) | set(to_send))
        self.result["secure_json_fields"] = after_fields
        if stored != settings or to_send:
            self._require_writable(current)
            self._update(current, settings, to_send)
        before = self._view(stored, current, stored_secrets)
        self._diff(before, self._view(settings, current, after_fields))
        return self.result

    def _secrets_to_send(
        self, secrets: Dict[str, str], stored_keys: List[str]
    ) -> Dict[str, str]:
        if self.params["secure_json_data_update"] == "always":
            return secrets
        return {key: value for key, value in secrets.items() if key not in stored_keys}

    def _require_writable(self, current: Dict[str, Any]) -> None:
        if current.get("readOnly"):
            raise GrafanaAPIError(
                f"Data source {current.get('name')!r} (uid {current.get('uid')}) is"
                " provisioned from a file and read-only in the API. Change the"
                " provisioning file instead, or remove it there first."
            )

    def _create(self, settings: Dict[str, Any], secrets: Dict[str, str]) -> None:
        self.result["changed"] = True
        self.result["secure_json_fields"] = sorted(secrets)
        if self.params.get("uid"):
            self.result["uid"] = self.params["uid"]
        if self.check_mode:
            return
        body = dict(settings, secureJsonData=secrets)
        if self.params.get("uid"):
            body["uid"] = self.params["uid"]
        reply = self.client.post("/api/datasources", body)
        source = reply.get("datasource") or {}
        self.result.update(uid=source.get("uid"), id=reply.get("id"))

    def _update(
        self,
        current: Dict[str, Any],
        settings: Dict[str, Any],
        secrets: Dict[str, str],
    ) -> None:
        self.result["changed"] = True
        if self.check_mode:
            return
        body = dict(settings, uid=current["uid"], version=current.get("version"))
        if secrets:
            body["secureJsonData"] = secrets
        self.client.put(f"/api/datasources/uid/{path_segment(current['uid'])}", body)

    def _view(
        self,
        settings: Dict[str, Any],
        current: Optional[Dict[str, Any]],
        secure_fields: Optional[List[str]] = None,
    ) -> Dict[str, Any]:
        view = dict(settings)
        view["uid"] = (current or {}).get("uid") or self.params.get("uid") or ""
        if secure_fields is None:
            secure_fields = sorted((current or {}).get("secureJsonFields") or {})
        view["secureJsonFields"] = secure_fields
        return view

    def _diff(self, before: Any, after: Any) -> None:
        if self.diff_mode:
            header = f"data source {self.params['name']}"
            self.result["diff"] = make_diff(before, after, header)


def run(
    params: Dict[str, Any],
    check_mode: bool = False,
    diff_mode: bool = False,
    client: Optional[GrafanaClient] = None,
) -> Dict[str, Any]:
    """Apply the module's parameters and return its result."""
    work = DatasourceRun(client or GrafanaClient(params), params, check_mode, diff_mode)
    if params["state"] == "absent":
        return work.absent()
    return work.present()


def main() -> None:
    kwargs = grafana_module_kwargs(**MODULE_OPTIONS)
    kwargs["required_together"] += REQUIRED_TOGETHER
    module = AnsibleModule(**kwargs)
    try:
        result = run(module.params, module.check_mode, module._diff)
    except GrafanaAPIError as error:
        module.fail_json(msg=str(error), status=error.status)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
