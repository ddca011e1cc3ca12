"""Command line of ``grafana-server``, ``grafana-cli`` and ``-m grafana_double``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from . import accounts
from .config import Settings, load_settings
from .routing import ApiError
from .server import GrafanaDouble
from .store import Store

log = logging.getLogger("grafana_double")
ADMIN_USER_ID = 1
"""``grafana cli admin reset-admin-password`` changes the user with id 1."""


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="path to grafana.ini")
    parser.add_argument("--homepath", help="base for relative [paths] (default: cwd)")


def _server_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grafana-server", description="Run the Grafana HTTP API test double."
    )
    _common_options(parser)
    parser.add_argument("--pidfile", help="write the process id to this file")
    parser.add_argument(
        "--packaging", help="accepted for Grafana compatibility; ignored"
    )
    parser.add_argument("cfg", nargs="*", help="cfg:section.key=value settings")
    return parser


def _configure_logging(settings: Settings) -> None:
    settings.logs_path.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter(
        "t=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"
    )
    handlers: list[logging.Handler] = [
        logging.StreamHandler(sys.stderr),
        logging.FileHandler(settings.logs_path / "grafana.log", encoding="utf-8"),
    ]
    root = logging.getLogger("grafana_double")
    root.setLevel(logging.INFO)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)


def run_server(argv: list[str]) -> int:
    options = _server_parser().parse_args(argv)
    settings = load_settings(options.config, options.homepath, options.cfg)
    _configure_logging(settings)
    double = GrafanaDouble(settings)
    if options.pidfile:
        Path(options.pidfile).write_text(f"{os.getpid()}\n", encoding="utf-8")
    try:
        double.prepare()
        double.bind()
    except (OSError, ValueError) as error:
        log.error("server failed to start: %s", error)
        return 1
    _stop_on_signals(double)
    log.info(
        "server started, version %s, data in %s", "grafana-double", settings.data_path
    )
    assert double.httpd is not None
    double.httpd.serve_forever()
    double.httpd.server_close()
    log.info("server stopped")
    return 0


def _stop_on_signals(double: GrafanaDouble) -> None:
    def stop(signum: int, _frame: Any) -> None:
        log.info("received signal %d, shutting down", signum)
        assert double.httpd is not None
        threading.Thread(target=double.httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _open_store(config: str, homepath: str | None) -> Store:
    settings = load_settings(config, homepath)
    if not settings.state_file.is_file():
        raise FileNotFoundError(
            f"no database at {settings.state_file}: start the server once to create it"
        )
    store = Store(settings.state_file)
    store.load()
    return store


def reset_admin_password(config: str, homepath: str | None, password: str) -> None:
    """Set the password of user 1 in the stored state, as Grafana's CLI does."""
    if len(password) < accounts.MIN_PASSWORD_LENGTH:
        raise ValueError("New password is too short")
    store = _open_store(config, homepath)
    user = store.find("users", id=ADMIN_USER_ID)
    if user is None:
        raise LookupError("could not read user from database: user with id 1 not found")
    accounts.set_password(user, password)
    store.save()


def create_org(config: str, homepath: str | None, name: str) -> int:
    """Create an org in the stored state and return its id."""
    store = _open_store(config, homepath)
    org = accounts.create_org(store, name)
    store.save()
    return int(org["id"])


def run_tool(argv: list[str]) -> int:
    """Run ``reset-admin-password`` or ``create-org`` (``python -m grafana_double``)."""
    parser = argparse.ArgumentParser(prog="grafana_double")
    commands = parser.add_subparsers(dest="command", required=True)
    reset = commands.add_parser(
        "reset-admin-password", help="set the admin (user 1) password"
    )
    _common_options(reset)
    reset.add_argument("password")
    org = commands.add_parser("create-org", help="create an organization, print its id")
    _common_options(org)
    org.add_argument("name")
    options = parser.parse_args(argv)
    try:
        if options.command == "reset-admin-password":
            reset_admin_password(options.config, options.homepath, options.password)
            print("Admin password changed successfully ✔")
        else:
            print(create_org(options.config, options.homepath, options.name))
    except (OSError, ValueError, LookupError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except ApiError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    return 0


def run_grafana_cli(argv: list[str]) -> int:
    """Run ``grafana-cli [--homepath D] --config F admin reset-admin-password P``."""
    parser = argparse.ArgumentParser(prog="grafana-cli")
    parser.add_argument("--config", required=True, help="path to grafana.ini")
    parser.add_argument("--homepath")
    parser.add_argument("--password-from-stdin", action="store_true")
    parser.add_argument("group", choices=["admin"])
    parser.add_argument("command", choices=["reset-admin-password"])
    parser.add_argument("password", nargs="?")
    options = parser.parse_args(argv)
    password = options.password
    if options.password_from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        print("Error: missing new password", file=sys.stderr)
        return 1
    return run_tool(
        ["reset-admin-password", "--config", options.config]
        + (["--homepath", options.homepath] if options.homepath else [])
        + [password]
    )


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``python -m grafana_double``: tool commands, else the server."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("reset-admin-password", "create-org"):
        return run_tool(argv)
    if argv and argv[0] == "server":
        argv = argv[1:]
    return run_server(argv)
