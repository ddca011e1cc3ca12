"""Fixtures: a double on loopback per test, with a contract check of its traffic."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# double_support puts tests/ on sys.path, so it comes before grafana_double.
from double_support import (  # isort: skip
    ADMIN_PASSWORD,
    Api,
    DoubleFactory,
    TlsFiles,
    generate_tls,
)
from grafana_double import GrafanaDouble
from grafana_double.contract import SpecNotFoundError, check_exchanges, load_openapi


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "no_contract_check: skip the contract check of the test's traffic"
    )


@pytest.fixture(scope="session", autouse=True)
def openapi_description() -> None:
    """Fail the session early with the loader's message when the spec is missing."""
    try:
        load_openapi()
    except SpecNotFoundError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return generate_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def doubles(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[DoubleFactory]:
    factory = DoubleFactory(tmp_path)
    yield factory
    factory.stop_all()
    if request.node.get_closest_marker("no_contract_check"):
        return
    problems = check_exchanges(factory.records)
    assert not problems, "contract problems:\n" + "\n".join(problems)


@pytest.fixture
def double(doubles: DoubleFactory) -> GrafanaDouble:
    return doubles.start()


@pytest.fixture
def admin(double: GrafanaDouble) -> Api:
    return Api(double.url, auth=("admin", ADMIN_PASSWORD))


@pytest.fixture
def make_user(admin: Api) -> Callable[..., int]:
    """Create a user in org 1 with a role and return its id.

    The password is the login written twice, for example ``viewerviewer``.
    """

    def create(login: str, role: str = "Viewer") -> int:
        body = {"login": login, "email": f"{login}@example.test", "password": login * 2}
        reply = admin.post("/api/admin/users", body)
        assert reply.status_code == 200, reply.text
        user_id = int(reply.json()["id"])
        if role != "Viewer":
            reply = admin.patch(f"/api/org/users/{user_id}", {"role": role})
            assert reply.status_code == 200, reply.text
        return user_id

    return create
