# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HTTP client for Grafana's API, shared by every Grafana module of the collection.

The client sends JSON requests with basic auth or a service account token,
selects the organization per request with the ``X-Grafana-Org-Id`` header,
retries transient failures with exponential backoff, and raises
``GrafanaAPIError`` for every failure. It uses ``ansible.module_utils.urls``
only, so modules need nothing beyond the Python standard library on targets.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import time
import urllib.error
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple
from urllib.parse import quote, urlencode

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import Request

RETRY_STATUSES = frozenset((429, 502, 503, 504))
DEFAULT_RETRIES = 3
RETRY_BASE_DELAY = 0.5
"""Seconds before the first retry; each further retry waits twice as long."""
RETRY_MAX_DELAY = 8.0
"""Upper bound in seconds for one backoff wait, also for ``Retry-After``."""
SEARCH_PAGE_SIZE = 1000
"""Page size of ``/api/search``; Grafana's default limit is 1000, its maximum 5000."""

STATUS_HINTS = {
    401: "Check url_username and url_password, or token.",
    403: "The user or service account lacks the permission for this request.",
    404: "The object or route does not exist in this organization.",
    409: "Another object conflicts with this one, or it changed during the run.",
    412: "Grafana rejected the save because of a version or name conflict.",
}

CONNECTION_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    "url": {"type": "str", "required": True, "aliases": ["grafana_url"]},
    "url_username": {"type": "str", "aliases": ["grafana_user"]},
    "url_password": {
        "type": "str",
        "no_log": True,
        "aliases": ["grafana_password"],
    },
    "token": {"type": "str", "no_log": True, "aliases": ["grafana_api_key"]},
    "org_id": {"type": "int"},
    "ca_path": {"type": "path"},
    "client_cert": {"type": "path"},
    "client_key": {"type": "path"},
    "validate_certs": {"type": "bool", "default": True},
    "timeout": {"type": "int", "default": 30},
    "retries": {"type": "int", "default": DEFAULT_RETRIES},
}
CONNECTION_MUTUALLY_EXCLUSIVE = [["token", "url_username"], ["token", "url_password"]]
CONNECTION_REQUIRED_TOGETHER = [["url_username", "url_password"]]
CONNECTION_REQUIRED_ONE_OF = [["token", "url_username"]]


def grafana_argument_spec(**module_options: Dict[str, Any]) -> Dict[str, Any]:
    """Return the connection options merged with a module's own options."""
    spec = {name: dict(option) for name, option in CONNECTION_ARGUMENT_SPEC.items()}
    spec.update(module_options)
    return spec


def grafana_module_kwargs(**module_options: Dict[str, Any]) -> Dict[str, Any]:
    """Return AnsibleModule keyword arguments with the connection constraints."""
    return {
        "argument_spec": grafana_argument_spec(**module_options),
        "mutually_exclusive": list(CONNECTION_MUTUALLY_EXCLUSIVE),
        "required_together": list(CONNECTION_REQUIRED_TOGETHER),
        "required_one_of": list(CONNECTION_REQUIRED_ONE_OF),
        "supports_check_mode": True,
    }


class GrafanaAPIError(Exception):
    """A failed Grafana API request, or a module-level error about Grafana objects.

    ``status`` is the HTTP status, or ``None`` when no response arrived or the
    error comes from the module's own checks. The message never contains the
    Authorization header, the password or the token.
    """

    def __init__(
        self,
        message: str,
        method: str = "",
        path: str = "",
        status: Optional[int] = None,
        grafana_message: str = "",
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status
        self.grafana_message = grafana_message


def parse_version(text: str) -> Tuple[int, ...]:
    """Return the numeric part of a Grafana version such as ``11.1.0-pre``."""
    match = re.match(r"v?(\d+(?:\.\d+)*)", text or "")
    if match is None:
        return ()
    return tuple(int(part) for part in match.group(1).split("."))


def _grafana_message(body: bytes) -> str:
    """Return the ``message`` of an error body, or its text when it is not JSON."""
    text = to_text(body, errors="surrogate_or_replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error") or text[:300])
    return text[:300]


