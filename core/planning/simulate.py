"""Serving under load: a discrete-event simulation of one continuous-batching replica.

Why a numpy event loop and not simpy: the server has a single resource (the replica's step
loop) and the only events are arrivals, step ends and completions; simpy would add a
dependency and a generator per request without modelling anything more. Between events the
batch is fixed, so the loop advances whole runs of decode steps at once (one vectorised
interpolation and a cumulative sum), which makes 1,000-request simulations take tens of
milliseconds. Step times come from :class:`~tokenfab.planning.steptimes.StepTimes` tables.

Scheduler (vLLM V1 / SGLang style, first come first served):

* **admission**: waiting requests join the batch in arrival order while fewer than
  ``max_batch`` sequences run and the KV cache has room for the prompt plus one token per running
  sequence (headroom for the next step, so a just-preempted sequence is not readmitted at once);
* **chunked prefill**: each step carries one token per decoding sequence plus prompt tokens up
  to a budget of ``chunk_tokens`` per step (8192, vLLM's default ``max_num_batched_tokens``);
  the step that completes a prompt samples its first token (TTFT ends there);
* **KV capacity and preemption**: every sequence holds its prompt and generated tokens; when
  the next decode step would overflow the cache, the most recently admitted sequence is
  preempted (its cache dropped, vLLM's recompute mode) and re-queued first; on readmission it
  re-prefills its prompt and the tokens it had generated.

Metrics per request: TTFT = first token - arrival; TPOT = (finish - first token) / (O - 1);
E2E = finish - arrival. Goodput = requests per second meeting the SLO (TTFT and TPOT limits),
as ``vllm bench serve --goodput`` and DistServe define it.

Arrivals: Poisson at ``rate`` per second (exponential gaps from ``numpy.random.default_rng(seed)``),
or a trace. Replicas: a Poisson stream split at random over ``r`` replicas is ``r`` independent
Poisson streams of ``rate / r``, so one replica is simulated at that rate; a trace is split at
random over the replicas, each simulated, and the requests pooled.
"""

from __future__ import annotations

import csv
import json
import math
from collections import deque
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from .. import bounds
from ..deployment import Deployment, Workload
from ..errors import ValidationError
from .slo import SLO
from .steptimes import StepTimes

#: Most requests one simulation draws (``requests``, or ``rate * duration``): the scheduler loop
#: serves a few thousand requests per second of wall time (2,500/s measured, 1e5 requests of
#: llama-3.2-1b on one core), so 1e6 is a run of minutes, never an unbounded one.
MAX_REQUESTS = 10**6


def check_seed(seed: Any) -> int:
    """A seed numpy's generator takes: an integer in ``[0, 2**63)``."""
    return bounds.check_int("seed", seed, 0, 2**63 - 1)


PERCENTILES = (50, 90, 99)


