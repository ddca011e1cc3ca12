"""Recording of every request and response the double serves.

Records go to an in-memory list and, when a path is given (for example by
the ``GRAFANA_DOUBLE_RECORD`` environment variable), to a JSON-lines file.
``contract.check_exchanges`` reads either form. Request bodies are stored
as sent, so a record file may contain passwords and must stay a test
artifact. Authorization headers are reduced to their scheme.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

RECORD_ENV = "GRAFANA_DOUBLE_RECORD"
_RECORDED_REQUEST_HEADERS = ("content-type", "x-disable-provenance", "x-grafana-org-id")


def _request_headers(headers: dict[str, str]) -> dict[str, str]:
    recorded = {
        name: headers[name] for name in _RECORDED_REQUEST_HEADERS if name in headers
    }
    authorization = headers.get("authorization", "")
    if authorization:
        scheme = authorization.split(" ", 1)[0]
        recorded["authorization"] = f"{scheme} <redacted>"
    return recorded


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


class Recorder:
    """Thread-safe sink for exchange records."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.records: list[dict[str, Any]] = []
        self.path = Path(path) if path else None
        self._lock = threading.Lock()

    def record(
        self,
        *,
        method: str,
        target: str,
        request_headers: dict[str, str],
        request_body: bytes,
        status: int,
        response_headers: dict[str, str],
        response_body: bytes,
        route: str | None,
    ) -> None:
        entry = {
            "method": method,
            "target": target,
            "route": route,
            "request_headers": _request_headers(request_headers),
            "request_body": _text(request_body),
            "status": status,
            "response_headers": {
                key.lower(): value for key, value in response_headers.items()
            },
            "response_body": _text(response_body),
        }
        with self._lock:
            self.records.append(entry)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(entry) + "\n")


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON-lines record file written by ``Recorder``."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
