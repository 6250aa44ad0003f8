"""Prometheus metrics of one server process, in a registry of its own (no global state).

Names: ragbot_turns_total{decision}, ragbot_turn_seconds{kind="model"|"nomodel"} (histogram),
ragbot_time_to_first_token_seconds (streamed turns), ragbot_model_queue_depth,
ragbot_model_busy, ragbot_handoffs_total{urgency}, ragbot_rejected_total{reason}
(queue_full, rate_limited, too_large), ragbot_http_requests_total{method,route,status},
ragbot_http_request_seconds{route}.
"""

from __future__ import annotations

_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)


class Metrics:
    """The collectors; `render()` gives the text exposition format."""

    def __init__(self, pool=None):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = r = CollectorRegistry()
        self.turns = Counter("ragbot_turns", "Turns answered, by gate decision", ["decision"], registry=r)
        self.turn_seconds = Histogram("ragbot_turn_seconds", "Turn latency (seconds), model or no-model turns",
                                      ["kind"], buckets=_BUCKETS, registry=r)
        self.ttft = Histogram("ragbot_time_to_first_token_seconds", "Streamed turns: seconds to the first event",
                              buckets=_BUCKETS, registry=r)
        self.handoffs = Counter("ragbot_handoffs", "Handoff tickets created, by urgency", ["urgency"], registry=r)
        self.rejected = Counter("ragbot_rejected", "Requests refused by a limit", ["reason"], registry=r)
        self.requests = Counter("ragbot_http_requests", "HTTP requests", ["method", "route", "status"], registry=r)
        self.request_seconds = Histogram("ragbot_http_request_seconds", "HTTP request latency (seconds)", ["route"],
                                         buckets=_BUCKETS, registry=r)
        depth = Gauge("ragbot_model_queue_depth", "Model turns waiting for a free model instance", registry=r)
        busy = Gauge("ragbot_model_busy", "Model instances generating now", registry=r)
        if pool is not None:
            depth.set_function(lambda: pool.waiting)
            busy.set_function(lambda: pool.busy)

    def observe_turn(self, reply, seconds: float) -> None:
        self.turns.labels(reply.decision.value).inc()
        self.turn_seconds.labels("model" if used_model(reply) else "nomodel").observe(seconds)
        if reply.ticket is not None:
            self.handoffs.labels(reply.ticket.urgency or "normal").inc()

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def used_model(reply) -> bool:
    """Whether the turn ran the generator (its timings carry a 'generate' entry)."""
    return "generate" in (reply.timings_ms or {})
