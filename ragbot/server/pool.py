"""The model queue of one server worker: N generator instances behind a bounded wait queue.

A llama.cpp context is not thread-safe, so each instance serves one call at a time. `ModelPool`
implements the Generator protocol, so the Bot uses it like any generator: a turn that needs the
model waits here for a free instance; turns that never call `generate` (FAQ, override, clarify,
handoff) never wait. When `max_queue` turns are already waiting, `generate` raises
ModelQueueFull at once (the server answers 503 with Retry-After); it never blocks without bound.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable, Sequence

from ragbot.errors import ConfigError, RagbotError


class ModelQueueFull(RagbotError):
    """Every model instance is busy and the wait queue is full (or the wait timed out).
    retry_after_s: a suggested wait in whole seconds (>= 1)."""

    def __init__(self, message: str, retry_after_s: int = 1):
        super().__init__(message)
        self.retry_after_s = max(1, int(retry_after_s))


class ModelPool:
    """Generator protocol over `generators` (one model instance each).

    max_queue: turns allowed to wait for an instance beyond those running (>= 0).
    timeout_s: longest wait for an instance before ModelQueueFull (seconds).
    Attributes read by /metrics: `waiting` (queue depth), `busy` (instances generating),
    `avg_generate_s` (exponential moving average of one call, seconds).
    """

    def __init__(self, generators: Sequence, max_queue: int = 8, timeout_s: float = 120.0):
        if not generators:
            raise ConfigError("ModelPool needs at least one generator instance")
        if max_queue < 0:
            raise ConfigError(f"max_queue must be >= 0, got {max_queue}")
        self.instances = list(generators)
        self.max_queue = int(max_queue)
        self.timeout_s = float(timeout_s)
        self._free = list(self.instances)
        self._cond = threading.Condition()
        self._load_lock = threading.Lock()
        self.waiting = 0
        self.busy = 0
        self.calls = 0
        self.avg_generate_s = 1.0

    # ---------------------------------------------------------------- Generator protocol
    @property
    def name(self) -> str:
        return getattr(self.instances[0], "name", type(self.instances[0]).__name__)

    def __getattr__(self, attr):  # config, model_path, format_prompt, ...: the first instance's
        if attr == "instances":
            raise AttributeError(attr)
        return getattr(self.instances[0], attr)

    def count_tokens(self, text: str) -> int:
        """Tokenizer only (no context state), safe beside a running generation."""
        return self.instances[0].count_tokens(text)

    def warm_up(self) -> "ModelPool":
        """Load every instance, one after another under one lock (llama-cpp-python's
        verbose=False redirects the process's stdout/stderr while loading; that is not
        thread-safe)."""
        with self._load_lock:
            for g in self.instances:
                if hasattr(g, "warm_up"):
                    g.warm_up()
        return self

    def generate(self, messages, **kwargs):
        """Run `generate` on a free instance (waiting in the bounded queue); raises ModelQueueFull."""
        inst = self._acquire()
        t0 = time.perf_counter()
        try:
            return inst.generate(messages, **kwargs)
        finally:
            self._release(inst, time.perf_counter() - t0)

    # ---------------------------------------------------------------- queue
    def retry_after(self) -> int:
        """Seconds until a queued call would likely start: the queue ahead, per instance."""
        ahead = self.waiting + self.busy
        return max(1, math.ceil(self.avg_generate_s * ahead / len(self.instances)))

    def _acquire(self):
        deadline = time.monotonic() + self.timeout_s
        with self._cond:
            if not self._free and self.waiting >= self.max_queue:
                raise ModelQueueFull(f"the model queue is full ({self.busy} generating, {self.waiting} waiting); "
                                     "retry shortly", self.retry_after())
            self.waiting += 1
            try:
                while not self._free:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self._cond.wait(left) and not self._free:
                        raise ModelQueueFull(f"no model instance was free within {self.timeout_s:.0f} s; retry shortly",
                                             self.retry_after())
            finally:
                self.waiting -= 1
            self.busy += 1
            return self._free.pop()

    def _release(self, inst, seconds: float) -> None:
        with self._cond:
            self.busy -= 1
            self.calls += 1
            self.avg_generate_s = 0.8 * self.avg_generate_s + 0.2 * seconds if self.calls > 1 else seconds
            self._free.append(inst)
            self._cond.notify()


def default_threads(cores: int, instances: int, workers: int) -> int:
    """llama.cpp threads per instance: the cores less one (kept for the server's own work:
    query embeddings, no-model turns, HTTP), shared by instances x workers, at least 1; so
    threads x instances x workers never exceed the cores. Measured here on 2 busy cores: a turn's
    generation took 50 s with 2 threads and 10 s with 1 (llama.cpp's threads wait on each other
    when one is descheduled). Raises ConfigError when instances x workers alone exceed the cores."""
    if instances * workers > cores:
        raise ConfigError(f"{instances} model instance(s) x {workers} worker(s) need more than the {cores} cores here; "
                          "lower --models / --workers (llama.cpp slows down by orders of magnitude when its "
                          "threads outnumber free cores), or set generator.n_threads explicitly to override")
    return max(1, (cores - 1) // (instances * workers))


def build_pool(make_generator: Callable[[], object], instances: int, max_queue: int, timeout_s: float) -> ModelPool:
    """A pool of `instances` generators made by `make_generator()` (not loaded yet)."""
    return ModelPool([make_generator() for _ in range(max(1, instances))], max_queue=max_queue, timeout_s=timeout_s)
