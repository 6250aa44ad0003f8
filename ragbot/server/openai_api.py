"""OpenAI-compatible endpoints: POST /v1/chat/completions (plain and SSE streaming), GET /v1/models.

The official `openai` client works unchanged; ragbot extras go in `extra_body` (top level) or in
`metadata`: `session_id` continues a conversation, `scope` narrows the key's scope.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Optional, Union

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict

from ragbot.server import turns
from ragbot.server.auth import Principal, authenticate, effective_scope
from ragbot.server.conversations import check_access
from ragbot.server.errors import ApiError, error_body

MODEL_ID = "ragbot"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: Union[str, list[dict[str, Any]], None] = None


class ChatRequest(BaseModel):
    """OpenAI's body; sampling fields (temperature, max_tokens, ...) are accepted and ignored:
    the knowledge base's configuration decides them."""

    model_config = ConfigDict(extra="allow")
    model: Optional[str] = None
    messages: list[ChatMessage]
    stream: bool = False
    user: Optional[str] = None
    session_id: Optional[str] = None
    scope: Optional[dict[str, str]] = None
    metadata: Optional[dict[str, Any]] = None


def _text(m: ChatMessage) -> str:
    if isinstance(m.content, list):  # content parts: keep the text ones
        return " ".join(str(p.get("text", "")) for p in m.content if p.get("type") == "text")
    return m.content or ""


def _extras(body: ChatRequest) -> tuple[str | None, dict | None]:
    meta = body.metadata or {}
    sid = body.session_id or meta.get("session_id")
    scope = body.scope if body.scope is not None else meta.get("scope")
    if isinstance(scope, str):  # OpenAI metadata values are strings: accept JSON
        try:
            scope = json.loads(scope)
        except ValueError as e:
            raise ApiError(400, "metadata.scope must be a JSON object of strings, e.g. '{\"property\": \"oak\"}'",
                           "invalid_scope") from e
    if scope is not None and not isinstance(scope, dict):
        raise ApiError(400, "scope must be an object of key: value strings", "invalid_scope")
    return (str(sid) if sid else None), scope


def _session(st, p: Principal, body: ChatRequest, scope: dict) -> tuple[str, str]:
    """(session id, question): continue the given session or start one from the earlier messages."""
    users = [i for i, m in enumerate(body.messages) if m.role == "user"]
    if not users:
        raise ApiError(400, "messages has no user message; the last user message is the question", "no_user_message")
    last = users[-1]
    question = turns.check_question(st, _text(body.messages[last]))
    sid, _ = _extras(body)
    if sid and st.owners.owner(sid) is not None:
        check_access(st, p, sid)
        return sid, question
    if sid and st.bot.sessions.exists(sid) and not (p.open_mode or p.key.role == "admin"):
        raise ApiError(404, f"unknown session {sid!r}", "session_not_found")
    sid = st.bot.new_session(session_id=sid, scope=scope)
    st.owners.add(sid, p.key.key_id, scope)
    for m in body.messages[:last]:
        if m.role in ("user", "assistant") and _text(m).strip():
            st.bot.sessions.append(sid, m.role, _text(m))
    return sid, question


def ragbot_object(reply) -> dict[str, Any]:
    d = turns.reply_object(reply)
    return {k: d[k] for k in ("decision", "confidence", "reason", "rule", "sources", "session_id", "message_id",
                              "options")} | {"ticket": d["handoff"], "text": d["text"]}


def _completion(reply) -> dict[str, Any]:
    obj = ragbot_object(reply)
    tok = reply.tokens or {}
    return {"id": "chatcmpl-" + obj["message_id"], "object": "chat.completion", "created": int(time.time()),
            "model": MODEL_ID, "system_fingerprint": None,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text}, "logprobs": None,
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": int(tok.get("prompt", 0)), "completion_tokens": int(tok.get("completion", 0)),
                      "total_tokens": int(tok.get("prompt", 0)) + int(tok.get("completion", 0))},
            "session_id": reply.session_id, "ragbot": obj}


def router() -> APIRouter:
    r = APIRouter(prefix="/v1")

    @r.get("/models")
    def models(p: Principal = Depends(authenticate)):
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "ragbot"}]}

    @r.post("/chat/completions")
    async def chat(body: ChatRequest, request: Request, p: Principal = Depends(authenticate)):
        st = request.app.state.ragbot
        _, req_scope = _extras(body)
        scope = effective_scope(p, req_scope)
        turns.check_rate(st, p.key.key_id, None)
        sid, question = _session(st, p, body, scope)
        turns.check_rate(st, None, sid)
        req = turns.TurnRequest(question, sid, scope, user=body.user)
        if not body.stream:
            reply = await turns.ask(st, req)
            turns.log_fields(request, reply)
            return JSONResponse(_completion(reply))
        first, rest = await turns.first_then_rest(turns.events(st, req))
        return StreamingResponse(_chunks(request, sid, first, rest), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return r


def _chunk(cid: str, created: int, delta: dict, finish: str | None = None, **extra) -> bytes:
    obj = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
           "system_fingerprint": None, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                    "finish_reason": finish}], **extra}
    return turns.sse(None, obj)


async def _chunks(request, sid: str, first, rest):
    """OpenAI chunks: role, verified content deltas, a final chunk with the rest of the reply text
    and the `ragbot` object, then `data: [DONE]`."""
    cid, created, streamed = "chatcmpl-" + uuid.uuid4().hex, int(time.time()), ""
    yield _chunk(cid, created, {"role": "assistant", "content": ""}, session_id=sid)
    item = first
    try:
        while item is not turns._END:
            name = type(item).__name__
            if name == "TokenEvent" and item.text:
                streamed += item.text
                yield _chunk(cid, created, {"content": item.text}, session_id=sid)
            elif name == "ReplyEvent":
                reply = item.reply
                turns.log_fields(request, reply)
                obj = ragbot_object(reply)
                rest_text = reply.text[len(streamed):] if reply.text.startswith(streamed) else ""
                yield _chunk(cid, created, {"content": rest_text} if rest_text else {},
                             "stop", session_id=sid, ragbot=obj)
            try:
                item = await rest.__anext__()
            except StopAsyncIteration:
                break
    except ApiError as e:
        yield turns.sse(None, e.body())
    except Exception as e:
        yield turns.sse(None, error_body(503 if hasattr(e, "retry_after_s") else 500, str(e)))
    yield b"data: [DONE]\n\n"