@attrs.frozen(kw_only=True)
class Trace:
    """Requests: arrival times (s, non-decreasing), prompt and output tokens."""

    arrival_s: np.ndarray = attrs.field(eq=False)
    input_tokens: np.ndarray = attrs.field(eq=False)
    output_tokens: np.ndarray = attrs.field(eq=False)

    def __attrs_post_init__(self) -> None:
        n = len(self.arrival_s)
        if n == 0:
            raise ValidationError("trace: needs at least one request")
        if len(self.input_tokens) != n or len(self.output_tokens) != n:
            raise ValidationError("trace: arrival_s, input_tokens and output_tokens must have the same length")
        if not np.all(np.isfinite(self.arrival_s)) or np.any(np.diff(self.arrival_s) < 0) or self.arrival_s[0] < 0:
            raise ValidationError("trace: arrival times must be finite, >= 0 and non-decreasing")
        for name in ("input_tokens", "output_tokens"):
            if np.any(getattr(self, name) < 1):
                raise ValidationError(f"trace: {name} must be >= 1 for every request")

    @classmethod
    def poisson(
        cls,
        rate: float,
        *,
        input_tokens: int,
        output_tokens: int,
        seed: int = 0,
        requests: int | None = None,
        duration: float | None = None,
    ) -> Trace:
        """Poisson arrivals at ``rate`` requests/s: ``requests`` of them, or all within ``duration`` s."""
        if isinstance(rate, bool) or not math.isfinite(rate) or rate <= 0:
            raise ValidationError(f"rate: must be a number of requests/s > 0, got {rate!r}")
        rng = np.random.default_rng(check_seed(seed))
        if requests is not None:
            requests = bounds.check_int("requests", requests, 1, MAX_REQUESTS)
        if duration is not None:
            bounds.check_number("duration", duration, 0.0, MAX_REQUESTS / rate, low_inclusive=False)
        if requests is None:
            horizon = float(duration if duration is not None else 1000.0 / rate)
            n = int(rate * horizon + 6 * math.sqrt(rate * horizon) + 10)
            times = np.cumsum(rng.exponential(1.0 / rate, n))
            times = times[times <= horizon]
        else:
            times = np.cumsum(rng.exponential(1.0 / rate, int(requests)))
        if times.size == 0:
            raise ValidationError(f"duration: no request arrives within {duration} s at rate {rate}/s")
        n = times.size
        inputs, outputs = np.full(n, int(input_tokens)), np.full(n, int(output_tokens))
        return cls(arrival_s=times, input_tokens=inputs, output_tokens=outputs)

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        """CSV (header) or JSONL with ``arrival_s`` (or ``timestamp``), ``input_tokens``, ``output_tokens``."""
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ValidationError(f"trace: cannot read {str(path)!r}: {exc.strerror}") from None
        if path.suffix in (".jsonl", ".json"):
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            records = list(csv.DictReader(text.splitlines()))
        try:
            arrivals = np.array([float(r.get("arrival_s", r.get("timestamp"))) for r in records])
            inputs = np.array([int(float(r["input_tokens"])) for r in records])
            outputs = np.array([int(float(r["output_tokens"])) for r in records])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                f"trace: each record needs arrival_s (or timestamp), input_tokens and output_tokens ({exc})"
            ) from None
        order = np.argsort(arrivals, kind="stable")
        return cls(arrival_s=arrivals[order], input_tokens=inputs[order], output_tokens=outputs[order])


@attrs.frozen(kw_only=True)
class Served:
    """Per-request times of one simulation (seconds), and the preemptions it needed."""

    arrival_s: np.ndarray = attrs.field(eq=False)
    first_token_s: np.ndarray = attrs.field(eq=False)
    finish_s: np.ndarray = attrs.field(eq=False)
    output_tokens: np.ndarray = attrs.field(eq=False)
    preemptions: int


def run_replica(
    trace: Trace, steps: StepTimes, *, max_batch: int, kv_capacity_tokens: float, chunk_tokens: int = 8192
) -> Served:
    """Simulate one replica serving ``trace`` (see module docstring for the scheduler)."""
    sim = _Replica(trace, steps, max_batch, kv_capacity_tokens, chunk_tokens)
    sim.run()
    return Served(
        arrival_s=trace.arrival_s,
        first_token_s=sim.first,
        finish_s=sim.finish,
        output_tokens=trace.output_tokens,
        preemptions=sim.preemptions,
    )


