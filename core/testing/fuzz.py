"""Hypothesis strategies and properties for fuzzing tokenfab's public surface (needs ``hypothesis``,
in the ``test`` extra).

The property everywhere: any input gives a valid result or a :class:`~tokenfab.TokenfabError`,
never another exception, a hang, an inf/NaN or invalid JSON. ``tests/test_fuzz.py`` runs each
property on a few dozen examples in CI; ``tools/fuzz.py`` runs thousands (see docs/guarantees.md).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import threading
from typing import Any

from hypothesis import strategies as st

from ..bounds import COUNT_KEYS, POSITIVE_INT_KEYS
from ..errors import TokenfabError

#: Seconds any one fuzzed call may take before it counts as a hang.
HANG_S = 60.0
BACKENDS = ("nvidia:h200", "amd:mi300x", "groq:lpu", "cerebras:wse-3", "tpu:v6e")
MODELS = ("llama-3.2-1b", "llama-3.1-8b", "mixtral-8x7b")

_numbers = st.one_of(
    st.integers(min_value=-3, max_value=70000),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 2, 0.5, 1.0, 1e308, -0.0, 2**63]),
)
#: Values a careless or hostile caller passes where a number is expected.
nasty = st.one_of(
    _numbers,
    st.booleans(),
    st.none(),
    st.text(max_size=8),
    st.lists(st.integers(min_value=-2, max_value=5000), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def run_with_deadline(func: Any, *args: Any, **kwargs: Any) -> tuple[Any, BaseException | None]:
    """``func(*args, **kwargs)`` on a thread; ``AssertionError`` if it runs past :data:`HANG_S`."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - returned to the property to judge
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_S)
    assert not thread.is_alive(), f"hang: {getattr(func, '__name__', func)} ran past {HANG_S:g} s"
    return box.get("value"), box.get("error")


def assert_finite(data: Any, where: str = "result") -> None:
    """Every float in ``data`` (dicts, lists) is finite."""
    if isinstance(data, float):
        assert math.isfinite(data), f"non-finite {where}: {data!r}"
    elif isinstance(data, dict):
        for key, value in data.items():
            assert_finite(value, f"{where}.{key}")
    elif isinstance(data, (list, tuple)):
        for index, value in enumerate(data):
            assert_finite(value, f"{where}[{index}]")


def assert_valid_or_tokenfab_error(value: Any, error: BaseException | None) -> None:
    """The fuzz property: a finite result, or a one-line :class:`TokenfabError` with a field."""
    if error is not None:
        assert isinstance(error, TokenfabError), f"{type(error).__name__} escaped: {error!r}"
        assert error.field and "\n" not in str(error), f"malformed error: {error!r}"
        return
    to_dict = getattr(value, "to_dict", None)
    assert_finite(to_dict() if to_dict else value)


@st.composite
def api_calls(draw: Any) -> tuple[str, dict[str, Any]]:
    """(function name, keyword arguments) for estimate, decode_step, prefill and sweep."""
    function = draw(st.sampled_from(["estimate", "decode_step", "prefill", "sweep"]))
    kwargs: dict[str, Any] = {"model": draw(st.sampled_from(MODELS)), "backend": draw(st.sampled_from(BACKENDS))}
    names = {
        "estimate": ("batch", "input_tokens", "output_tokens", "devices", "tp", "pp", "weights"),
        "decode_step": ("batch", "context", "tokens", "devices", "tp"),
        "prefill": ("batch", "tokens", "context", "devices"),
        "sweep": ("batch", "context", "tokens", "devices"),
    }[function]
    for name in names:
        if draw(st.booleans()):
            kwargs[name] = draw(nasty) if name != "weights" else draw(st.sampled_from(["fp8", "int4", "bf17", 8]))
    if function == "estimate":
        kwargs.setdefault("input_tokens", draw(st.integers(1, 4096)))
        kwargs.setdefault("output_tokens", draw(st.integers(1, 512)))
    if function in ("decode_step",):
        kwargs.setdefault("batch", draw(st.integers(1, 64)))
        kwargs.setdefault("context", draw(st.integers(0, 8192)))
    if function == "prefill":
        kwargs.setdefault("tokens", draw(st.integers(1, 4096)))
    return function, kwargs


def call_api(function: str, kwargs: dict[str, Any]) -> tuple[Any, BaseException | None]:
    import tokenfab

    kwargs = dict(kwargs)
    model, backend = kwargs.pop("model"), kwargs.pop("backend")
    if function == "sweep":
        return run_with_deadline(tokenfab.sweep, model, backend, **kwargs)
    return run_with_deadline(getattr(tokenfab, function), model, backend, **kwargs)


_VALUES = st.one_of(
    st.sampled_from(["1", "0", "-1", "8", "1.5", "1e400", "nan", "inf", "", "x", "all", "true"]),
    st.sampled_from(["llama-3.1-8b", "lama-3.1-8b", "llama-3.2-1b", "mtp", "/nonexistent/config.json"]),
    st.sampled_from([*BACKENDS, "nvidia:h20", "nvidia:h200,nvidia:b200", "bogus", ","]),
    st.text(alphabet="abc:-,.0123456789", max_size=10),
)
_OPTIONS = (
    "--model",
    "--backend",
    "--backends",
    "--batch",
    "--input",
    "--output",
    "--context",
    "--tokens",
    "--devices",
    "--tp",
    "--pp",
    "--ep",
    "--weights",
    "--kv",
    "--draft",
    "--draft-tokens",
    "--acceptance",
    "--pue",
    "--usd-per-device-hour",
    "--disable-pack",
    "--rate",
    "--seed",
    "--requests",
    "--duration",
    "--limit",
    "--dp",
    "--steps",
    "--global-batch",
    "--micro-batch",
    "--seq-len",
    "--vendor",
)
#: Commands that take ``--model`` and ``--backend`` (one backend) or ``--backends``.
_ONE_BACKEND = ("estimate", "mappings", "simulate", "train")
_MANY_BACKENDS = ("compare", "sweep")


