"""Sweeps: step costs over a grid of scenarios on many backends, in bounded memory.

**The grid language** (the same keys in :func:`sweep` and ``tokenfab sweep``). A grid has the axes
``batch``, ``context`` and ``tokens``; each axis is one of

* a number: ``8``;
* a list: ``[1, 8, 32]``, or on the command line ``1,8,32``;
* an inclusive range: ``"1:256"`` (step 1) or ``"1024:16384:1024"`` (start:stop:step);
* a numpy array. When any axis has more than one dimension the axes broadcast as numpy arrays
  do (``batch=b[:, None], context=c[None, :]``); otherwise the grid is their outer product,
  ordered backend, batch, context, tokens (the last axis varies fastest).

**Evaluation.** Each backend gets one plan, sized for the grid's largest scenario (the fewest
devices that hold it unless the deployment fixes them); the grid is then evaluated in chunks of
``chunk`` scenarios (default 65,536), so memory stays bounded whatever the grid's size, and each
chunk's rows are written before the next is computed. Scenarios that do not fit are kept with
``fits = False``; a backend that cannot run the model at all gives one row with its ``error``.

**Outputs** (``out=``, chosen by the file's suffix): ``.csv``; ``.jsonl`` (JSON lines);
``.parquet`` and ``.arrow`` (Arrow IPC), which need ``pip install tokenfab[arrow]``; or, with no
``out``, an in-memory :class:`SweepResult` (columns as numpy arrays; ``rows``, ``to_dict``,
``to_pandas``, ``to_arrow``) for grids up to ``TOKENFAB_MAX_SCENARIOS`` scenarios per backend
(default 100,000; see :mod:`tokenfab.bounds`).

**Past one machine.** ``executor=`` a Dask ``distributed.Client``, a scheduler address
(``"tcp://host:8786"``) or a worker count (a ``LocalCluster`` of that many processes) spreads
the chunks over the cluster; rows come back in grid order, identical to a local run (see
docs/performance.md). Needs ``pip install tokenfab[dask]``.

Columns: backend, devices, batch (all replicas'), context, tokens, seconds, joules (the
replica's energy for the step), tokens_per_s (``batch * tokens / seconds``), bound, fits,
memory_per_device_bytes, status (see :data:`tokenfab.serving.ROW_STATUSES`), error.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
import numpy as np

from .. import bounds
from ..errors import ValidationError

#: Scenarios evaluated per chunk: large enough to amortise the per-call work, small enough that a
#: chunk's arrays stay a few MB.
CHUNK = 65536
COLUMNS = (
    "backend",
    "devices",
    "batch",
    "context",
    "tokens",
    "seconds",
    "joules",
    "tokens_per_s",
    "bound",
    "fits",
    "memory_per_device_bytes",
    "status",
    "error",
)
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".arrow": "arrow"}
AXES = ("batch", "context", "tokens")


# -- the grid -----------------------------------------------------------------------------


def parse_axis(name: str, value: Any) -> np.ndarray:
    """One axis of the grid language as a float64 array of whole numbers (see module docstring)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            if ":" in text:
                parts = [int(p) for p in text.split(":")]
                if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] < 1):
                    raise ValueError
                start, stop, stride = parts[0], parts[1], parts[2] if len(parts) == 3 else 1
                if (stop - start) // stride > 10**7:  # refuse before allocating, not run out of memory
                    raise ValueError
                value = np.arange(start, stop + 1, stride)
            else:
                value = [int(p) for p in text.split(",") if p.strip()]
        except ValueError:
            raise ValidationError(
                f"{name}: expected a number, comma-separated numbers or START:STOP[:STEP], got {value!r}"
            ) from None
    from .. import bounds  # types, booleans, fractions, NaN, range and size: one error naming the axis

    return bounds.check_array(name, value, 0 if name == "context" else 1)


