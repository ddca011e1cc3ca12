"""The AWX objects as code and the execution environment.

No AWX controller runs here, so these tests check what can be checked
without one. They check the playbook's syntax, that every playbook has a job
template, that nothing prompts, the surveys' structure, and the build
context that ansible-builder makes from execution-environment.yml. The lint
phase adds ansible-lint's check of the awx.awx module arguments against
each module's argument spec.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
CONTROLLER_PLAYBOOK = REPO / "awx" / "configure_controller.yml"
SURVEY_TYPES = {
    "text",
    "textarea",
    "password",
    "integer",
    "float",
    "multiplechoice",
    "multiselect",
}


class _Loader(yaml.SafeLoader):
    """YAML loader that reads Ansible's !unsafe tag as a plain string."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def load(path: Path):
    return yaml.load(path.read_text(), Loader=_Loader)


@pytest.fixture(scope="module")
def play() -> dict:
    plays = load(CONTROLLER_PLAYBOOK)
    assert len(plays) == 1
    return plays[0]


def tasks_of(play: dict, module: str) -> list[dict]:
    return [task[module] for task in play["tasks"] if module in task]


def documented_variables() -> set[str]:
    names = set()
    for spec_file in REPO.glob("roles/*/meta/argument_specs.yml"):
        for entry in load(spec_file)["argument_specs"].values():
            names.update(entry.get("options", {}))
    return names


def test_controller_playbook_syntax():
    done = subprocess.run(
        ["ansible-playbook", "--syntax-check", str(CONTROLLER_PLAYBOOK)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_every_playbook_has_job_template(play):
    templated = {item["playbook"] for item in play["vars"]["awx_job_templates"]}
    # playbooks/site.yml is what site.yml imports; its template runs site.yml.
    playbooks = {
        str(path.relative_to(REPO))
        for path in REPO.glob("playbooks/*.yml")
        if path.name != "site.yml"
    }
    playbooks.add("site.yml")
    assert playbooks - templated == set()
    assert all((REPO / name).is_file() for name in templated)


def test_production_changes_only_through_gate(play):
    production = {
        item["playbook"]
        for item in play["vars"]["awx_job_templates"]
        if item["environment"] == "production"
    }
    changing = {
        "site.yml",
        "playbooks/01_deploy_prometheus.yml",
        "playbooks/02_deploy_grafana.yml",
        "playbooks/02_grafana_teams.yml",
        "playbooks/03_deploy_node_exporter.yml",
    }
    assert "playbooks/10_deploy_production.yml" in production
    assert production & changing == set()


def test_job_templates_ask_nothing_at_launch(play):
    (template,) = tasks_of(play, "awx.awx.job_template")
    asks = {key: value for key, value in template.items() if key.startswith("ask_")}
    assert asks
    assert all(value is False for value in asks.values())


def test_inventory_sources_read_project_inventories(play):
    (source,) = tasks_of(play, "awx.awx.inventory_source")
    for environment in play["vars"]["awx_environments"]:
        path = source["source_path"].replace("{{ item }}", environment)
        assert (REPO / path).is_file(), path


def test_credential_type_injects_every_vault_variable(play):
    (credential_type,) = tasks_of(play, "awx.awx.credential_type")
    injected = set(credential_type["injectors"]["extra_vars"])
    for environment in ("staging", "production"):
        example = load(
            REPO / f"inventories/{environment}/group_vars/all/vault.yml.example"
        )
        assert set(example) == injected


def test_workflow_runs_production_after_staging(play):
    (workflow,) = tasks_of(play, "awx.awx.workflow_job_template")
    nodes = {node["identifier"]: node for node in workflow["workflow_nodes"]}
    staging = nodes["staging-site"]
    assert staging["related"]["success_nodes"] == [{"identifier": "production-deploy"}]
    deploy = nodes["production-deploy"]["unified_job_template"]["name"]
    assert deploy == "vigil.monitoring production: deploy"


@pytest.mark.parametrize(
    "survey_file", sorted(p.name for p in (REPO / "awx" / "surveys").glob("*.json"))
)
def test_survey_spec_valid(survey_file):
    survey = json.loads((REPO / "awx" / "surveys" / survey_file).read_text())
    assert set(survey) == {"name", "description", "spec"}
    known = documented_variables()
    for question in survey["spec"]:
        assert {"question_name", "variable", "type", "required"} <= set(question)
        assert question["type"] in SURVEY_TYPES
        assert question["variable"] in known, question["variable"]
        assert isinstance(question["required"], bool)
        if question["type"] == "multiplechoice":
            assert question["default"] in question["choices"]


def test_no_playbook_prompts():
    files = [REPO / "site.yml", CONTROLLER_PLAYBOOK]
    files += sorted(REPO.glob("playbooks/*.yml"))
    files += sorted(REPO.glob("roles/*/tasks/*.yml"))
    files += sorted(REPO.glob("roles/*/handlers/*.yml"))
    prompting = []
    for path in files:
        text = path.read_text()
        if re.search(r"^\s*vars_prompt:", text, re.MULTILINE):
            prompting.append(f"{path}: vars_prompt")
        # pause without seconds or minutes waits for a key press.
        for task in re.split(r"\n\s*- name:", text):
            if re.search(r"(ansible\.builtin\.)?pause:", task) and not re.search(
                r"\b(seconds|minutes):", task
            ):
                prompting.append(f"{path}: pause without a timeout")
    assert prompting == []


def test_execution_environment_build_context(tmp_path):
    done = subprocess.run(
        [
            "ansible-builder",
            "create",
            "--file",
            str(REPO / "execution-environment.yml"),
            "--context",
            str(tmp_path),
            "--output-filename",
            "Containerfile",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    containerfile = (tmp_path / "Containerfile").read_text()
    assert "ansible-core==" in containerfile

    galaxy = load(REPO / "galaxy.yml")
    collections = load(tmp_path / "_build" / "requirements.yml")["collections"]
    assert {c["name"]: c["version"] for c in collections} == galaxy["dependencies"]

    pins = {
        line.split("==")[0].lower(): line.strip()
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if "==" in line
    }
    for line in (tmp_path / "_build" / "requirements.txt").read_text().splitlines():
        name = line.split("==")[0].lower()
        assert pins.get(name) == line.strip(), f"{line} differs from requirements.txt"