class _Replica:
    """The event loop of :func:`run_replica`; request state lives in arrays indexed by request."""

    def __init__(self, trace: Trace, steps: StepTimes, max_batch: int, kv_capacity: float, chunk: int):
        n = len(trace.arrival_s)
        self.arrival, self.steps, self.max_batch = trace.arrival_s, steps, int(max_batch)
        self.capacity, self.chunk = float(kv_capacity), int(chunk)
        self.inp = trace.input_tokens.astype(np.int64)
        self.out = trace.output_tokens.astype(np.int64)
        self.target = self.inp.copy()  # tokens to prefill (prompt, plus generated ones after a preemption)
        self.done = np.zeros(n, dtype=np.int64)  # prefilled tokens
        self.gen = np.zeros(n, dtype=np.int64)  # generated tokens
        self.kv = np.zeros(n, dtype=np.int64)  # cache tokens held
        self.first, self.finish = np.full(n, np.nan), np.full(n, np.nan)
        self.waiting: deque[int] = deque()
        self.running: list[int] = []
        self.next, self.now, self.used, self.preemptions = 0, 0.0, 0, 0

    def run(self) -> None:
        n, finished = len(self.arrival), 0
        while finished < n:
            while self.next < n and self.arrival[self.next] <= self.now:
                self.waiting.append(self.next)
                self.next += 1
            self._admit()
            if not self.running:
                if self.waiting:
                    i = self.waiting[0]
                    raise ValidationError(
                        f"trace: a request of {int(self.target[i])} prompt tokens exceeds the "
                        f"{int(self.capacity)}-token KV cache of a replica"
                    )
                self.now = max(self.now, float(self.arrival[self.next]))
                continue
            prefilling = [i for i in self.running if self.done[i] < self.target[i]]
            finished += self._mixed_step(prefilling) if prefilling else self._decode_run()

    def _admit(self) -> None:
        while self.waiting and len(self.running) < self.max_batch:
            i = self.waiting[0]
            # Admit only with a token of headroom for every running sequence's next step, so a
            # sequence just preempted for room cannot be readmitted at once (no livelock).
            if self.used + self.target[i] + len(self.running) + 1 > self.capacity:
                return
            self.waiting.popleft()
            self.running.append(i)
            self.kv[i] = self.target[i]
            self.used += int(self.target[i])

    def _preempt(self) -> int:
        """Drop the newest sequence's cache and re-queue it first (recompute on readmission)."""
        i = self.running.pop()
        self.used -= int(self.kv[i])
        self.kv[i], self.done[i] = 0, 0
        self.target[i] = self.inp[i] + self.gen[i]
        self.waiting.appendleft(i)
        self.preemptions += 1
        return 0

    def _emit(self, ids: np.ndarray, tokens: int) -> int:
        """``ids`` each gain ``tokens`` tokens at ``now``; finished ones leave. Returns how many finished."""
        self.gen[ids] += tokens
        self.kv[ids] += tokens
        self.used += tokens * len(ids)
        self.first[ids] = np.where(np.isnan(self.first[ids]), self.now, self.first[ids])
        done = ids[self.gen[ids] >= self.out[ids]]
        if done.size:
            self.finish[done] = self.now
            self.used -= int(self.kv[done].sum())
            gone = set(done.tolist())
            self.running = [i for i in self.running if i not in gone]
        return int(done.size)

    def _mixed_step(self, prefilling: list[int]) -> int:
        decoding = np.array([i for i in self.running if self.done[i] >= self.target[i]], dtype=np.int64)
        if self.used + decoding.size > self.capacity and len(self.running) > 1:
            return self._preempt()
        budget = max(self.chunk - decoding.size, 1)
        chunks: list[tuple[int, int]] = []
        for i in prefilling:
            size = int(min(self.target[i] - self.done[i], budget))
            if size <= 0:
                break
            chunks.append((i, size))
            budget -= size
        context = float(self.kv[decoding].mean()) if decoding.size else 0.0
        self.now += self.steps.step(decoding.size, context, sum(size for _, size in chunks))
        for i, size in chunks:
            self.done[i] += size
        completed = np.array([i for i, _ in chunks if self.done[i] >= self.target[i]], dtype=np.int64)
        ids = np.concatenate([decoding, completed])
        return self._emit(ids, 1) if ids.size else 0

    def _decode_run(self) -> int:
        """Advance decode steps until the next completion, admissible arrival or full cache."""
        ids = np.array(self.running, dtype=np.int64)
        room = int((self.capacity - self.used) // ids.size)
        if room < 1:
            return self._preempt() if len(self.running) > 1 else self._emit(ids, 1)
        k = int(min((self.out[ids] - self.gen[ids]).min(), room))
        cum = np.cumsum(self.steps.decode(ids.size, self.kv[ids].mean() + np.arange(k)))
        if self.next < len(self.arrival) and len(self.running) < self.max_batch:
            k = min(k, int(np.searchsorted(cum, self.arrival[self.next] - self.now, side="left")) + 1)
        self.now += float(cum[k - 1])
        if k > 1:  # all but the last step: tokens only (no sequence can finish before step k)
            self.gen[ids] += k - 1
            self.kv[ids] += k - 1
            self.used += (k - 1) * ids.size
        return self._emit(ids, 1)


@attrs.frozen(kw_only=True)
class Simulation:
    """Latency percentiles (seconds), throughput and goodput of a simulated deployment.

    ``percentiles[metric][p]`` for metric in ttft_s, tpot_s, e2e_s and p in 50, 90, 99.
    ``tokens_per_s``: output tokens / the span from first arrival to last completion;
    ``goodput_rps``: requests meeting the SLO per second over the same span."""

    model: str
    backend: str
    replicas: int
    max_batch_per_replica: int
    kv_capacity_tokens: float
    rate: float | None
    requests: int
    duration_s: float
    percentiles: dict
    tokens_per_s: float
    requests_per_s: float
    goodput_rps: float
    goodput_fraction: float
    preemptions: int
    slo: SLO
    served: Served = attrs.field(repr=False, eq=False)

    def percentile(self, metric: str, p: float) -> float:
        """The ``p``-th percentile of ``metric`` (ttft_s, tpot_s or e2e_s) over the requests."""
        return _percentile(_metrics(self.served)[metric], p)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in attrs.fields(type(self)) if f.name not in ("served", "slo")}
        out["slo"] = self.slo.to_dict()
        return out


