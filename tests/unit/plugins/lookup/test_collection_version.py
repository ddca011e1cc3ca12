"""The collection_version lookup: installed collection, clone, and neither."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleLookupError

REPO = Path(__file__).resolve().parents[4]
_spec = importlib.util.spec_from_file_location(
    "collection_version", REPO / "plugins/lookup/collection_version.py"
)
lookup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lookup)


def test_version_from_manifest(tmp_path):
    (tmp_path / "MANIFEST.json").write_text(
        json.dumps({"collection_info": {"version": "2.3.4"}})
    )
    # MANIFEST.json comes first, also when a galaxy.yml is present.
    (tmp_path / "galaxy.yml").write_text("version: 9.9.9\n")
    assert lookup.read_collection_version(tmp_path) == "2.3.4"


def test_version_from_galaxy_yml(tmp_path):
    (tmp_path / "galaxy.yml").write_text("namespace: vigil\nversion: 1.0.0\n")
    assert lookup.read_collection_version(tmp_path) == "1.0.0"


def test_version_of_this_clone():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert lookup.read_collection_version(REPO) == galaxy["version"]


def test_no_metadata_raises(tmp_path):
    with pytest.raises(AnsibleLookupError, match=r"Neither MANIFEST\.json nor galaxy"):
        lookup.read_collection_version(tmp_path)


def test_manifest_without_version_raises(tmp_path):
    (tmp_path / "MANIFEST.json").write_text(json.dumps({"collection_info": {}}))
    with pytest.raises(AnsibleLookupError, match="has no version string"):
        lookup.read_collection_version(tmp_path)


def test_terms_rejected():
    with pytest.raises(AnsibleLookupError, match="takes no terms"):
        lookup.LookupModule().run(["unexpected"])
