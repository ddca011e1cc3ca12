"""JSON state in ``[paths] data``, the double's stand-in for grafana.db."""

from __future__ import annotations

import json
import os
import re
import secrets
import string
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

STATE_FORMAT = 1
_UID_ALPHABET = string.ascii_lowercase + string.digits
_COLLECTIONS = (
    "orgs",
    "users",
    "teams",
    "folders",
    "dashboards",
    "datasources",
    "tokens",
    "alert_rules",
)


def now_iso() -> str:
    """Return the current UTC time in the RFC 3339 form Grafana returns."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_uid() -> str:
    """Return a 14-character uid starting with a letter, like Grafana's."""
    first = secrets.choice(string.ascii_lowercase)
    return first + "".join(secrets.choice(_UID_ALPHABET) for _ in range(13))


def slugify(title: str) -> str:
    """Return the URL slug Grafana derives from a title."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug


class Store:
    """In-memory state, saved to a JSON file after every change.

    Handlers hold ``lock`` for a whole request, so each request reads and
    leaves a consistent state. The file is replaced atomically.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.created = False
        self.data: dict[str, Any] = {}
        self._file_stamp: tuple[int, int] | None = None

    def load(self) -> None:
        """Load the state file, or start an empty state and mark it created."""
        if self.path.is_file():
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
            self.created = False
            self._file_stamp = self._stamp()
        else:
            self.data = {"format": STATE_FORMAT, "counters": {}, "alerting": {}}
            self.created = True
        for name in _COLLECTIONS:
            self.data.setdefault(name, [])

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.data, handle, indent=1, sort_keys=True)
        os.replace(temporary, self.path)
        self._file_stamp = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        return info.st_mtime_ns, info.st_size

    def reload_if_changed(self) -> bool:
        """Reload when another process, such as the CLI, rewrote the file."""
        stamp = self._stamp()
        if stamp is None or stamp == self._file_stamp:
            return False
        self.load()
        return True

    def next_id(self, kind: str) -> int:
        counters = self.data["counters"]
        counters[kind] = counters.get(kind, 0) + 1
        return int(counters[kind])

    def items(self, kind: str) -> list[dict[str, Any]]:
        return self.data[kind]

    def find(self, kind: str, **match: Any) -> dict[str, Any] | None:
        """Return the first record of ``kind`` whose fields equal ``match``."""
        for item in self.data[kind]:
            if all(item.get(key) == value for key, value in match.items()):
                return item
        return None

    def filter(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [
            item
            for item in self.data[kind]
            if all(item.get(key) == value for key, value in match.items())
        ]

    def remove(self, kind: str, item: dict[str, Any]) -> None:
        self.data[kind] = [other for other in self.data[kind] if other is not item]

    def alerting(self, org_id: int) -> dict[str, Any]:
        """Return the alerting configuration of an org, keyed by org id."""
        return self.data["alerting"].setdefault(str(org_id), {})