class GrafanaClient:
    """Grafana HTTP API client configured from the connection options."""

    def __init__(
        self,
        params: Dict[str, Any],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = str(params["url"]).rstrip("/")
        self.org_id: Optional[int] = params.get("org_id")
        retries = params.get("retries")
        self.retries = DEFAULT_RETRIES if retries is None else max(int(retries), 0)
        self.request_count = 0
        self._sleep = sleep
        self._secrets = [
            value
            for value in (params.get("url_password"), params.get("token"))
            if value
        ]
        self._version: Optional[Tuple[int, ...]] = None
        self._request = self._build_request(params)

    @staticmethod
    def _build_request(params: Dict[str, Any]) -> Request:
        headers = {"Accept": "application/json"}
        token = params.get("token")
        if token:
            headers["Authorization"] = "Bearer " + token
        return Request(
            headers=headers,
            timeout=params.get("timeout") or 30,
            validate_certs=params.get("validate_certs", True),
            url_username=None if token else params.get("url_username"),
            url_password=None if token else params.get("url_password"),
            force_basic_auth=not token,
            client_cert=params.get("client_cert"),
            client_key=params.get("client_key"),
            ca_path=params.get("ca_path"),
            follow_redirects="none",
            use_netrc=False,
            http_agent="vigil.monitoring-grafana",
        )

    # Requests

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Optional[Dict[str, Any]] = None,
        missing_ok: bool = False,
        *,
        headers: Optional[Dict[str, str]] = None,
    ) -> Any:
        """Send one request and return its decoded JSON body.

        Retries HTTP 429, 502, 503, 504 and connection failures up to
        ``retries`` times. With ``missing_ok``, a 404 returns ``None``.
        ``headers`` are added to this request only, for example
        ``X-Disable-Provenance`` on alerting writes.
        """
        target = path
        if query:
            target += "?" + urlencode(query, doseq=True)
        headers = dict(headers or {})
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode("utf-8")
        if self.org_id is not None:
            headers["X-Grafana-Org-Id"] = str(self.org_id)
        attempt = 0
        while True:
            try:
                return self._send_once(method, target, data, headers)
            except GrafanaAPIError as error:
                if missing_ok and error.status == 404:
                    return None
                retry_after = getattr(error, "retry_after", None)
                if not self._should_retry(error, attempt):
                    raise
                self._sleep(self._backoff(attempt, retry_after))
                attempt += 1

    def _should_retry(self, error: GrafanaAPIError, attempt: int) -> bool:
        if attempt >= self.retries:
            return False
        transient = error.status in RETRY_STATUSES
        return transient or bool(getattr(error, "connection_failure", False))

    @staticmethod
    def _backoff(attempt: int, retry_after: Optional[float]) -> float:
        delay = RETRY_BASE_DELAY * (2**attempt)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, RETRY_MAX_DELAY)

    def _send_once(
        self, method: str, target: str, data: Optional[bytes], headers: Dict[str, str]
    ) -> Any:
        self.request_count += 1
        url = self.base_url + target
        try:
            response = self._request.open(method, url, data=data, headers=headers)
            payload = response.read()
        except urllib.error.HTTPError as error:
            raise self._http_error(method, target, error) from None
        except (
            urllib.error.URLError,
            UrlConnectionError,
            socket.timeout,
            ConnectionError,
            ssl.SSLError,
        ) as error:
            raise self._connection_error(method, target, error) from None
        if not payload.strip():
            return None
        try:
            return json.loads(to_text(payload, errors="surrogate_or_strict"))
        except ValueError:
            raise self._error(
                method, target, None, "the response is not JSON", ""
            ) from None

    def _http_error(
        self, method: str, target: str, error: urllib.error.HTTPError
    ) -> GrafanaAPIError:
        try:
            body = error.read()
        except (OSError, AttributeError):
            body = b""
        grafana_message = _grafana_message(body) or str(error.reason)
        failure = self._error(method, target, error.code, grafana_message, "")
        retry_after = (error.headers or {}).get("Retry-After")
        if retry_after and retry_after.strip().isdigit():
            failure.retry_after = float(retry_after)  # type: ignore[attr-defined]
        return failure

    def _connection_error(
        self, method: str, target: str, error: BaseException
    ) -> GrafanaAPIError:
        reason = getattr(error, "reason", error)
        failure = self._error(
            method,
            target,
            None,
            f"connection failed: {reason}",
            "Check url, that Grafana runs, and the TLS options.",
        )
        # A certificate that fails verification stays wrong on every attempt.
        certificate_error = isinstance(reason, ssl.SSLCertVerificationError) or (
            "CERTIFICATE_VERIFY_FAILED" in str(reason)
        )
        failure.connection_failure = not certificate_error  # type: ignore[attr-defined]
        return failure

    def _error(
        self,
        method: str,
        target: str,
        status: Optional[int],
        grafana_message: str,
        hint: str,
    ) -> GrafanaAPIError:
        """Build a ``GrafanaAPIError`` whose text contains no secret."""
        path = target.split("?", 1)[0]
        if status is None:
            text = f"{method} {path} failed: {grafana_message}"
        else:
            text = f"{method} {path} failed with HTTP {status}: {grafana_message}"
        hint = hint or STATUS_HINTS.get(status or 0, "")
        if hint:
            text += f". {hint}"
        text = self.redact(text)
        return GrafanaAPIError(text, method, path, status, self.redact(grafana_message))

    def redact(self, text: str) -> str:
        """Replace the password and the token in ``text`` with ``********``."""
        for secret in self._secrets:
            text = text.replace(secret, "********")
        return text

    # Shortcuts

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, body=body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, body=body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("PATCH", path, body=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    # Paging and version

    def search(self, **query: Any) -> Iterator[Dict[str, Any]]:
        """Yield every hit of ``/api/search``, one page of 1000 hits at a time."""
        page = 1
        while True:
            params = dict(query, limit=SEARCH_PAGE_SIZE, page=page)
            hits = self.get("/api/search", query=params) or []
            yield from hits
            if len(hits) < SEARCH_PAGE_SIZE:
                return
            page += 1

    def paged(
        self, path: str, key: str, per_page: int = 1000, **query: Any
    ) -> Iterator[Dict[str, Any]]:
        """Yield the items under ``key`` of a route paged by ``page``/``perpage``."""
        page = 1
        while True:
            params = dict(query, perpage=per_page, page=page)
            reply = self.get(path, query=params) or {}
            items = reply.get(key) or []
            yield from items
            total = int(reply.get("totalCount") or 0)
            if len(items) < per_page or page * per_page >= total:
                return
            page += 1

    def version(self) -> Tuple[int, ...]:
        """Return Grafana's version from ``/api/health``, fetched once per client."""
        if self._version is None:
            health = self.get("/api/health") or {}
            self._version = parse_version(str(health.get("version") or ""))
        return self._version

    def version_at_least(self, *minimum: int) -> bool:
        return self.version() >= tuple(minimum)


def path_segment(value: Any) -> str:
    """Quote one value for use inside a URL path, slashes included."""
    return quote(str(value), safe="")


def describe(values: List[str]) -> str:
    """Return values as a comma-separated list of quoted names for messages."""
    return ", ".join(repr(value) for value in values)
