"""Users' saved preferences over HTTP (agent and admin keys):

    GET    /api/users/{user_id}   -> {"user_id", "preferences": {key: {"value", "message", "session_id",
                                       "message_id", "ts"}}}   (an agent key sees the contact masked)
    DELETE /api/users/{user_id}   -> {"user_id", "deleted": int}

The store is the Bot's (`bot.users`, state/users.UserStore on the KB's state database).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ragbot.server.auth import Principal, authenticate
from ragbot.server.errors import ApiError


def _agent(request: Request, p: Principal = Depends(authenticate)) -> Principal:
    return p.require("agent")


def _checked(user_id: str) -> str:
    from ragbot.errors import InputError
    from ragbot.state.users import check_user_id

    try:
        return check_user_id(user_id)
    except InputError as e:
        raise ApiError(400, str(e), "invalid_user_id") from e


def router() -> APIRouter:
    r = APIRouter(prefix="/api/users")

    @r.get("/{user_id}")
    def get_user(user_id: str, request: Request, p: Principal = Depends(_agent)):
        st = request.app.state.ragbot
        return st.bot.users.get(_checked(user_id)).to_dict(scrub=p.key.role != "admin")

    @r.delete("/{user_id}")
    def forget_user(user_id: str, request: Request, p: Principal = Depends(_agent)):
        st = request.app.state.ragbot
        return {"user_id": user_id, "deleted": st.bot.users.forget(_checked(user_id))}

    return r
