"""Curated answers and the monitoring report over HTTP:

    POST /api/feedback/{feedback_id}/approve  {scope?}  (agent, admin) -> the new override
    GET  /api/report?since=YYYY-MM-DD&format=html|json  (admin)        -> ragbot report's page or JSON

Ratings themselves are `POST /api/messages/{message_id}/feedback` (conversations.py).
"""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from ragbot.server.auth import Principal, authenticate
from ragbot.server.errors import ApiError


class Approve(BaseModel):
    scope: Optional[dict[str, str]] = None


def router() -> APIRouter:
    r = APIRouter(prefix="/api")

    @r.post("/feedback/{feedback_id}/approve")
    def approve(feedback_id: str, body: Approve, request: Request, p: Principal = Depends(authenticate)):
        p.require("agent")
        bot = request.app.state.ragbot.bot
        fb = bot.feedback_store.get(feedback_id)
        o = bot.overrides.approve(fb, bot.turnlog, scope=body.scope, author=p.key.name)
        return o.to_dict()

    @r.get("/report")
    def report(request: Request, since: Optional[str] = None, format: str = "html",
               p: Principal = Depends(authenticate)):
        p.require("admin")
        from ragbot.tune.feedback_cli import parse_date
        from ragbot.tune.report import build_report
        from ragbot.tune.report_html import render

        if format not in ("html", "json"):
            raise ApiError(422, "format must be html or json", "invalid_format")
        bot = request.app.state.ragbot.bot
        rep = build_report(bot.turnlog, bot.feedback_store, bot.kb.embedder, since=parse_date(since))
        return HTMLResponse(render(rep)) if format == "html" else rep.to_dict()

    return r