@attrs.frozen
class Grid:
    """Axes broadcast to ``shape`` (views, never materialised); scenario ``i`` is flat index ``i``."""

    batch: np.ndarray
    context: np.ndarray
    tokens: np.ndarray
    shape: tuple[int, ...]

    @classmethod
    def of(cls, batch: Any, context: Any, tokens: Any) -> Grid:
        axes = [parse_axis(name, v) for name, v in zip(AXES, (batch, context, tokens), strict=True)]
        if all(a.ndim <= 1 for a in axes):  # outer product of the listed values
            axes = [a.reshape([-1 if k == i else 1 for k in range(3)]) for i, a in enumerate(axes)]
        try:
            shape = np.broadcast_shapes(*(a.shape for a in axes))
        except ValueError:
            shapes = ", ".join(f"{name} {a.shape}" for name, a in zip(AXES, axes, strict=True))
            raise ValidationError(f"batch: the grid's axes do not broadcast together ({shapes})") from None
        return cls(*axes, shape=tuple(shape))

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def maxima(self) -> tuple[float, float, float]:
        return float(self.batch.max()), float(self.context.max()), float(self.tokens.max())

    def take(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(batch, context, tokens) of scenarios ``start .. stop - 1``, as 1-D arrays."""
        index = np.unravel_index(np.arange(start, stop, dtype=np.int64), self.shape)

        def pick(axis: np.ndarray) -> np.ndarray:
            axis = axis.reshape((1,) * (len(self.shape) - axis.ndim) + axis.shape)
            picked = axis[tuple(ix if n > 1 else 0 for ix, n in zip(index, axis.shape, strict=True))]
            return np.broadcast_to(picked, (stop - start,))

        return pick(self.batch), pick(self.context), pick(self.tokens)


# -- evaluation of one chunk ----------------------------------------------------------------


def evaluate_chunk(plan: Any, phase: str, grid: Grid, start: int, stop: int) -> dict[str, np.ndarray]:
    """Columns for scenarios ``start .. stop - 1`` of ``grid`` under ``plan`` (bound as an int code)."""
    from .. import bounds
    from ..cost.fastpath import step_totals

    batch, context, tokens = grid.take(start, stop)
    totals = step_totals(plan, phase, np.ceil(batch / plan.replicas), tokens, context)
    bounds.check_finite({"seconds": totals.seconds, "joules": totals.joules}, "step cost")
    return {
        "batch": batch.astype(np.int64),
        "context": context.astype(np.int64),
        "tokens": tokens.astype(np.int64),
        "seconds": totals.seconds,
        "joules": totals.joules,
        "tokens_per_s": batch * tokens / totals.seconds,
        "bound": totals.bound_code,
        "fits": totals.fits,
        "memory_per_device_bytes": totals.memory_per_device_bytes,
    }


def _plan_for(model: Any, backend_id: str, phase: str, grid: Grid, registry: Any, options: dict) -> Any:
    from ..cost.engine import make_plan

    b, c, t = grid.maxima()
    return make_plan(model, backend_id, batch=b, kv_tokens=c + t, step_tokens=t, registry=registry, **options)


# -- writers ----------------------------------------------------------------------------------


def _bound_names(codes: np.ndarray) -> np.ndarray:
    from ..cost.kernel import BOUND_NAMES

    return np.asarray(BOUND_NAMES, dtype=object)[codes.astype(np.intp)]


class _Frame:
    """In-memory sink: concatenated columns."""

    def __init__(self) -> None:
        self.parts: list[dict[str, Any]] = []

    def write(self, backend: str, devices: int | None, cols: dict[str, np.ndarray] | None, error: Any) -> None:
        self.parts.append({"backend": backend, "devices": devices, "cols": cols, "error": error})

    def close(self) -> None:
        pass


class _Csv:
    def __init__(self, path: str, jsonl: bool = False) -> None:
        self.file, self.jsonl, self.header = open(path, "w", newline=""), jsonl, False

    def write(self, backend: str, devices: int | None, cols: dict[str, np.ndarray] | None, error: Any) -> None:
        if not self.jsonl and not self.header:
            self.file.write(",".join(COLUMNS) + "\n")
            self.header = True
        if cols is None:
            row = {k: None for k in COLUMNS} | {"backend": backend, "status": error[0], "error": error[1]}
            self.file.write(json.dumps(row) + "\n" if self.jsonl else _csv_line(row))
            return
        self.file.write("".join(_lines(backend, devices, cols, self.jsonl)))

    def close(self) -> None:
        self.file.close()


def _csv_line(row: dict) -> str:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerow(["" if row[k] is None else row[k] for k in COLUMNS])
    return buffer.getvalue().replace("\r\n", "\n")


def _lines(backend: str, devices: int | None, cols: dict[str, np.ndarray], jsonl: bool) -> Iterator[str]:
    names = _bound_names(cols["bound"])
    zipped = zip(
        cols["batch"].tolist(),
        cols["context"].tolist(),
        cols["tokens"].tolist(),
        cols["seconds"].tolist(),
        cols["joules"].tolist(),
        cols["tokens_per_s"].tolist(),
        names.tolist(),
        cols["fits"].tolist(),
        cols["memory_per_device_bytes"].tolist(),
        strict=True,
    )
    if jsonl:
        head = f'{{"backend": {json.dumps(backend)}, "devices": {devices}, '
        for b, c, t, s, j, r, bound, fits, mem in zipped:
            yield (
                f'{head}"batch": {b}, "context": {c}, "tokens": {t}, "seconds": {s!r}, "joules": {j!r}, '
                f'"tokens_per_s": {r!r}, "bound": "{bound}", "fits": {"true" if fits else "false"}, '
                f'"memory_per_device_bytes": {mem!r}, "status": "ok", "error": null}}\n'
            )
        return
    quoted = f'"{backend}"' if "," in backend or '"' in backend else backend
    for b, c, t, s, j, r, bound, fits, mem in zipped:
        yield f"{quoted},{devices},{b},{c},{t},{s!r},{j!r},{r!r},{bound},{fits},{mem!r},ok,\n"


def _arrow_table(backend: str, devices: int | None, cols: dict[str, np.ndarray] | None, error: Any):
    import pyarrow as pa

    n = 1 if cols is None else len(cols["seconds"])
    get = (lambda k, t: pa.nulls(1, t)) if cols is None else (lambda k, t: pa.array(cols[k], t))
    return pa.table(
        {
            "backend": pa.array([backend] * n, pa.string()),
            "devices": pa.array([devices] * n, pa.int64()),
            "batch": get("batch", pa.int64()),
            "context": get("context", pa.int64()),
            "tokens": get("tokens", pa.int64()),
            "seconds": get("seconds", pa.float64()),
            "joules": get("joules", pa.float64()),
            "tokens_per_s": get("tokens_per_s", pa.float64()),
            "bound": pa.nulls(1, pa.string()) if cols is None else pa.array(_bound_names(cols["bound"]), pa.string()),
            "fits": get("fits", pa.bool_()),
            "memory_per_device_bytes": get("memory_per_device_bytes", pa.float64()),
            "status": pa.array(["ok" if error is None else error[0]] * n, pa.string()),
            "error": pa.array([None if error is None else error[1]] * n, pa.string()),
        }
    )


class _Arrow:
    def __init__(self, path: str, parquet: bool) -> None:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValidationError(
                f"out: writing {os.path.basename(path)} needs pyarrow (pip install tokenfab[arrow]); "
                "or give a .csv or .jsonl file"
            ) from None
        self.path, self.parquet, self.writer = path, parquet, None

    def write(self, backend: str, devices: int | None, cols: dict[str, np.ndarray] | None, error: Any) -> None:
        import pyarrow as pa

        table = _arrow_table(backend, devices, cols, error)
        if self.writer is None:
            if self.parquet:
                import pyarrow.parquet as pq

                self.writer = pq.ParquetWriter(self.path, table.schema)
            else:
                self.writer = pa.ipc.new_file(self.path, table.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _sink(out: str | None) -> Any:
    if out is None:
        return _Frame()
    suffix = os.path.splitext(str(out))[1].lower()
    kind = FORMATS.get(suffix)
    if kind is None:
        raise ValidationError(f"out: file suffix must be one of {', '.join(FORMATS)}, got {str(out)!r}")
    if kind in ("csv", "jsonl"):
        return _Csv(str(out), jsonl=kind == "jsonl")
    return _Arrow(str(out), parquet=kind == "parquet")


# -- the result ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SweepResult:
    """A sweep: where its rows went (``out``), how many, and for in-memory sweeps the columns."""

    phase: str
    scenarios: int
    out: str | None = None
    columns: dict[str, np.ndarray] | None = attrs.field(default=None, repr=False, eq=False)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """One dict per row (in-memory sweeps only), bound as a name."""
        if self.columns is None:
            raise ValidationError(f"rows: this sweep was written to {self.out}; read it from there")
        cols = self.columns
        listed = {k: cols[k].tolist() for k in COLUMNS}
        return [{k: listed[k][i] for k in COLUMNS} for i in range(len(cols["backend"]))]

    failed: bool = False  # some backend's rows could not be computed (status ``error``)

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "scenarios": self.scenarios, "out": self.out, "rows": self.rows}

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame({k: self.columns[k] for k in COLUMNS}) if self.columns is not None else pd.DataFrame()

    def to_arrow(self) -> Any:
        import pyarrow as pa

        return pa.Table.from_pylist(self.rows)


def _frame_columns(frame: _Frame) -> dict[str, np.ndarray]:
    parts: dict[str, list] = {k: [] for k in COLUMNS}
    for part in frame.parts:
        cols, n = part["cols"], 1 if part["cols"] is None else len(part["cols"]["seconds"])
        parts["backend"].append(np.full(n, part["backend"], dtype=object))
        parts["devices"].append(np.full(n, part["devices"], dtype=object))
        status, error = ("ok", None) if part["error"] is None else part["error"]
        parts["status"].append(np.full(n, status, dtype=object))
        parts["error"].append(np.full(n, error, dtype=object))
        for key in COLUMNS[2:-2]:
            if cols is None:
                parts[key].append(np.full(1, None, dtype=object))
            elif key == "bound":
                parts[key].append(_bound_names(cols["bound"]))
            else:
                parts[key].append(cols[key])
    return {k: (np.concatenate(v) if v else np.empty(0, dtype=object)) for k, v in parts.items()}


# -- the driver ----------------------------------------------------------------------------------


def _chunks(size: int, chunk: int) -> list[tuple[int, int]]:
    return [(i, min(i + chunk, size)) for i in range(0, size, chunk)]


def _backend_error(exc: Exception) -> tuple[str, str] | None:
    """(status, message) for an error that concerns one backend and becomes its row (a fit, a
    precision it lacks, tp beyond its links, a failing pack); ``None`` for bad input."""
    from ..errors import NonFiniteError
    from .steady import _backend_specific, row_error, row_status

    if isinstance(exc, ValidationError) and not _backend_specific(exc) and not isinstance(exc, NonFiniteError):
        return None
    return row_status(exc), row_error(exc)


def sweep(
    model: Any,
    backends: Iterable[str] | str = "all",
    *,
    batch: Any = 1,
    context: Any = 0,
    tokens: Any = 1,
    phase: str = "decode",
    out: str | os.PathLike | None = None,
    executor: Any = None,
    progress: bool | Callable[[int, int], None] = False,
    chunk: int = CHUNK,
    registry: Any = None,
    **options: Any,
) -> SweepResult:
    """Step costs of ``phase`` (``"decode"`` or ``"prefill"``) over the grid ``batch`` x ``context``
    x ``tokens`` (see the module docstring for the grid language, outputs and executors) on each
    of ``backends`` (``"all"``, ``"a,b"`` or a list). ``options`` are :class:`Deployment` fields
    (``devices``, ``tp``, ``weights``, ...). ``progress=True`` draws a rich progress bar (rate,
    ETA) on stderr; a callable gets ``(done, total)`` scenarios after each chunk."""
    from ..hardware.registry import default_registry
    from .steady import _backend_ids

    if phase not in ("decode", "prefill"):
        raise ValidationError(f"phase: must be 'decode' or 'prefill', got {phase!r}")
    from ..deployment import check_deployment_fields
    from ..models.description import load_model

    chunk = bounds.check_int("chunk", chunk, 1)
    check_deployment_fields(options)
    if out is not None:
        bounds.check_writable("out", os.fspath(out))

    grid = Grid.of(batch, context, tokens)
    chunk = min(chunk, bounds.max_scenarios())  # one chunk is one engine call
    model = load_model(model)
    _, longest_context, longest_tokens = grid.maxima()
    bounds.check_context(model, longest_context, longest_tokens)  # beyond the model's context is bad input
    registry = registry or default_registry()
    ids = _backend_ids(backends, registry)
    total = grid.size * len(ids)
    limit = bounds.max_scenarios()
    if out is None and grid.size > limit:
        raise ValidationError(
            f"scenarios: {grid.size} scenarios exceed the limit of {limit} per backend kept in memory; "
            f"give out='rows.parquet' (or .csv, .jsonl, .arrow) to stream them, or raise {bounds.SCENARIOS_VARIABLE}",
            field="scenarios",
        )
    sink, failed = _sink(None if out is None else os.fspath(out)), False
    with _progress(progress, total) as advance, _executor(executor) as client:
        try:
            for backend_id in ids:
                done = 0
                try:
                    plan = _plan_for(model, backend_id, phase, grid, registry, options)
                    for cols in _evaluate(client, plan, phase, grid, chunk):
                        sink.write(backend_id, plan.devices, cols, None)
                        advance(len(cols["seconds"]))
                        done += len(cols["seconds"])
                except Exception as exc:  # noqa: BLE001 - one backend's failure is its row, never the whole sweep
                    error = _backend_error(exc)
                    if error is None:
                        raise
                    failed |= error[0] == "error"
                    sink.write(backend_id, None, None, error)
                    advance(grid.size - done)
        finally:
            sink.close()
    columns = _frame_columns(sink) if isinstance(sink, _Frame) else None
    path = None if out is None else os.fspath(out)
    return SweepResult(phase=phase, scenarios=total, out=path, columns=columns, failed=failed)


def _evaluate(client: Any, plan: Any, phase: str, grid: Grid, chunk: int) -> Iterator[dict[str, np.ndarray]]:
    """The grid's chunks in order: computed here, or on a Dask cluster with a bounded window in flight."""
    spans = _chunks(grid.size, chunk)
    if client is None:
        for start, stop in spans:
            yield evaluate_chunk(plan, phase, grid, start, stop)
        return
    window = 2 * max(len(client.scheduler_info().get("workers", {})), 1)
    plan_f, grid_f = client.scatter([plan, grid], broadcast=True, hash=False)
    pending = []
    for start, stop in spans:
        pending.append(client.submit(evaluate_chunk, plan_f, phase, grid_f, start, stop, pure=False))
        if len(pending) >= window:
            yield pending.pop(0).result()
    for future in pending:
        yield future.result()


def max_workers() -> int:
    """Most processes a local Dask cluster may start: four per CPU core (each process holds a
    Python interpreter and a chunk's arrays; past a few per core they only wait for the CPU)."""
    return 4 * (os.cpu_count() or 1)


@contextlib.contextmanager
def _executor(executor: Any) -> Iterator[Any]:
    """``None`` (local), a ``distributed.Client``, a scheduler address, or a worker count."""
    if executor is None:
        yield None
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ValidationError("executor: Dask sweeps need dask and distributed (pip install tokenfab[dask])") from None
    if isinstance(executor, Client):
        yield executor
        return
    if isinstance(executor, bool) or not isinstance(executor, (int, str)):
        raise ValidationError(f"executor: a dask Client, 'tcp://host:port' or a worker count, got {executor!r}")
    if isinstance(executor, int):
        bounds.check_int("workers", executor, 1, max_workers())
        with (
            LocalCluster(n_workers=executor, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(executor, timeout=30)
    except OSError as exc:
        raise ValidationError(f"scheduler: cannot reach the Dask scheduler at {executor!r}: {exc}") from None
    with client:
        yield client


@contextlib.contextmanager
def _progress(progress: bool | Callable[[int, int], None], total: int) -> Iterator[Callable[[int], None]]:
    if callable(progress):
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            progress(done[0], total)

        yield advance
        return
    if not progress:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(f"{task.speed or 0:,.0f} scenarios/s")

    columns = (TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), Rate(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("sweep", total=total)
        yield lambda n: bar.advance(task, n)
