# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Normalisation, hashing and diff output for objects stored in Grafana.

Every Grafana module compares the object it would send with the object that
Grafana returns through these helpers, so that fields Grafana adds or
renumbers never make a rerun report a change.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any, Dict, List, Optional

DASHBOARD_EXPORT_FIELDS = ("__inputs", "__requires", "__elements")
"""Top-level fields of UI and grafana.com exports that Grafana does not store."""
DASHBOARD_SERVER_FIELDS = ("id", "version", "iteration")
"""Top-level fields that Grafana assigns or that only old exports contain."""


def canonical_json(value: Any) -> str:
    """Serialise ``value`` with sorted keys and two-space indentation."""
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)


def content_hash(value: Any) -> str:
    """Return the SHA-256 hex digest of the canonical JSON of ``value``."""
    compact = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(compact.encode("utf-8")).hexdigest()


def strip_dashboard(model: Dict[str, Any]) -> Dict[str, Any]:
    """Return a copy of a dashboard without export and server-assigned fields."""
    cleaned = copy.deepcopy(model)
    for key in DASHBOARD_EXPORT_FIELDS + DASHBOARD_SERVER_FIELDS:
        cleaned.pop(key, None)
    return cleaned


def _panel_lists(model: Dict[str, Any]) -> List[List[Any]]:
    """Return the panel list of a dashboard and the nested lists of its rows."""
    lists = []
    panels = model.get("panels")
    if isinstance(panels, list):
        lists.append(panels)
        for panel in panels:
            if isinstance(panel, dict) and isinstance(panel.get("panels"), list):
                lists.append(panel["panels"])
    return lists


def align_panel_ids(desired: Dict[str, Any], current: Dict[str, Any]) -> None:
    """Drop panel ``id`` values from ``current`` where ``desired`` has none.

    Grafana's UI numbers panels that arrive without an ``id`` the first time
    someone saves the dashboard there. Panels are paired by position, so a
    reordered dashboard still shows up as changed.
    """
    for expected, stored in zip(_panel_lists(desired), _panel_lists(current)):
        for expected_panel, stored_panel in zip(expected, stored):
            both_dicts = isinstance(expected_panel, dict) and isinstance(
                stored_panel, dict
            )
            if both_dicts and "id" not in expected_panel:
                stored_panel.pop("id", None)


def comparable_dashboard(
    desired: Dict[str, Any], current: Optional[Dict[str, Any]]
) -> Optional[Dict[str, Any]]:
    """Return ``current`` reduced to the fields that ``desired`` controls."""
    if current is None:
        return None
    reduced = strip_dashboard(current)
    align_panel_ids(desired, reduced)
    return reduced


def subset_view(desired: Any, current: Any) -> Any:
    """Return the part of ``current`` that has the keys of ``desired``.

    Used where Grafana returns more fields than a module sets (data sources,
    teams), so that only the managed fields take part in the comparison.
    Lists are compared whole.
    """
    if isinstance(desired, dict) and isinstance(current, dict):
        return {
            key: subset_view(value, current[key])
            for key, value in desired.items()
            if key in current
        }
    return current


def make_diff(before: Any, after: Any, header: str) -> Dict[str, str]:
    """Return an Ansible diff entry with canonical JSON on both sides.

    ``None`` on a side is shown as an empty text, which is how Ansible shows
    an object that does not exist.
    """
    return {
        "before": "" if before is None else canonical_json(before) + "\n",
        "after": "" if after is None else canonical_json(after) + "\n",
        "before_header": header,
        "after_header": header,
    }
