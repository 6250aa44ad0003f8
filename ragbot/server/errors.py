"""HTTP errors in OpenAI's shape, `{"error": {"type", "message", "code"}}`, for every endpoint."""

from __future__ import annotations

from typing import Mapping

TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
         404: "not_found_error", 409: "conflict_error", 413: "request_too_large", 422: "invalid_request_error",
         429: "rate_limit_error", 503: "server_overloaded", 500: "server_error"}


class ApiError(Exception):
    """Raised by handlers; rendered as `{"error": {...}}` with `status` and `headers`."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})

    def body(self) -> dict:
        return error_body(self.status, self.message, self.code)


def error_body(status: int, message: str, code: str | None = None) -> dict:
    return {"error": {"type": TYPES.get(status, "server_error"), "message": message, "code": code}}


def install(app) -> None:
    """Register the handlers that turn ApiError, ragbot errors and validation errors into JSON."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    from ragbot.errors import InputError, SessionNotFoundError
    from ragbot.server.pool import ModelQueueFull

    def respond(status, message, code=None, headers=None):
        return JSONResponse(error_body(status, message, code), status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def _api(request, exc: ApiError):
        return respond(exc.status, exc.message, exc.code, exc.headers)

    @app.exception_handler(ModelQueueFull)
    async def _full(request, exc: ModelQueueFull):
        request.app.state.ragbot.metrics.rejected.labels("queue_full").inc()
        return respond(503, str(exc), "queue_full", {"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(SessionNotFoundError)
    async def _nosession(request, exc):
        return respond(404, str(exc), "session_not_found")

    @app.exception_handler(InputError)
    async def _input(request, exc):
        return respond(422, str(exc), "invalid_input")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc: RequestValidationError):
        errs = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errs):
            return respond(400, "the request body is not valid JSON", "invalid_json")
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}" for e in errs]
        return respond(422, "; ".join(parts), "invalid_fields")

    @app.exception_handler(Exception)
    async def _crash(request, exc: Exception):
        import logging

        logging.getLogger("ragbot.server").error("unhandled error on %s %s", request.method, request.url.path,
                                                 exc_info=exc)
        return respond(500, f"internal error ({type(exc).__name__}); see the server log", "internal")

    @app.exception_handler(HTTPException)
    async def _http(request, exc: HTTPException):
        return respond(exc.status_code, str(exc.detail), None, getattr(exc, "headers", None))
