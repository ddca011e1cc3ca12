"""Health checks, queries and the proxy for Prometheus data sources.

The double sends requests only to the data source's own ``url``: it builds
every request URL from it, follows no redirects and ignores proxy settings
from the environment.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from .auth import require_role
from .routing import ApiError, Context, Response

log = logging.getLogger("grafana_double.prometheus")

HEALTH_OK = "Successfully queried the Prometheus API."
HEALTH_ERROR = "There was an error returned querying the Prometheus API."
DEFAULT_TIMEOUT_SECONDS = 30.0
"""Grafana's default ``[dataproxy] timeout``."""
MAX_POINTS = 11000
"""Prometheus rejects range queries of more than 11000 points per series."""
_RELATIVE = re.compile(r"^now(?:-(\d+)([smhdwy]))?$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def _find(ctx: Context, uid: str) -> dict[str, Any]:
    source = ctx.store.find("datasources", org_id=ctx.org_id, uid=uid)
    if source is None:
        raise ApiError(404, "Data source not found")
    return source


@contextmanager
def http_session(source: dict[str, Any]) -> Iterator[requests.Session]:
    """Open a session with the data source's auth, CA and client certificate.

    PEM strings from ``secureJsonData`` go to files in a private temporary
    directory, because ``ssl`` loads certificates only from files.
    """
    json_data = source.get("json_data") or {}
    secure = source.get("secure_json_data") or {}
    with tempfile.TemporaryDirectory(prefix="grafana-double-tls-") as directory:
        session = requests.Session()
        session.trust_env = False
        if source.get("basic_auth"):
            session.auth = (
                source.get("basic_auth_user", ""),
                secure.get("basicAuthPassword", ""),
            )
        if json_data.get("tlsSkipVerify"):
            session.verify = False
        elif json_data.get("tlsAuthWithCACert") and secure.get("tlsCACert"):
            session.verify = _write(directory, "ca.pem", secure["tlsCACert"])
        if json_data.get("tlsAuth") and secure.get("tlsClientCert"):
            session.cert = (
                _write(directory, "client.pem", secure["tlsClientCert"]),
                _write(directory, "client-key.pem", secure.get("tlsClientKey", "")),
            )
        for index in range(1, 100):
            name = json_data.get(f"httpHeaderName{index}")
            if not name:
                break
            session.headers[name] = secure.get(f"httpHeaderValue{index}", "")
        try:
            yield session
        finally:
            session.close()


def _write(directory: str, name: str, content: str) -> str:
    path = Path(directory) / name
    path.write_text(content, encoding="utf-8")
    path.chmod(0o600)
    return str(path)


def _timeout(source: dict[str, Any]) -> float:
    value = (source.get("json_data") or {}).get("timeout")
    try:
        return float(value) if value else DEFAULT_TIMEOUT_SECONDS
    except (TypeError, ValueError):
        return DEFAULT_TIMEOUT_SECONDS


def _api_call(source: dict[str, Any], endpoint: str, params: dict[str, str]) -> Any:
    """Call a Prometheus HTTP API endpoint and return its ``data`` member.

    Uses ``jsonData.httpMethod`` (Grafana's default is POST with a form body).
    Raises ``RuntimeError`` with the cause on any failure.
    """
    url = source["url"].rstrip("/") + endpoint
    method = str((source.get("json_data") or {}).get("httpMethod") or "POST").upper()
    with http_session(source) as session:
        try:
            if method == "GET":
                reply = session.get(
                    url, params=params, timeout=_timeout(source), allow_redirects=False
                )
            else:
                reply = session.post(
                    url, data=params, timeout=_timeout(source), allow_redirects=False
                )
        except requests.RequestException as error:
            raise RuntimeError(f"{method} {url}: {error}") from error
    try:
        payload = reply.json()
    except ValueError:
        raise RuntimeError(
            f"{method} {url}: HTTP {reply.status_code}, response is not JSON"
        ) from None
    if reply.status_code != 200 or payload.get("status") != "success":
        detail = payload.get("error") if isinstance(payload, dict) else None
        raise RuntimeError(
            f"{method} {url}: HTTP {reply.status_code}: {detail or reply.text[:200]}"
        )
    return payload.get("data")


def check_health(source: dict[str, Any]) -> tuple[bool, str]:
    """Run Grafana's Prometheus health query, the instant query ``1+1``."""
    if source["type"] != "prometheus":
        return (
            False,
            f"health checks for data source type {source['type']!r} are not modelled",
        )
    try:
        _api_call(source, "/api/v1/query", {"query": "1+1", "time": str(time.time())})
    except RuntimeError as error:
        log.warning("health check of data source %s failed: %s", source["uid"], error)
        return False, f"{HEALTH_ERROR} {error}"
    return True, HEALTH_OK


def health_route(ctx: Context) -> Response:
    require_role(ctx, "Viewer")
    source = _find(ctx, ctx.params["uid"])
    healthy, message = check_health(source)
    status = "OK" if healthy else "ERROR"
    return Response(200 if healthy else 400, {"status": status, "message": message})


def parse_time(value: Any, now: float) -> float:
    """Parse ``now``, ``now-1h``, epoch milliseconds or RFC 3339 into epoch seconds."""
    text = str(value).strip()
    relative = _RELATIVE.match(text)
    if relative:
        if relative.group(1) is None:
            return now
        return now - int(relative.group(1)) * _UNIT_SECONDS[relative.group(2)]
    if re.fullmatch(r"\d+", text):
        return int(text) / 1000
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise ApiError(
            400, f"invalid time {text!r}: use now, now-<n><unit>, epoch ms or RFC 3339"
        ) from None


def _labels_name(labels: dict[str, str]) -> str:
    name = labels.get("__name__", "")
    rest = ", ".join(
        f'{key}="{value}"' for key, value in sorted(labels.items()) if key != "__name__"
    )
    return f"{name}{{{rest}}}" if rest else name


def _frame(
    ref_id: str,
    labels: dict[str, str],
    points: list[list[Any]],
    meta: dict[str, Any],
    interval_ms: float,
) -> dict[str, Any]:
    """Build one data frame in Grafana's JSON wire form (``schema`` + ``data``)."""
    times = [int(float(point[0]) * 1000) for point in points]
    values = [float(point[1]) for point in points]
    value_labels = {key: value for key, value in labels.items() if key != "__name__"}
    value_field: dict[str, Any] = {
        "name": "Value",
        "type": "number",
        "typeInfo": {"frame": "float64"},
        "config": {"displayNameFromDS": _labels_name(labels)} if labels else {},
    }
    if value_labels:
        value_field["labels"] = value_labels
    time_field = {
        "name": "Time",
        "type": "time",
        "typeInfo": {"frame": "time.Time"},
        "config": {"interval": interval_ms},
    }
    return {
        "schema": {
            "refId": ref_id,
            "name": labels.get("__name__", ""),
            "meta": meta,
            "fields": [time_field, value_field],
        },
        "data": {"values": [times, values]},
    }


def frames_from_result(
    ref_id: str, data: dict[str, Any], expression: str, step: float
) -> list[dict[str, Any]]:
    result_type = data.get("resultType")
    result = data.get("result")
    executed = f"Expr: {expression}\nStep: {step:g}s"
    if result_type == "matrix":
        meta = {
            "type": "timeseries-multi",
            "typeVersion": [0, 1],
            "custom": {"resultType": "matrix"},
            "executedQueryString": executed,
        }
        return [
            _frame(
                ref_id,
                series.get("metric", {}),
                series.get("values", []),
                meta,
                step * 1000,
            )
            for series in result
        ]
    meta = {
        "type": "numeric-multi",
        "typeVersion": [0, 1],
        "custom": {"resultType": result_type},
        "executedQueryString": executed,
    }
    if result_type == "vector":
        return [
            _frame(
                ref_id, sample.get("metric", {}), [sample["value"]], meta, step * 1000
            )
            for sample in result
        ]
    if result_type == "scalar":
        return [_frame(ref_id, {}, [result], meta, step * 1000)]
    raise RuntimeError(f"unsupported Prometheus result type {result_type!r}")


def _run_query(
    source: dict[str, Any], query: dict[str, Any], start: float, end: float
) -> list[dict[str, Any]]:
    expression = str(query.get("expr") or "")
    if not expression:
        raise RuntimeError("query expression (expr) is empty")
    step = float(query.get("intervalMs") or 15000) / 1000
    step = max(step, (end - start) / MAX_POINTS, 1.0)
    if query.get("instant") and not query.get("range"):
        data = _api_call(
            source, "/api/v1/query", {"query": expression, "time": f"{end:.3f}"}
        )
    else:
        params = {
            "query": expression,
            "start": f"{start:.3f}",
            "end": f"{end:.3f}",
            "step": f"{step:g}",
        }
        data = _api_call(source, "/api/v1/query_range", params)
    return frames_from_result(str(query.get("refId") or "A"), data, expression, step)


def _query_source(ctx: Context, query: dict[str, Any]) -> dict[str, Any]:
    reference = query.get("datasource")
    uid = reference.get("uid") if isinstance(reference, dict) else None
    if uid:
        return _find(ctx, str(uid))
    source_id = query.get("datasourceId")
    source = ctx.store.find("datasources", org_id=ctx.org_id, id=source_id)
    if source is None:
        raise ApiError(400, "query is missing a data source uid")
    return source


def query_route(ctx: Context) -> Response:
    """Run ``/api/ds/query``; any failed query makes the status 400, as in Grafana."""
    require_role(ctx, "Viewer")
    body = ctx.json_object()
    queries = body.get("queries")
    if not isinstance(queries, list) or not queries:
        raise ApiError(400, "No queries found in the request")

    now = time.time()
    start = parse_time(body.get("from", "now-1h"), now)
    end = parse_time(body.get("to", "now"), now)

    results: dict[str, Any] = {}
    failed = False
    for query in queries:
        ref_id = str(query.get("refId") or "A")
        source = _query_source(ctx, query)
        try:
            if source["type"] != "prometheus":
                raise RuntimeError(
                    f"queries to data source type {source['type']!r} are not modelled"
                )
            results[ref_id] = {
                "status": 200,
                "frames": _run_query(source, query, start, end),
            }
        except RuntimeError as error:
            failed = True
            log.warning(
                "query %s to data source %s failed: %s", ref_id, source["uid"], error
            )
            results[ref_id] = {
                "status": 400,
                "error": str(error),
                "errorSource": "downstream",
                "frames": [],
            }

    return Response(400 if failed else 200, {"results": results})


def proxy_route(ctx: Context) -> Response:
    """Forward a request to ``<data source url>/<route>`` with its credentials."""
    require_role(ctx, "Viewer")
    source = _find(ctx, ctx.params["uid"])
    route = ctx.params["datasource_proxy_route"]
    if ".." in route.split("/"):
        raise ApiError(400, "Invalid proxy route: path must not contain '..'")
    url = source["url"].rstrip("/") + "/" + route.lstrip("/")
    if urlsplit(url).netloc != urlsplit(source["url"]).netloc:
        raise ApiError(400, "Invalid proxy route: it must stay on the data source host")
    if ctx.query_string:
        url += "?" + ctx.query_string
    headers = {}
    if ctx.header("Content-Type"):
        headers["Content-Type"] = ctx.header("Content-Type")
    with http_session(source) as session:
        try:
            reply = session.request(
                ctx.method,
                url,
                data=ctx.raw_body or None,
                headers=headers,
                timeout=_timeout(source),
                allow_redirects=False,
            )
        except requests.RequestException as error:
            log.warning(
                "proxy request to data source %s failed: %s", source["uid"], error
            )
            raise ApiError(502, "Bad Gateway") from None
    content_type = reply.headers.get("Content-Type", "application/octet-stream")
    return Response(reply.status_code, reply.content, {"Content-Type": content_type})
