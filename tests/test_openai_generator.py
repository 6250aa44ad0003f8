"""OpenAICompatGenerator: a tiny real HTTP server in a thread (fast: no-logprobs path, retries,
timeouts, keys, stop strings, token counting) and llama-cpp-python's own server with the
bundled SmolLM2 (slow: log-probs, streaming, agreement with the in-process generator)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ragbot.errors import ConfigError, InputError
from ragbot.generators import Generator
from ragbot.generators.openai_compat import (ModelServerError, OpenAICompatGenerator, OpenAIGeneratorConfig,
                                             mask_url)
from ragbot.testing import free_port

MESSAGES = [{"role": "system", "content": "You are a helpful assistant for a property management company."},
            {"role": "user", "content": "What is the capital of France?"}]


# ----------------------------------------------------------------------------- fake server
class FakeServer(ThreadingHTTPServer):
    """An OpenAI-style chat server on 127.0.0.1: streams `pieces` (with log-probs when
    `logprobs`), fails the first `fail_first` requests with 503, sleeps `delay_s` first."""

    daemon_threads = True

    def __init__(self, pieces=("The", " deposit", " is", " $1,000", "."), logprobs=True, fail_first=0,
                 delay_s=0.0, status=503, tokenize=False):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pieces, self.logprobs, self.fail_first, self.delay_s = list(pieces), logprobs, fail_first, delay_s
        self.status, self.tokenize = status, tokenize
        self.requests: list[dict] = []
        self.headers_seen: list[dict] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: FakeServer

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _json(self, code: int, obj: dict, headers: dict | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(code)
        for k, v in {"Content-Type": "application/json", "Content-Length": str(len(data)), **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "me"}]})

    def do_POST(self):
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        if self.path == "/extras/tokenize/count":
            return self._json(200, {"count": len(body["input"].split())}) if srv.tokenize else self._json(404, {})
        if self.path != "/v1/chat/completions":
            return self._json(404, {"error": "not found"})
        srv.requests.append(body)
        srv.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
        if srv.delay_s:
            time.sleep(srv.delay_s)
        if len(srv.requests) <= srv.fail_first:
            return self._json(srv.status, {"error": {"message": "busy"}}, {"retry-after-ms": "10"})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for i, piece in enumerate(srv.pieces):
            lp = {"content": [{"token": piece, "logprob": -0.1 * (i + 1), "bytes": None, "top_logprobs": []}]}
            choice = {"index": 0, "delta": {"content": piece}, "finish_reason": None,
                      "logprobs": lp if srv.logprobs else None}
            self._event({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
                         "choices": [choice]})
        self._event({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
                     "choices": [{"index": 0, "delta": {}, "finish_reason": "stop", "logprobs": None}]})
        self._event("[DONE]")

    def _event(self, obj: dict | str) -> None:
        try:
            self.wfile.write(b"data: " + (obj if isinstance(obj, str) else json.dumps(obj)).encode() + b"\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (a stop string), as real servers see


@pytest.fixture()
def fake():
    servers = []

    def start(**kw) -> FakeServer:
        srv = FakeServer(**kw)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def make(srv: FakeServer, **kw) -> OpenAICompatGenerator:
    return OpenAICompatGenerator(OpenAIGeneratorConfig(base_url=srv.base_url, **kw))


# ----------------------------------------------------------------------------- fast
def test_streams_text_and_logprobs_and_sends_ragbot_prompt(fake):
    srv = fake()
    gen = make(srv, extra_body={"repeat_penalty": 1.15})
    assert isinstance(gen, Generator)
    pieces: list[str] = []
    out = gen.generate(MESSAGES, max_tokens=20, on_token=pieces.append)
    assert out.text == "The deposit is $1,000." and "".join(pieces) == out.text and len(pieces) == 5
    assert out.token_logprobs == pytest.approx((-0.1, -0.2, -0.3, -0.4, -0.5))
    assert out.completion_tokens == 5 and out.finish_reason == "stop"
    assert out.logprobs_available is True
    assert out.prefill_ms >= 0 and out.decode_ms >= 0
    req = srv.requests[0]
    assert req["messages"] == MESSAGES and req["model"] == "fake-model"  # resolved from GET /models
    assert req["logprobs"] is True and req["top_logprobs"] == 1 and req["stream"] is True
    assert req["max_tokens"] == 20 and req["temperature"] == 0.0 and req["repeat_penalty"] == 1.15


def test_no_logprobs_from_server_gives_empty_logprobs(fake):
    out = make(fake(logprobs=False)).generate(MESSAGES)
    assert out.text == "The deposit is $1,000." and out.token_logprobs == ()
    assert out.completion_tokens == 5  # counted from the streamed chunks


def test_no_logprobs_from_server_sets_the_unavailable_flag(fake):
    assert make(fake(logprobs=False)).generate(MESSAGES).logprobs_available is False
    assert make(fake(logprobs=True)).generate(MESSAGES).logprobs_available is True


def test_stop_strings_are_applied_even_when_the_server_ignores_them(fake):
    srv = fake(pieces=("Yes", ".", "\nUser", ":", " more"))
    pieces: list[str] = []
    out = make(srv).generate(MESSAGES, stop=["\nUser:", "a", "b", "c", "d"], on_token=pieces.append)
    assert out.text == "Yes." and "".join(pieces) == "Yes." and out.finish_reason == "stop"
    assert srv.requests[0]["stop"] == ["\nUser:", "a", "b", "c"]  # the API takes at most 4


def test_retries_server_errors_then_succeeds(fake):
    srv = fake(fail_first=2)
    out = make(srv, max_retries=2).generate(MESSAGES)
    assert out.text == "The deposit is $1,000." and len(srv.requests) == 3


def test_gives_up_after_max_retries(fake):
    srv = fake(fail_first=10)
    with pytest.raises(ModelServerError, match="HTTP 503"):
        make(srv, max_retries=1).generate(MESSAGES)
    assert len(srv.requests) == 2


def test_timeout_is_retried_then_raised(fake):
    srv = fake(delay_s=1.5)
    t0 = time.perf_counter()
    with pytest.raises(ModelServerError, match=r"timeout_s=0.2 s \(1 retries\)"):
        make(srv, timeout_s=0.2, max_retries=1).generate(MESSAGES)
    assert len(srv.requests) == 2 and time.perf_counter() - t0 < 1.5 * 2


def test_unreachable_server():
    port = free_port()  # closed again: nothing listens there
    gen = OpenAICompatGenerator(OpenAIGeneratorConfig(base_url=f"http://u:secret@127.0.0.1:{port}/v1",
                                                      model="m", max_retries=0))
    with pytest.raises(ModelServerError, match="cannot connect") as e:
        gen.generate(MESSAGES)
    assert "secret" not in str(e.value) and "***@127.0.0.1" in str(e.value)


def test_api_key_from_env_is_sent_and_never_shown(fake, monkeypatch):
    srv = fake(fail_first=1, status=401)
    gen = make(srv, api_key_env="RAGBOT_TEST_KEY", model="fake-model")
    with pytest.raises(ConfigError, match="api_key_env"):
        gen.generate(MESSAGES)  # the variable is not set
    monkeypatch.setenv("RAGBOT_TEST_KEY", "sk-very-secret")
    gen = make(srv, api_key_env="RAGBOT_TEST_KEY", model="fake-model")
    with pytest.raises(ConfigError, match="refused the API key") as e:
        gen.generate(MESSAGES)
    assert "sk-very-secret" not in str(e.value) and "sk-very-secret" not in repr(gen.config)
    assert srv.headers_seen[0]["authorization"] == "Bearer sk-very-secret"
    assert gen.generate(MESSAGES).text == "The deposit is $1,000."


def test_count_tokens_server_endpoint_or_estimate(fake):
    assert make(fake(tokenize=True)).count_tokens("one two three four") == 4
    gen = make(fake(tokenize=False))
    assert gen.count_tokens("x" * 35) == 10 and gen.count_tokens("x" * 36) == 11 and gen.count_tokens("") == 0
    with pytest.raises(ModelServerError, match="no tokenize endpoint"):
        make(fake(tokenize=False), tokenizer="server").count_tokens("abc")


def test_bad_arguments_and_config():
    gen = OpenAICompatGenerator(OpenAIGeneratorConfig(model="m"))
    with pytest.raises(InputError, match="max_tokens"):
        gen.generate(MESSAGES, max_tokens=0)
    with pytest.raises(InputError, match="messages\\[0\\].role"):
        gen.generate([{"role": "bot", "content": "x"}])
    with pytest.raises(ValueError):
        OpenAIGeneratorConfig(timeout_s=0)
    assert mask_url("http://a:b@h:1/v1") == "http://***@h:1/v1" and mask_url("http://h/v1") == "http://h/v1"


def test_from_generator_config_copies_shared_fields():
    from ragbot.config import GeneratorConfig

    cfg = OpenAIGeneratorConfig.from_generator_config(GeneratorConfig(max_tokens=40, temperature=0.5))
    assert cfg.max_tokens == 40 and cfg.temperature == 0.5 and cfg.base_url == "http://127.0.0.1:8080/v1"


# ----------------------------------------------------------------------------- slow: llama.cpp's server
@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """`python -m llama_cpp.server` with the bundled SmolLM2 on a free loopback port."""
    for mod in ("fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings"):
        pytest.importorskip(mod, reason="llama-cpp-python's server extra is missing: pip install fastapi uvicorn "
                                        "sse-starlette 'starlette-context<0.4' pydantic-settings")
    from ragbot.generators import bundled_model_path

    port = free_port()
    log = open(tmp_path_factory.mktemp("llama_server") / "server.log", "w+b")  # a pipe could fill and block it
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", bundled_model_path(),
                             "--host", "127.0.0.1", "--port", str(port), "--n_threads", "2", "--n_ctx", "2048"],
                            stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_ready(proc, base_url, log)
        yield base_url
    finally:
        log.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_ready(proc, base_url: str, log, timeout_s: float = 90.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"llama_cpp.server exited with {proc.returncode}: {log.read().decode()[-2000:]}")
        try:
            if httpx.get(base_url + "/models", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"llama_cpp.server did not answer within {timeout_s:.0f} s")


@pytest.fixture(scope="module")
def in_process():
    from ragbot.config import GeneratorConfig
    from ragbot.generators import LlamaCppGenerator

    return LlamaCppGenerator(GeneratorConfig(n_threads=2))


@pytest.mark.slow
def test_llama_server_streams_text_with_logprobs(llama_server):
    gen = OpenAICompatGenerator(OpenAIGeneratorConfig(base_url=llama_server)).warm_up()
    pieces: list[str] = []
    out = gen.generate(MESSAGES, max_tokens=24, on_token=pieces.append)
    assert out.text.strip() and "".join(pieces) == out.text and len(pieces) >= 2
    assert out.token_logprobs and all(lp <= 0 and math.isfinite(lp) for lp in out.token_logprobs)
    assert out.completion_tokens == len(out.token_logprobs) and out.finish_reason in ("stop", "length")
    assert out.logprobs_available is True and out.prefill_ms > 0


@pytest.mark.slow
def test_llama_server_agrees_with_in_process_generator(llama_server, in_process):
    from ragbot.config import GeneratorConfig

    penalty = GeneratorConfig().repeat_penalty  # the server's own default differs (1.1)
    remote = OpenAICompatGenerator(OpenAIGeneratorConfig(base_url=llama_server,
                                                         extra_body={"repeat_penalty": penalty}))
    questions = ["What is the capital of France?", "How much notice does a tenant give to end a lease?"]
    for q in questions:
        msgs = [MESSAGES[0], {"role": "user", "content": q}]
        a, b = remote.generate(msgs, max_tokens=24), in_process.generate(msgs, max_tokens=24, temperature=0.0)
        assert a.text == b.text, q
        assert len(a.token_logprobs) == len(b.token_logprobs)
        assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-3)
    for text in ("Hello world, how are you?", "The deposit is $1,000 [1].", "  spaces\tand\nnewlines "):
        assert remote.count_tokens(text) == in_process.count_tokens(text), text