@st.composite
def cli_argvs(draw: Any) -> list[str]:
    """Command lines for the listing and serving commands: valid, odd and broken options."""
    commands = ["backends", "models", "plugins", "validate", *_ONE_BACKEND, *_MANY_BACKENDS, "nope"]
    command = draw(st.sampled_from(commands))
    argv = [command]
    if command in _ONE_BACKEND + _MANY_BACKENDS:
        argv += ["--model", draw(st.sampled_from(MODELS))]
        argv += ["--backend" if command in _ONE_BACKEND else "--backends", draw(st.sampled_from(BACKENDS))]
    for _ in range(draw(st.integers(0, 4))):
        option = draw(st.sampled_from(_OPTIONS))
        argv += [option] if draw(st.integers(0, 9)) == 0 else [option, draw(_VALUES)]
    if draw(st.booleans()):
        argv.append("--json")
    return argv


def check_cli(argv: list[str]) -> None:
    """The CLI property: exit 0, 1 or 2; 2 prints one ``tokenfab: error:`` line; ``--json``
    output parses as strict JSON (no NaN/Infinity); nothing else escapes."""
    from ..cli import main

    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return main(argv)

    code, error = run_with_deadline(run)
    assert error is None, f"{argv}: {type(error).__name__} escaped: {error!r}"
    assert code in (0, 1, 2), f"{argv}: exit code {code}"
    errors = [line for line in err.getvalue().splitlines() if line.startswith("tokenfab: error:")]
    if code == 2:
        assert len(errors) == 1 and out.getvalue() == "", f"{argv}: {err.getvalue()!r}"
    assert "Traceback" not in err.getvalue()
    if code in (0, 1) and "--json" in argv:
        json.loads(out.getvalue(), parse_constant=_reject_constant)


def _reject_constant(name: str) -> None:
    raise AssertionError(f"invalid JSON constant {name}")


_CONFIG_KEYS = (*POSITIVE_INT_KEYS, *COUNT_KEYS, "layer_types", "tie_word_embeddings", "model_type")


@st.composite
def hf_configs(draw: Any) -> dict[str, Any]:
    """A small valid Llama config with a few keys replaced by nasty values, or dropped."""
    config: dict[str, Any] = {
        "model_type": "llama",
        "hidden_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "intermediate_size": 512,
        "vocab_size": 1000,
    }
    for key in draw(st.lists(st.sampled_from(_CONFIG_KEYS), max_size=4, unique=True)):
        if draw(st.integers(0, 4)) == 0:
            config.pop(key, None)
        else:
            config[key] = draw(nasty)
    return config


def check_config(config: dict[str, Any]) -> None:
    """A config loads into a Model whose decode step is finite, or is a one-line error."""
    import tokenfab

    model, error = run_with_deadline(tokenfab.load_model, config)
    assert_valid_or_tokenfab_error(None if error else {}, error)
    if error is None:
        step, error = run_with_deadline(tokenfab.decode_step, model, "nvidia:h200", batch=2, context=64)
        assert_valid_or_tokenfab_error(step and {"seconds": step.seconds, "joules": step.joules}, error)


_TOML_LINES = (
    'id = "fuzz:chip"',
    'vendor = "Fuzz"',
    'name = "Fuzz"',
    "year = 2024",
    'peak_flops_per_s = { bf16 = "100 TFLOPS" }',
    "power = { tdp_w = 300, idle_w = 30 }",
    "[[device.memory]]",
    'name = "hbm"',
    'kind = "hbm"',
    'capacity_bytes = "16 GB"',
    'bytes_per_s = "1 TB/s"',
)


@st.composite
def toml_texts(draw: Any) -> str:
    """A one-device TOML pack with lines dropped, repeated, or their values replaced."""
    lines = ["[[device]]"]
    for line in _TOML_LINES:
        choice = draw(st.integers(0, 9))
        if choice == 0:
            continue
        if choice == 1 and "=" in line:
            value = draw(st.one_of(st.sampled_from(["0", "-1", "nan", "inf", '""', "[]", "{}", '"1 XB"']), st.text()))
            line = f"{line.split('=')[0]}= {value}"
        lines.append(line)
    if draw(st.integers(0, 9)) == 0:
        lines.insert(draw(st.integers(0, len(lines))), draw(st.text(max_size=20)))
    return "\n".join(lines) + "\n"


def check_toml(folder: Any, text: str) -> None:
    """A TOML pack beside a good one: loads or is reported, and never hides the good one."""
    from ..hardware.registry import build_registry

    (folder / "fuzz.toml").write_text(text, encoding="utf-8", errors="surrogatepass")
    registry, error = run_with_deadline(build_registry)
    assert error is None, f"{type(error).__name__} escaped: {error!r}"
    assert "datapack:gaudi3-liquid" in registry.backends
    assert "fuzz:chip" in registry.backends or any("fuzz.toml" in p.reason for p in registry.problems)
