"""Settings read from grafana.ini, with Grafana's key names and defaults."""

from __future__ import annotations

import configparser
import os
import re
from dataclasses import dataclass
from pathlib import Path

GRAFANA_VERSION = "12.2.0"
"""Version that ``/api/health`` reports; the OpenAPI description is from 12.2."""

_ENV_PATTERN = re.compile(r"\$__env\{([^}]*)\}")
_FILE_PATTERN = re.compile(r"\$__file\{([^}]*)\}")


@dataclass
class Settings:
    """The grafana.ini keys that the double reads."""

    config_path: Path
    homepath: Path
    protocol: str = "http"
    http_addr: str = ""
    http_port: int = 3000
    cert_file: str = ""
    cert_key: str = ""
    domain: str = "localhost"
    root_url: str = ""
    admin_user: str = "admin"
    admin_password: str = "admin"
    secret_key: str = ""
    disable_initial_admin_creation: bool = False
    data_path: Path = Path("data")
    provisioning_path: Path = Path("conf/provisioning")
    logs_path: Path = Path("data/log")
    anonymous_enabled: bool = False
    anonymous_org_name: str = "Main Org."
    anonymous_org_role: str = "Viewer"
    allow_sign_up: bool = False

    @property
    def state_file(self) -> Path:
        return self.data_path / "grafana-double.json"


def expand_value(value: str) -> str:
    """Expand Grafana's ``$__env{NAME}`` and ``$__file{path}`` providers."""
    value = _ENV_PATTERN.sub(lambda m: os.environ.get(m.group(1), ""), value)
    return _FILE_PATTERN.sub(
        lambda m: Path(m.group(1)).read_text(encoding="utf-8").strip(), value
    )


class _IniReader:
    """Read keys with ``GF_<SECTION>_<KEY>`` environment overrides like Grafana."""

    def __init__(
        self,
        parser: configparser.RawConfigParser,
        overrides: dict[str, str],
        defaults: dict[str, str],
    ) -> None:
        self.parser = parser
        self.overrides = overrides
        self.defaults = defaults

    def get(self, section: str, key: str, default: str) -> str:
        name = f"{section}.{key}"
        if name in self.overrides:
            return expand_value(self.overrides[name])
        default = self.defaults.get(name, default)
        env_name = "GF_{}_{}".format(
            section.upper().replace(".", "_").replace("-", "_"), key.upper()
        )
        if env_name in os.environ:
            return os.environ[env_name]
        if self.parser.has_option(section, key):
            return expand_value(self.parser.get(section, key).strip())
        return default

    def get_bool(self, section: str, key: str, default: bool) -> bool:
        value = self.get(section, key, str(default)).strip().lower()
        return value in ("1", "true", "yes", "on")


def _resolve(base: Path, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else base / path


def parse_cfg_arguments(arguments: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Split Grafana's ``cfg:default.section.key=value`` and ``cfg:section.key=value``.

    Returns (overrides, defaults). Grafana's Debian unit passes
    ``cfg:default.paths.logs=...`` this way.
    """
    overrides: dict[str, str] = {}
    defaults: dict[str, str] = {}
    for argument in arguments:
        if not argument.startswith("cfg:") or "=" not in argument:
            raise ValueError(
                f"invalid argument {argument!r}: expected cfg:section.key=value"
            )
        name, value = argument[4:].split("=", 1)
        if name.startswith("default."):
            defaults[name.removeprefix("default.")] = value
        else:
            overrides[name] = value
    return overrides, defaults


def load_settings(
    config_path: str | Path,
    homepath: str | Path | None = None,
    cfg_arguments: list[str] | None = None,
) -> Settings:
    """Read grafana.ini; relative paths are relative to ``homepath`` as in Grafana.

    ``homepath`` defaults to the current directory, which is what Grafana does
    when ``--homepath`` is not given. ``cfg_arguments`` are Grafana's
    ``cfg:`` command-line settings.
    """
    config_path = Path(config_path)
    if not config_path.is_file():
        raise FileNotFoundError(f"grafana.ini not found: {config_path}")
    parser = configparser.RawConfigParser(strict=False)
    parser.read(config_path, encoding="utf-8")
    overrides, defaults = parse_cfg_arguments(cfg_arguments or [])
    ini = _IniReader(parser, overrides, defaults)
    home = Path(homepath) if homepath else Path.cwd()
    settings = Settings(config_path=config_path, homepath=home)
    _read_server(ini, settings)
    _read_security(ini, settings)
    settings.data_path = _resolve(home, ini.get("paths", "data", "data"))
    settings.logs_path = _resolve(
        home, ini.get("paths", "logs", str(settings.data_path / "log"))
    )
    settings.provisioning_path = _resolve(
        home, ini.get("paths", "provisioning", "conf/provisioning")
    )
    settings.anonymous_enabled = ini.get_bool("auth.anonymous", "enabled", False)
    settings.anonymous_org_name = ini.get("auth.anonymous", "org_name", "Main Org.")
    settings.anonymous_org_role = ini.get("auth.anonymous", "org_role", "Viewer")
    settings.allow_sign_up = ini.get_bool("users", "allow_sign_up", False)
    return settings


def _read_server(ini: _IniReader, settings: Settings) -> None:
    settings.protocol = ini.get("server", "protocol", "http").lower()
    if settings.protocol not in ("http", "https"):
        raise ValueError(
            f"unsupported [server] protocol {settings.protocol!r}: "
            "the double serves http or https"
        )
    settings.http_addr = ini.get("server", "http_addr", "")
    port = ini.get("server", "http_port", "3000")
    try:
        settings.http_port = int(port)
    except ValueError:
        raise ValueError(f"invalid [server] http_port {port!r}") from None
    settings.cert_file = ini.get("server", "cert_file", "")
    settings.cert_key = ini.get("server", "cert_key", "")
    settings.domain = ini.get("server", "domain", "localhost")
    root_url = ini.get("server", "root_url", "%(protocol)s://%(domain)s:%(http_port)s/")
    settings.root_url = (
        root_url.replace("%(protocol)s", settings.protocol)
        .replace("%(domain)s", settings.domain)
        .replace("%(http_port)s", str(settings.http_port))
    )


def _read_security(ini: _IniReader, settings: Settings) -> None:
    settings.admin_user = ini.get("security", "admin_user", "admin")
    settings.admin_password = ini.get("security", "admin_password", "admin")
    settings.secret_key = ini.get("security", "secret_key", "SW2YcwTIb9zpOOhoPsMm")
    settings.disable_initial_admin_creation = ini.get_bool(
        "security", "disable_initial_admin_creation", False
    )
