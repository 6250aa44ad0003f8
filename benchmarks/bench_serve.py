"""Serving under load: N concurrent conversations of mixed FAQ, model and handoff turns against one
`ragbot serve` worker (a separate process on this machine), then the same questions through
`Bot.ask` in one process, sequentially, for comparison.

    python benchmarks/bench_serve.py [--conversations 50] [--turns 3] [--kb DIR] [--queue 64]

Reports errors (anything but a reply after 503 retries), 503 back-pressure answers (retried after
Retry-After), turns/s, p50/p95 latency of model and no-model turns, time to the first SSE event of
streamed turns, and the largest model-queue depth seen on /metrics. Real models: all-MiniLM-L6-v2
and the bundled SmolLM2-135M GGUF. Writes benchmarks/results/serve.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import CACHE, REPO, machine, write_result  # noqa: E402
from ragbot.testing import free_port  # noqa: E402

PROPERTIES = ("oak-street", "pine-avenue")
# Questions the bundled knowledge/ answers with the model (benchmarks/results/turn_latency.json),
# per property; FAQ questions from the company FAQ (fast path, no model); handoff requests.
MODEL_QS = {"oak-street": ("How much is pet rent for a cat?", "What day is trash pickup?",
                           "How much notice does the landlord have to give before entering my apartment?"),
            "pine-avenue": ("Can I bring my dog when I move in?", "How much does a space in the garage cost per month?",
                            "What lease lengths do you offer?", "Is internet included in the rent?")}
FAQ_QS = ("What are your office hours?", "Where is the Harborview office?",
          "How do I contact Harborview Property Management?", "Can I set up automatic rent payments?",
          "Can I pay rent in cash?")
HANDOFF_QS = ("I want to talk to a real person", "There is water pouring through my ceiling right now",
              "I am going to take you to court over my deposit")


def scripts(n: int, turns: int) -> list[tuple[str, list[str]]]:
    """(property, questions) per conversation: an FAQ turn, then model / FAQ / handoff turns in
    rotation (shifted per conversation, so about a third of the later turns need the model)."""
    out = []
    for i in range(n):
        prop = PROPERTIES[i % 2]
        pick = {"model": MODEL_QS[prop], "faq": FAQ_QS, "handoff": HANDOFF_QS}
        kinds = [("model", "faq", "handoff")[(i + k) % 3] for k in range(max(0, turns - 1))]
        qs = [FAQ_QS[i % len(FAQ_QS)]] + [pick[kind][(i // 2 + k + 1) % len(pick[kind])] for k, kind in enumerate(kinds)]
        out.append((prop, qs[:turns]))
    return out


def start_server(kb_dir: Path, queue: int, log_path: Path) -> tuple[subprocess.Popen, str]:
    from ragbot.server.settings import SETTINGS_ENV, ServeSettings

    port = free_port()
    settings = ServeSettings(kb=str(kb_dir), port=port, queue_size=queue, rate_key_per_min=100_000,
                             rate_session_per_min=1000)
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               **{SETTINGS_ENV: settings.model_dump_json()})
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "ragbot.server.app:app_from_env", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=open(log_path, "w"))
    return proc, f"http://127.0.0.1:{port}"


async def wait_ready(client, base: str, proc, timeout_s: float = 300) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        if proc.poll() is not None:
            raise RuntimeError("the server exited; see benchmarks/.cache/serve.log")
        try:
            if (await client.get(base + "/readyz")).status_code == 200:
                return time.perf_counter() - t0
        except Exception:
            pass
        await asyncio.sleep(0.25)
    raise RuntimeError("the server did not become ready")


async def one_turn(client, base: str, sid: str, text: str, stream: bool) -> dict:
    """POST one message (retrying 503 after Retry-After); returns the measured row."""
    t0, retries = time.perf_counter(), 0
    while True:
        ttft, reply, status = None, None, 0
        if stream:
            async with client.stream("POST", f"{base}/api/conversations/{sid}/messages",
                                     json={"text": text, "stream": True}) as r:
                status = r.status_code
                if status == 200:
                    buf = ""
                    async for chunk in r.aiter_text():
                        ttft = ttft or time.perf_counter() - t0
                        buf += chunk
                    frames = [f for f in buf.split("\n\n") if f.startswith("event: reply")]
                    reply = json.loads(frames[-1].split("data: ", 1)[1]) if frames else None
                else:
                    await r.aread()
                    retry_after = r.headers.get("retry-after")
        else:
            r = await client.post(f"{base}/api/conversations/{sid}/messages", json={"text": text})
            status, retry_after = r.status_code, r.headers.get("retry-after")
            reply = r.json() if status == 200 else None
        if status == 503 and retries < 20:
            retries += 1
            await asyncio.sleep(float(retry_after or 1))
            continue
        return {"status": status, "seconds": time.perf_counter() - t0, "ttft": ttft, "retries": retries,
                "stream": stream, "decision": reply and reply["decision"], "rule": reply and reply["rule"],
                "model": bool(reply and "generate" in reply["timings_ms"])}


async def conversation(client, base: str, i: int, prop: str, questions: list[str]) -> list[dict]:
    rows = []
    try:
        r = await client.post(base + "/api/conversations", json={"scope": {"property": prop}})
        sid = r.json()["session_id"]
        for k, q in enumerate(questions):
            rows.append(await one_turn(client, base, sid, q, stream=(i + k) % 2 == 1))
    except Exception as e:  # counted as an error, never hidden
        rows.append({"status": -1, "error": f"{type(e).__name__}: {e}", "seconds": 0.0, "model": False})
    return rows


async def sample_queue(client, base: str, stop: asyncio.Event) -> int:
    peak = 0
    while not stop.is_set():
        try:
            text = (await client.get(base + "/metrics")).text
            line = next(ln for ln in text.splitlines() if ln.startswith("ragbot_model_queue_depth "))
            peak = max(peak, int(float(line.split()[1])))
        except Exception:
            pass
        await asyncio.sleep(0.5)
    return peak


async def run_server_phase(kb_dir: Path, plan, queue: int) -> dict:
    import httpx

    proc, base = start_server(kb_dir, queue, CACHE / "serve.log")
    try:
        limits = httpx.Limits(max_connections=len(plan) + 10, max_keepalive_connections=len(plan) + 10)
        async with httpx.AsyncClient(timeout=900, limits=limits, trust_env=False) as client:
            ready_s = await wait_ready(client, base, proc)
            stop = asyncio.Event()
            sampler = asyncio.create_task(sample_queue(client, base, stop))
            t0 = time.perf_counter()
            results = await asyncio.gather(*(conversation(client, base, i, p, qs) for i, (p, qs) in enumerate(plan)))
            wall = time.perf_counter() - t0
            stop.set()
            peak = await sampler
    finally:
        proc.terminate()
        proc.wait(30)
    return {"rows": [r for conv in results for r in conv], "wall_s": wall, "ready_s": ready_s, "peak_queue": peak}


def run_inprocess_phase(kb_dir: Path, plan) -> dict:
    from ragbot.bot import Bot
    from ragbot.config import BotConfig
    from ragbot.server.pool import default_threads

    config = BotConfig.load(kb_dir)  # the same llama.cpp threads as the server's default
    config.generator.n_threads = default_threads(len(os.sched_getaffinity(0)), 1, 1)
    bot = Bot.open(kb_dir, config=config, handlers=[]).warm_up()  # as the server does: urgency classifier too
    rows, t0 = [], time.perf_counter()
    for prop, questions in plan:
        sid = bot.new_session(scope={"property": prop})
        for q in questions:
            t = time.perf_counter()
            r = bot.ask(q, session=sid)
            rows.append({"status": 200, "seconds": time.perf_counter() - t, "decision": r.decision.value,
                         "rule": r.rule, "model": "generate" in r.timings_ms})
    return {"rows": rows, "wall_s": time.perf_counter() - t0}


def summarize(phase: dict) -> dict:
    rows = phase["rows"]
    ok = [r for r in rows if r["status"] == 200]

    def pct(xs, q):
        return round(float(np.percentile(xs, q)), 3) if xs else None

    out = {"turns": len(rows), "errors": len(rows) - len(ok), "wall_s": round(phase["wall_s"], 1),
           "turns_per_s": round(len(ok) / phase["wall_s"], 2),
           "retried_503": sum(r.get("retries", 0) for r in rows)}
    for kind, flag in (("model", True), ("nomodel", False)):
        xs = [r["seconds"] for r in ok if r["model"] is flag]
        out[kind] = {"n": len(xs), "p50_s": pct(xs, 50), "p95_s": pct(xs, 95)}
    ttft = [r["ttft"] for r in ok if r.get("ttft") is not None]
    out["ttft"] = {"n": len(ttft), "p50_s": pct(ttft, 50), "p95_s": pct(ttft, 95)}
    out["decisions"] = {d: sum(r.get("decision") == d for r in ok) for d in ("answer", "clarify", "handoff")}
    out["rules"] = {k: sum(r.get("rule") == k for r in ok) for k in sorted({r.get("rule") or "" for r in ok})}
    out["error_samples"] = [r.get("error") or r["status"] for r in rows if r["status"] != 200][:5]
    return out


def report(args, server: dict, local: dict, extra: dict) -> str:
    def row(name, s):
        m, n = s["model"], s["nomodel"]
        return (f"| {name} | {s['turns']} | {s['errors']} | {s['turns_per_s']} | {m['n']} | {m['p50_s']} | {m['p95_s']} "
                f"| {n['n']} | {n['p50_s']} | {n['p95_s']} |")

    ratio = server["turns_per_s"] / local["turns_per_s"] if local["turns_per_s"] else float("nan")
    return f"""# Serving under load

