"""Charts of results as PNG or SVG files, through matplotlib (``pip install 'tokenfab[plot]'``).

One colour per vendor (backends of one vendor share it and differ by marker), axes labelled with
their units, and a logarithmic axis wherever the data spans more than a decade. Each function
returns the series it drew, read back from the figure (``{label: {"x": [...], "y": [...]}}``),
so tests can hold the drawing equal to the JSON output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..bounds import check_writable
from ..errors import ValidationError

#: Vendor colours (each vendor's brand colour, moved where two would clash); others cycle tab10.
VENDOR_COLOURS = {
    "nvidia": "#76b900",
    "amd": "#ed1c24",
    "groq": "#7c3aed",
    "cerebras": "#f59e0b",
    "tpu": "#4285f4",
    "trainium": "#232f3e",
}
_MARKERS = "os^Dv<>pPX*h"
_FALLBACK = ("#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#9467bd")


def vendor_colour(backend: str) -> str:
    vendor = backend.split(":")[0]
    if vendor in VENDOR_COLOURS:
        return VENDOR_COLOURS[vendor]
    return _FALLBACK[sum(map(ord, vendor)) % len(_FALLBACK)]


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ValidationError("plot: needs matplotlib; install it with pip install 'tokenfab[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _check_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise ValidationError(f"plot: the file must end in .png or .svg, got {str(path)!r}")
    check_writable("plot", str(path))
    return path


def _spans_decades(values: list[float]) -> bool:
    positive = [v for v in values if v is not None and v > 0]
    return len(positive) > 1 and max(positive) / min(positive) > 10.0


def draw(
    series: list[tuple[str, list[float], list[float]]],
    path: str | Path,
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    lines: bool = True,
) -> dict[str, dict[str, list[float]]]:
    """Draw ``(label, x, y)`` series (label starting with the backend id) to ``path``; return them
    as read back from the figure."""
    path = _check_path(path)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
    seen: dict[str, int] = {}
    for label, xs, ys in series:
        vendor = label.split(":")[0]
        marker = _MARKERS[seen.get(vendor, 0) % len(_MARKERS)]
        seen[vendor] = seen.get(vendor, 0) + 1
        ax.plot(xs, ys, marker=marker, linestyle="-" if lines else "none", color=vendor_colour(label), label=label)
    xs_all = [x for _, xs, _ in series for x in xs]
    ys_all = [y for _, _, ys in series for y in ys]
    if _spans_decades(xs_all):
        ax.set_xscale("log")
    if _spans_decades(ys_all):
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    if series:
        ax.legend(fontsize="small", ncol=2 if len(series) > 8 else 1)
    fig.savefig(path)
    drawn = {
        line.get_label(): {"x": [float(v) for v in line.get_xdata()], "y": [float(v) for v in line.get_ydata()]}
        for line in ax.get_lines()
    }
    plt.close(fig)
    return drawn


_USER = "output tokens/s per user (1 / TPOT)"
_USD = "$ per million output tokens"


def plot_pareto(result: Any, path: str | Path) -> dict:
    """Each backend's front: tokens/s per device (or $/Mtok) against tokens/s per user."""
    ylabel = "output tokens/s per device" if result.metric == "tokens_per_s_per_device" else _USD
    series = [(backend, s["x"], s["y"]) for backend, s in result.series().items()]
    title = f"{result.model}: {result.input_tokens} in / {result.output_tokens} out, Pareto front per backend"
    return draw(series, path, xlabel=_USER, ylabel=ylabel, title=title)


def plot_plan(result: Any, path: str | Path) -> dict:
    """Each deployment the planner returns: $/Mtok against tokens/s per user (one point per row)."""
    series = []
    for row in result.rows:
        cost = row.usd_per_mtok if row.simulated is None else row.simulated["usd_per_mtok_at_rate"]
        if cost is not None:
            label = f"{row.backend} {row.devices}x {row.weights}" + (" spec" if row.speculative else "")
            series.append((label, [row.tokens_per_s_per_user], [cost]))
    title = f"{result.model}: deployments meeting {result.slo.describe()}"
    return draw(series, path, xlabel=_USER, ylabel=_USD, title=title, lines=False)


def plot_compare(rows: list[dict], path: str | Path, *, title: str) -> dict:
    """Compare rows (dicts with backend, tokens_per_s_per_user, usd_per_mtok): one line per backend
    joining its points (e.g. interactive and throughput)."""
    by_backend: dict[str, tuple[list[float], list[float]]] = {}
    for row in rows:
        if row.get("usd_per_mtok") is not None and row.get("tokens_per_s_per_user") is not None:
            xs, ys = by_backend.setdefault(row["backend"], ([], []))
            xs.append(row["tokens_per_s_per_user"])
            ys.append(row["usd_per_mtok"])
    series = [(backend, xs, ys) for backend, (xs, ys) in by_backend.items()]
    return draw(series, path, xlabel=_USER, ylabel=_USD, title=title)


def plot_sweep(result: Any, path: str | Path, *, title: str) -> dict:
    """Sweep rows: tokens/s of all devices against batch, one line per backend and context."""
    lines: dict[str, tuple[list[float], list[float]]] = {}
    for row in result.rows:
        if row.get("error") is None:
            xs, ys = lines.setdefault(f"{row['backend']} ctx {row['context']}", ([], []))
            xs.append(row["batch"])
            ys.append(row["tokens_per_s"])
    series = [(label, xs, ys) for label, (xs, ys) in lines.items()]
    ylabel = f"{result.phase} tokens/s (all devices)"
    return draw(series, path, xlabel="batch (sequences)", ylabel=ylabel, title=title)
