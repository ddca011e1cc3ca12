# Copyright: vigil.monitoring contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lookup that returns the version of the vigil.monitoring collection."""

from __future__ import annotations

DOCUMENTATION = r"""
name: collection_version
author:
  - vigil.monitoring maintainers (!UNKNOWN)
short_description: Version of the vigil.monitoring collection that runs
description:
  - Returns the version of the copy of vigil.monitoring that this lookup is
    part of, as a one-element list.
  - An installed collection takes the version from its C(MANIFEST.json); a
    clone of the repository takes it from C(galaxy.yml).
  - The verification playbook records this version, and the production
    deployment compares the recorded version with it.
options: {}
notes:
  - Takes no terms.
"""

EXAMPLES = r"""
- name: Show the collection version
  ansible.builtin.debug:
    msg: "{{ lookup('vigil.monitoring.collection_version') }}"
"""

RETURN = r"""
_raw:
  description: The collection version, such as C(0.1.0).
  type: list
  elements: str
"""

import json
from pathlib import Path

import yaml
from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

# plugins/lookup/collection_version.py sits two folders below the root.
_ROOT = Path(__file__).resolve().parents[2]


def read_collection_version(root: Path) -> str:
    """Read the version from MANIFEST.json, or from galaxy.yml in a clone."""
    manifest = root / "MANIFEST.json"
    if manifest.is_file():
        info = json.loads(manifest.read_text(encoding="utf-8"))
        version = info.get("collection_info", {}).get("version")
        source = manifest
    else:
        galaxy = root / "galaxy.yml"
        if not galaxy.is_file():
            raise AnsibleLookupError(
                f"Neither MANIFEST.json nor galaxy.yml found in {root}: "
                "install the collection with ansible-galaxy or run it from a clone"
            )
        version = (yaml.safe_load(galaxy.read_text(encoding="utf-8")) or {}).get(
            "version"
        )
        source = galaxy
    if not isinstance(version, str) or not version:
        raise AnsibleLookupError(f"{source} has no version string")
    return version


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError(
                f"collection_version takes no terms, got {len(terms)}"
            )
        return [read_collection_version(_ROOT)]