Machine: {extra['machine']}; load average {extra['load_start']} at the start, {extra['load_end']} at the end
(other processes share these cores). KB: knowledge/ (bundled example), real models (all-MiniLM-L6-v2,
SmolLM2-135M Q4_1 through llama.cpp, {extra['threads']} thread(s): `ragbot serve`'s default, cores - 1).
**{args.conversations} concurrent conversations** x {args.turns} turns (an FAQ turn, then model / FAQ / handoff
turns in rotation), each scoped to one property, every other turn streamed over SSE. One `ragbot serve`
worker in its own process (1 model instance, model queue {args.queue}, queue timeout 120 s; a 503 is retried
after its Retry-After); then the same questions through `Bot.ask` in one process, one after another, with
the same threads. Latencies are per turn as the client saw them (seconds; for the server including the
wait for the model and any 503 retries).

| run | turns | errors | turns/s | model turns | p50 s | p95 s | no-model turns | p50 s | p95 s |
|---|---|---|---|---|---|---|---|---|---|
{row("server, " + str(args.conversations) + " concurrent", server)}
{row("Bot.ask, sequential", local)}

- Errors: {server['errors']} (server), {local['errors']} (Bot.ask). Throughput: the server finished
  {ratio:.1f}x the turns per second of sequential `Bot.ask`, because no-model turns run beside the
  single model instance instead of after it.
- Model turns wait in the model queue (largest depth seen on /metrics: {extra['peak_queue']}): their server
  latency is mostly that wait; {server['retried_503']} turn(s) waited past the 120 s queue timeout, got 503
  with Retry-After and were retried.
- Time to the first SSE event of streamed turns (server): p50 {server['ttft']['p50_s']} s, p95
  {server['ttft']['p95_s']} s over {server['ttft']['n']} turns.
- Models loaded {extra['ready_s']:.1f} s after the server started (/readyz).
- Decisions (server): {server['decisions']}; (Bot.ask): {local['decisions']}.
- Gate rules (server): {server['rules']}; (Bot.ask): {local['rules']}.
"""


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=50)
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--queue", type=int, default=64)
    ap.add_argument("--kb", default=None)
    args = ap.parse_args([] if __name__ != "__main__" else None)
    kb_dir = Path(args.kb) if args.kb else CACHE / "kb-knowledge"
    if not (kb_dir / "manifest.json").exists():
        from benchmarks.bench_turn import build_kb

        build_kb(kb_dir)
    CACHE.mkdir(parents=True, exist_ok=True)
    for name in ("state.sqlite", "sessions.sqlite", "handoffs.jsonl"):  # the cached KB: a clean state per run
        for p in kb_dir.glob(name + "*") if args.kb is None else ():
            p.unlink()
    plan = scripts(args.conversations, args.turns)
    load_start = round(os.getloadavg()[0], 1)
    server_phase = asyncio.run(run_server_phase(kb_dir, plan, args.queue))
    local_phase = run_inprocess_phase(kb_dir, plan)
    server, local = summarize(server_phase), summarize(local_phase)
    from ragbot.server.pool import default_threads

    extra = {"peak_queue": server_phase["peak_queue"], "ready_s": server_phase["ready_s"], "machine": machine(),
             "load_start": load_start, "load_end": round(os.getloadavg()[0], 1),
             "threads": default_threads(len(os.sched_getaffinity(0)), 1, 1)}
    md = report(args, server, local, extra)
    data = {"conversations": args.conversations, "turns_per_conversation": args.turns,
            "queue": args.queue, "server": server, "bot_ask": local, **extra}
    write_result("serve", md, data)
    print(md)
    return data


if __name__ == "__main__":
    main()
