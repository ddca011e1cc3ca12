# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Documentation of the connection options that every Grafana module shares."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of Grafana, such as V(https://grafana.example.org:3000). Include
        the sub-path when Grafana serves from one, as set by C(root_url) with
        C(serve_from_sub_path).
    type: str
    required: true
    aliases: [grafana_url]
  url_username:
    description:
      - Login or email of the Grafana user for HTTP basic authentication.
      - Exactly one of O(url_username) and O(token) is required.
    type: str
    aliases: [grafana_user]
  url_password:
    description:
      - Password of O(url_username).
    type: str
    aliases: [grafana_password]
  token:
    description:
      - "Service account token (C(glsa_...)) sent as C(Authorization: Bearer)."
      - A token always acts in the organization of its service account, so
        O(org_id) has no effect with a token.
    type: str
    aliases: [grafana_api_key]
  org_id:
    description:
      - Numeric id of the organization to work in, sent as the
        C(X-Grafana-Org-Id) header with every request. The user's current
        organization is not switched.
      - When unset, Grafana uses the user's current organization.
    type: int
  ca_path:
    description:
      - PEM file with the CA certificates that verify Grafana's TLS
        certificate. The system CA store is used when unset.
    type: path
  client_cert:
    description:
      - PEM file with a client certificate, for a Grafana behind a proxy that
        requires TLS client authentication.
    type: path
  client_key:
    description:
      - PEM file with the private key of O(client_cert), unless O(client_cert)
        contains it.
    type: path
  validate_certs:
    description:
      - Whether to verify Grafana's TLS certificate. Set V(false) only for
        test systems.
    type: bool
    default: true
  timeout:
    description:
      - Timeout of each HTTP request in seconds.
    type: int
    default: 30
  retries:
    description:
      - How many times to repeat a request that failed with HTTP 429, 502,
        503 or 504 or with a connection error, other than a failed
        certificate verification.
      - The waits between attempts double from 0.5 seconds up to 8 seconds.
        A C(Retry-After) header in seconds raises the wait, up to 8 seconds.
      - V(0) disables retries.
    type: int
    default: 3
notes:
  - "All requests go to Grafana's HTTP API from the host that runs the module,
    usually with C(delegate_to: localhost) or a play on C(localhost)."
  - A retried POST whose first attempt reached Grafana, for example behind a
    proxy that timed out with HTTP 504, can fail with HTTP 409 because the
    object now exists. Running the task again converges.
"""
