"""Request context, responses, errors and the route table of the double."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

if TYPE_CHECKING:
    from .auth import Identity
    from .config import Settings
    from .store import Store


class ApiError(Exception):
    """An error that the double returns as a Grafana-shaped JSON body."""

    def __init__(self, http_status: int, message: str, /, **extra: Any) -> None:
        super().__init__(message)
        self.status = http_status
        self.body: dict[str, Any] = {"message": message, **extra}


@dataclass
class Response:
    """An HTTP response; ``body`` is serialised as JSON unless it is bytes."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


def ok(message: str, /, **extra: Any) -> Response:
    """Return Grafana's ``{"message": ...}`` success body with status 200."""
    return Response(200, {"message": message, **extra})


@dataclass
class Context:
    """One request as the route handlers see it."""

    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    raw_body: bytes
    settings: Settings
    store: Store
    params: dict[str, str] = field(default_factory=dict)
    identity: Identity | None = None

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string, keep_blank_values=True)

    def arg(self, name: str, default: str = "") -> str:
        """Return the first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def int_arg(self, name: str, default: int) -> int:
        value = self.arg(name)
        if value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise ApiError(400, f"invalid integer in query parameter {name}") from None

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def json(self) -> Any:
        """Parse the request body as JSON, raising 400 like Grafana's binding."""
        if not self.raw_body:
            raise ApiError(400, "bad request data")
        try:
            return json.loads(self.raw_body)
        except ValueError:
            raise ApiError(400, "bad request data") from None

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise ApiError(400, "bad request data")
        return body

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise ApiError(400, f"{name} is invalid") from None

    @property
    def org_id(self) -> int:
        assert self.identity is not None
        return self.identity.org_id


Handler = Callable[[Context], Response]


@dataclass
class Route:
    """A route; ``public`` routes skip authentication like ``/api/health``."""

    method: str
    template: str
    handler: Handler
    public: bool = False
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        self.pattern = compile_template(self.template)

    @property
    def spec_template(self) -> str:
        """Return the template in OpenAPI form, without the ``/api`` prefix."""
        return self.template.removeprefix("/api").replace("*}", "}")


def compile_template(template: str) -> re.Pattern[str]:
    """Compile ``/a/{x}/{rest*}`` into a regex; ``*`` parameters span slashes."""
    regex = ""
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{"):
            name = part[1:-1]
            if name.endswith("*"):
                regex += f"(?P<{name[:-1]}>.+)"
            else:
                regex += f"(?P<{name}>[^/]+)"
        else:
            regex += re.escape(part)
    return re.compile(f"^{regex}$")


class Router:
    """The route table; routes match in the order they were added."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self, method: str, template: str, handler: Handler, public: bool = False
    ) -> None:
        self.routes.append(Route(method.upper(), template, handler, public))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        """Return the route and path parameters, or ``None`` with ``{}``.

        A path that matches with another method returns the first such route
        with the parameter ``__method_not_allowed`` set.
        """
        other = None
        for route in self.routes:
            found = route.pattern.match(path)
            if not found:
                continue
            if route.method == method:
                params = {k: unquote(v) for k, v in found.groupdict().items()}
                return route, params
            other = route
        if other is not None:
            return None, {"__method_not_allowed": other.template}
        return None, {}


def _typed_field(body: dict[str, Any], key: str, kind: type, name: str) -> Any:
    value = body.get(key)
    if value is None:
        return None
    # bool is a subclass of int in Python, but not a JSON number.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ApiError(400, f"bad request data: {key} must be {name}")
    return value


def str_field(body: dict[str, Any], key: str, default: str = "") -> str:
    """Return a string member; another JSON type is a 400 like Go's JSON binding."""
    value = _typed_field(body, key, str, "a string")
    return default if value is None else value


def int_field(body: dict[str, Any], key: str) -> int | None:
    return _typed_field(body, key, int, "an integer")


def bool_field(body: dict[str, Any], key: str) -> bool:
    return bool(_typed_field(body, key, bool, "a boolean"))


def object_field(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    return _typed_field(body, key, dict, "an object")
