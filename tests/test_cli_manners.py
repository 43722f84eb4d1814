"""CLI manners (issue 12): one-line usage errors, did-you-mean, quiet broken pipes, exit codes
that say whether anything failed (0 ok, 1 some rows failed, 2 bad input), TOML packs listed."""

import json
import pathlib
import shutil
import subprocess
import sys

import pytest
from tokenfab import Device, Interconnect, MemoryLevel, Power, hookimpl
from tokenfab.cli import main
from tokenfab.registry import build_registry, set_default_registry

DATA = pathlib.Path(__file__).parent / "data"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["estimate", "--batch", "x"], "argument --batch: invalid int value: 'x'"),
        (["estimate", "--model", "llama-3.1-8b"], "the following arguments are required: --backend"),
        (["backends", "--bogus"], "unrecognized arguments: --bogus"),
        (["estimat"], "invalid choice: 'estimat'; did you mean 'estimate'?"),
        (["compare", "--model", "llama-3.1-8b", "--sort", "speed"], "invalid choice: 'speed'"),
        (
            ["estimate", "--model", "llama-3.1-8b", "--backend", "nvidia:h200", "--acceptance", "0.5"],
            "--acceptance describes speculative decoding and needs --draft",
        ),
        (["estimate", "--model", "llama-3.1-8b", "--backend", "nvidia:h20"], "did you mean 'nvidia:h200'"),
        (["estimate", "--model", "lama-3.1-8b", "--backend", "nvidia:h200"], "did you mean 'llama-3.1-8b'"),
        (["sweep", "--model", "llama-3.1-8b", "--backends", "nvidia:h200", "--context", "9999999"], "context:"),
    ],
)
def test_usage_and_input_errors_are_one_line_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and message in err
    assert err.count("\n") == 1 and err.startswith("tokenfab: error: ")


def test_broken_pipe_is_quiet_in_process(capsys, monkeypatch):
    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    code = main(["backends", "--json"])
    monkeypatch.undo()
    assert code == 141 and capsys.readouterr().err == ""


def test_broken_pipe_is_quiet_through_a_real_pipe():
    # the reader is gone before tokenfab writes, as with `tokenfab backends | head -0`
    proc = subprocess.Popen(
        [sys.executable, "-m", "tokenfab.cli", "backends", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err


class SlowMemoryPack:
    """A legal but absurd device: its bandwidth is so low that any step takes infinite time."""

    @hookimpl
    def tokenfab_devices(self):
        level = MemoryLevel(name="hbm", kind="hbm", capacity_bytes=1e12, bytes_per_s=1e12)
        # below the load-time limit (1e3 B/s): set past the validator, as a hostile pack could
        object.__setattr__(level, "bytes_per_s", 1e-300)
        return [
            Device(
                id="slow:chip",
                vendor="Slow",
                name="Slow",
                year=2024,
                peak_flops_per_s={"bf16": 1e15},
                memory=[level],
                interconnect=Interconnect(),
                power=Power(tdp_w=300, idle_w=30),
            )
        ]


@pytest.fixture
def slow_registry():
    set_default_registry(build_registry([SlowMemoryPack()]))
    yield
    set_default_registry(None)


def test_a_failed_row_is_reported_and_exits_1_the_others_still_come(capsys, slow_registry):
    # --batch: one scenario per backend, whose rows carry a status (the default shows operating points)
    argv = ["compare", "--model", "llama-3.1-8b", "--backends", "nvidia:h200,slow:chip", "--batch", "1", "--json"]
    code, out, _ = run(capsys, *argv)
    rows = {row["backend"]: row for row in json.loads(out)["rows"]}
    assert code == 1
    assert rows["nvidia:h200"]["status"] == "ok" and rows["nvidia:h200"]["tokens_per_s"] > 0
    assert rows["slow:chip"]["status"] == "error" and "infinite or NaN" in rows["slow:chip"]["error"]
    code, out, _ = run(capsys, "sweep", "--model", "llama-3.1-8b", "--backends", "nvidia:h200,slow:chip", "--json")
    statuses = {(row["backend"], row["status"]) for row in json.loads(out)["rows"]}
    assert code == 1 and statuses == {("nvidia:h200", "ok"), ("slow:chip", "error")}


def test_rows_that_do_not_fit_are_answers_not_failures(capsys):
    backends = "nvidia:h200,nvidia:a100-80gb"
    argv = ["compare", "--model", "llama-3.1-405b", "--backends", backends, "--devices", "8", "--batch", "1"]
    code, out, _ = run(capsys, *argv, "--json")
    rows = {row["backend"]: row for row in json.loads(out)["rows"]}
    assert code == 0 and rows["nvidia:a100-80gb"]["status"] == "does-not-fit"


def test_plugins_lists_toml_packs_and_a_bad_file_hides_nothing(capsys, monkeypatch, tmp_path):
    shutil.copy(DATA / "good_toml" / "gaudi3-liquid.toml", tmp_path)
    shutil.copy(DATA / "broken_toml" / "bad.toml", tmp_path)
    monkeypatch.setenv("TOKENFAB_DEVICE_PATH", str(tmp_path))
    set_default_registry(None)
    try:
        code, out, err = run(capsys, "plugins", "--json")
    finally:
        set_default_registry(None)
    rows = {row["plugin"]: row for row in json.loads(out)}
    pack = rows[f"path:{tmp_path}"]
    assert code == 0 and pack["kind"] == "toml" and pack["devices"] == 1
    assert pack["backends"] == ["datapack:gaudi3-liquid"] and pack["status"] == "warning"
    assert "bad.toml" in pack["problems"][0]
    assert rows["nvidia"]["kind"] == "entry point" and rows["nvidia"]["devices"] == len(rows["nvidia"]["backends"]) > 0
    assert all(line.startswith("tokenfab: warning: ") for line in err.splitlines())