def _metrics(served: Served) -> dict[str, np.ndarray]:
    ttft = served.first_token_s - served.arrival_s
    steps = np.maximum(served.output_tokens - 1, 1)
    tpot = np.where(served.output_tokens > 1, (served.finish_s - served.first_token_s) / steps, 0.0)
    return {"ttft_s": ttft, "tpot_s": tpot, "e2e_s": served.finish_s - served.arrival_s}


def _percentile(values: np.ndarray, p: float) -> float:
    return float(np.percentile(values, p, method="higher"))


def summarise(served: Served, slo: SLO) -> dict[str, Any]:
    """Percentiles, throughput and goodput of ``served`` requests (see :class:`Simulation`)."""
    metrics = _metrics(served)
    span = max(float(np.max(served.finish_s) - np.min(served.arrival_s)), 1e-12)
    good = np.ones(served.arrival_s.size, dtype=bool)
    if slo.ttft_s is not None:
        good &= metrics["ttft_s"] <= slo.ttft_s
    if slo.tpot_s is not None:
        good &= metrics["tpot_s"] <= slo.tpot_s
    return {
        "percentiles": {m: {str(p): _percentile(v, p) for p in PERCENTILES} for m, v in metrics.items()},
        "tokens_per_s": float(served.output_tokens.sum()) / span,
        "requests_per_s": served.arrival_s.size / span,
        "goodput_rps": float(good.sum()) / span,
        "goodput_fraction": float(good.mean()),
        "duration_s": span,
    }


