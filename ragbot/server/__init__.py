"""`ragbot serve`: the HTTP API (OpenAI-compatible /v1, the conversation and inbox /api), the web
widget's files and the agent inbox page, as a thin FastAPI shell over Bot (docs/http-api.md).

Needs the `serve` extra: pip install 'ragbot[serve]' (fastapi, uvicorn, prometheus-client, httpx).
"""

from __future__ import annotations

__all__ = ["ServeSettings", "create_app"]


def __getattr__(name):
    if name == "create_app":
        from ragbot.server.app import create_app

        return create_app
    if name == "ServeSettings":
        from ragbot.server.settings import ServeSettings

        return ServeSettings
    raise AttributeError(name)
