"""Pages and operations: /widget.js, /widget.css, /static/*, /inbox, / (demo), /healthz,
/readyz, /metrics."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from ragbot.server.auth import Principal, authenticate
from ragbot.server.errors import ApiError, error_body

STATIC_DIR = Path(__file__).resolve().parent / "static"
_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}


def static_file(name: str) -> FileResponse:
    """A file of ragbot/server/static (no sub-folders, no dot files); ApiError 404 otherwise."""
    path = STATIC_DIR / name
    if "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
        raise ApiError(404, f"no such file: {name}", "not_found")
    return FileResponse(path, media_type=_TYPES.get(path.suffix, "application/octet-stream"),
                        headers={"Cache-Control": "no-cache"})


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/widget.js")
    def widget_js():
        return static_file("widget.js")

    @r.get("/widget.css")
    def widget_css():
        return static_file("widget.css")

    @r.get("/static/{name}")
    def static(name: str):
        return static_file(name)

    @r.get("/inbox")
    def inbox_page():
        return static_file("inbox.html")

    @r.get("/")
    def demo(request: Request):
        st = request.app.state.ragbot
        if not st.settings.demo:
            raise ApiError(404, "no page here; start the server with --demo for the demo page, or open /inbox",
                           "not_found")
        path = STATIC_DIR / "demo.html"
        if not path.is_file():
            raise ApiError(404, "static/demo.html is missing from this installation", "not_found")
        html = path.read_text(encoding="utf-8").replace("{{CLIENT_KEY}}", st.demo_key)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @r.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @r.get("/readyz")
    def readyz(request: Request):
        st = request.app.state.ragbot
        if st.ready.is_set():
            return {"status": "ready", "model": st.pool.name, "instances": len(st.pool.instances)}
        msg = f"models failed to load: {st.load_error}" if st.load_error else "models are loading"
        return JSONResponse(error_body(503, msg, "not_ready"), status_code=503, headers={"Retry-After": "5"})

    @r.get("/metrics")
    def metrics(request: Request, p: Principal = Depends(authenticate)):
        p.require("admin")
        body, ctype = request.app.state.ragbot.metrics.render()
        return Response(body, media_type=ctype)

    return r
