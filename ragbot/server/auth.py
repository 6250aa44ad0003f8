"""Bearer-key authentication, roles, scope enforcement and per-key CORS.

With no active key at all the server is in open mode: requests need no header and act as admin,
but (by default) only from loopback addresses, matching the loopback-only bind at start.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Mapping

from starlette.requests import Request

from ragbot.server.errors import ApiError
from ragbot.state.keys import ApiKey

OPEN_KEY_ID = "local"
OPEN_KEY = ApiKey(OPEN_KEY_ID, "local", "admin")  # open mode's principal: a local admin


@dataclass(frozen=True)
class Principal:
    """Who sent a request: the verified API key (its key_id, name, role, scope, origins), or in
    open mode, when the server has no keys, the stand-in `OPEN_KEY`."""

    key: ApiKey
    open_mode: bool = False

    def require(self, *roles: str) -> "Principal":
        """Raise 403 unless the key's role is one of `roles` (admin always passes)."""
        role = self.key.role
        if role != "admin" and role not in roles:
            raise ApiError(403, f"a {role} key cannot do this; it needs a key with role "
                                f"{' or '.join(roles + ('admin',))}", "role")
        return self

    @property
    def is_client(self) -> bool:
        return self.key.role == "client"


def bearer(headers) -> str:
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def is_loopback(host: str | None) -> bool:
    try:
        return ipaddress.ip_address((host or "").split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


def authenticate(request: Request) -> Principal:
    """FastAPI dependency: the request's Principal, or ApiError 401."""
    st = request.app.state.ragbot
    token = bearer(request.headers)
    if not st.keys.has_active():  # any token is ignored: the openai client always sends one
        client = request.client.host if request.client else None
        if st.settings.open_mode_loopback_only and not is_loopback(client):
            raise ApiError(401, "this server has no API keys, so it only answers loopback clients; "
                                "create one with `ragbot keys create --kb DIR --role client`", "no_keys")
        p = Principal(OPEN_KEY, open_mode=True)
    else:
        if not token:
            raise ApiError(401, "missing API key: send the header 'Authorization: Bearer KEY'", "missing_key")
        rec = st.keys.verify(token)
        if rec is None:
            raise ApiError(401, "unknown or revoked API key", "invalid_key")
        p = Principal(rec)
    request.state.principal = p
    request.state.log = {**getattr(request.state, "log", {}), "key": p.key.key_id}
    return p


def effective_scope(principal: Principal, requested: Mapping[str, str] | None) -> dict[str, str]:
    """The key's scope narrowed by the request's. Raises ApiError 403 when the request gives
    another value for a key of the key's scope or tries to clear one; 422 for non-string values."""
    requested = dict(requested or {})
    for k, v in requested.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ApiError(422, f"scope entry {k!r} must map a string to a string", "invalid_scope")
    out = dict(principal.key.scope)
    for k, v in requested.items():
        v = v.strip()
        if k in principal.key.scope and v != principal.key.scope[k]:
            raise ApiError(403, f"scope {k}={v!r} is not allowed: this key is limited to {k}={principal.key.scope[k]!r}; "
                                "a request may narrow the key's scope but not widen or replace it", "scope")
        if not v or v == "*":
            raise ApiError(403 if k in principal.key.scope else 422,
                           f"scope {k} needs a concrete value; a request may narrow the key's scope but not widen it",
                           "scope")
        out[k] = v
    return out


def scope_covers(principal: Principal, scope: Mapping[str, str]) -> bool:
    """True when everything in the principal's scope is also in `scope` (an agent key limited to
    a property sees only that property's tickets)."""
    return all(scope.get(k) == v for k, v in principal.key.scope.items())


class CORSMiddleware:
    """Pure ASGI middleware: CORS headers only for origins the request's own key lists.

    Preflight (OPTIONS + Access-Control-Request-Method) carries no key, so it is answered for any
    origin listed by some active key; the real request then gets Access-Control-Allow-Origin only
    if its key lists the origin."""

    ALLOW_HEADERS = "Authorization, Content-Type"
    ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"

    def __init__(self, app, keys_of):
        self.app = app
        self.keys_of = keys_of  # () -> KeyStore (created in the lifespan)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin")
        if not origin:
            return await self.app(scope, receive, send)
        keys = self.keys_of()
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            return await self._preflight(origin, keys, send)
        allowed = False
        if keys is not None:
            rec = keys.verify(bearer(headers))
            allowed = rec is not None and origin.rstrip("/").lower() in rec.origins

        async def send_cors(message):
            if message["type"] == "http.response.start" and allowed:
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
            await send(message)

        await self.app(scope, receive, send_cors)

    async def _preflight(self, origin, keys, send):
        ok = keys is not None and origin.rstrip("/").lower() in keys.all_origins()
        hdrs = [(b"vary", b"Origin"), (b"content-length", b"0")]
        if ok:
            hdrs += [(b"access-control-allow-origin", origin.encode("latin-1")),
                     (b"access-control-allow-methods", self.ALLOW_METHODS.encode()),
                     (b"access-control-allow-headers", self.ALLOW_HEADERS.encode()),
                     (b"access-control-max-age", b"600")]
        await send({"type": "http.response.start", "status": 204 if ok else 403, "headers": hdrs})
        await send({"type": "http.response.body", "body": b""})