def _field(obj: Any, name: str, default: Any = None) -> Any:
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def simulate(
    model: Any,
    deployment: Any,
    workload: Any,
    *,
    slo: SLO | dict | None = None,
    seed: int = 0,
    requests: int | None = None,
    duration: float | None = None,
    trace: Trace | str | Path | None = None,
    registry: Any = None,
) -> Simulation:
    """Simulate ``deployment`` (a dict or ``tokenfab.Deployment``: backend, devices, tp, pp, ep,
    weights, activations, kv; ``None`` fields use the defaults) serving ``workload`` (input and
    output tokens, ``batch`` = most concurrent sequences over all replicas, ``rate`` in requests/s).

    Arrivals: Poisson at ``workload.rate`` (``requests`` of them, default 1000, or those within
    ``duration`` s), or ``trace`` (a :class:`Trace` or a CSV/JSONL path)."""
    from ..cost.engine import make_plan

    slo = SLO.of(slo)
    seed = check_seed(seed)
    inp = bounds.check_int("input_tokens", _field(workload, "input_tokens"), 1)
    out = bounds.check_int("output_tokens", _field(workload, "output_tokens"), 1)
    bounds.check_type("trace", trace, (Trace, str, Path), "a Trace or a CSV/JSONL path")
    if requests is not None and duration is not None:
        raise ValidationError("requests: give requests or duration, not both", field="requests")
    if _field(workload, "speculative") is not None:
        raise ValidationError("speculative: the load simulator does not model speculative decoding yet")
    batch = int(_field(workload, "batch", 1) or 1)
    if isinstance(deployment, dict):
        deployment = Deployment.from_dict(deployment)
    plan = make_plan(model, batch=batch, kv_tokens=inp + out, step_tokens=1, deployment=deployment, registry=registry)
    replicas = plan.replicas
    per_replica = max(1, math.ceil(batch / replicas))
    if isinstance(trace, (str, Path)):
        trace = Trace.load(trace)
    rate = _field(workload, "rate")
    capacity = kv_capacity_tokens(plan, per_replica)
    longest = inp + out if trace is None else int(np.max(trace.input_tokens + trace.output_tokens))
    host = _field(workload, "host_s_per_sequence", 0.0)  # checked as a Workload field when the workload is a dict
    host = Workload(input_tokens=inp, output_tokens=out, host_s_per_sequence=host).host_s_per_sequence
    steps = StepTimes.from_plan(
        plan, max_batch=per_replica, max_context=longest, chunk_tokens=8192, host_s_per_sequence=host
    )
    if trace is None:
        if rate is None:
            raise ValidationError("rate: give a request rate (requests/s) or a trace to simulate")
        one = Trace.poisson(
            rate / replicas,
            input_tokens=inp,
            output_tokens=out,
            seed=seed,
            requests=requests if requests is not None or duration is not None else 1000,
            duration=None if duration is None else duration,
        )
        served = run_replica(one, steps, max_batch=per_replica, kv_capacity_tokens=capacity)
    else:
        served = _run_split(trace, steps, replicas, seed, per_replica, capacity)
    stats = summarise(served, slo)
    scale = replicas if trace is None else 1
    return Simulation(
        model=plan.model.id,
        backend=plan.backend.id,
        replicas=replicas,
        max_batch_per_replica=per_replica,
        kv_capacity_tokens=capacity,
        rate=None if rate is None and trace is None else (rate if trace is None else stats["requests_per_s"]),
        requests=int(served.arrival_s.size * scale),
        duration_s=stats["duration_s"],
        percentiles=stats["percentiles"],
        tokens_per_s=stats["tokens_per_s"] * scale,
        requests_per_s=stats["requests_per_s"] * scale,
        goodput_rps=stats["goodput_rps"] * scale,
        goodput_fraction=stats["goodput_fraction"],
        preemptions=served.preemptions * scale,
        slo=slo,
        served=served,
    )


def kv_capacity_tokens(plan: Any, batch: int) -> float:
    """KV-cache tokens one replica holds: the KV level's usable bytes less weights and workspace
    (at ``batch`` sequences), over the cache bytes per token, times the ``ep`` attention groups."""
    empty = plan.memory_per_device(np.float64(batch), np.float64(0.0), np.float64(1.0))
    free = plan.usable_bytes(plan.kv_level) - float(empty.get(plan.kv_level, 0.0))
    if free <= 0 or plan.kv_bytes_per_token <= 0:
        return 0.0 if free <= 0 else math.inf
    return free / plan.kv_bytes_per_token * plan.mapping.ep


def _run_split(trace: Trace, steps: StepTimes, replicas: int, seed: int, max_batch: int, capacity: float) -> Served:
    """Spread a trace at random over ``replicas`` and pool the per-request times."""
    owner = np.random.default_rng(seed).integers(0, replicas, trace.arrival_s.size) if replicas > 1 else None
    first, finish = np.full(trace.arrival_s.size, np.nan), np.full(trace.arrival_s.size, np.nan)
    preemptions = 0
    for r in range(replicas):
        mask = slice(None) if owner is None else owner == r
        if owner is not None and not np.any(mask):
            continue
        part = Trace(
            arrival_s=trace.arrival_s[mask],
            input_tokens=trace.input_tokens[mask],
            output_tokens=trace.output_tokens[mask],
        )
        served = run_replica(part, steps, max_batch=max_batch, kv_capacity_tokens=capacity)
        first[mask], finish[mask] = served.first_token_s, served.finish_s
        preemptions += served.preemptions
    return Served(
        arrival_s=trace.arrival_s,
        first_token_s=first,
        finish_s=finish,
        output_tokens=trace.output_tokens,
        preemptions=preemptions,
    )
