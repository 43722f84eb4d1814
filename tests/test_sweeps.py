"""Streaming sweeps: one grid language, chunked evaluation, file outputs, Dask partitions."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import tokenfab
from tokenfab.cli import main
from tokenfab.errors import ValidationError
from tokenfab.sweeps import Grid, parse_axis

MODEL, BACKENDS = "llama-3.1-8b", ["nvidia:h100-sxm", "nvidia:h200"]


def test_grid_language():
    assert parse_axis("batch", "1:4").tolist() == [1, 2, 3, 4]  # inclusive range
    assert parse_axis("context", "0:4096:1024").tolist() == [0, 1024, 2048, 3072, 4096]
    assert parse_axis("batch", "1,8,32").tolist() == [1, 8, 32]
    assert parse_axis("batch", 8).tolist() == 8
    for bad in ("0:4", "a,b", "1:2:0", "1.5"):
        with pytest.raises(ValidationError, match="batch"):
            parse_axis("batch", bad)
    grid = Grid.of("1:3", [512, 1024], 1)  # outer product, last axis fastest
    assert grid.size == 6
    b, c, t = grid.take(0, 6)
    assert list(zip(b.tolist(), c.tolist(), strict=True)) == [
        (1, 512),
        (1, 1024),
        (2, 512),
        (2, 1024),
        (3, 512),
        (3, 1024),
    ]
    assert t.tolist() == [1] * 6
    b, c, _ = grid.take(3, 5)  # any slice of the flat order
    assert b.tolist() == [2, 3] and c.tolist() == [1024, 512]


def test_api_and_cli_share_the_grid_and_agree(capsys):
    api = tokenfab.sweep(MODEL, BACKENDS, batch="1:3", context="512,4096", devices=1)
    assert (
        main(
            [
                "sweep",
                "--model",
                MODEL,
                "--backends",
                ",".join(BACKENDS),
                "--batch",
                "1:3",
                "--context",
                "512,4096",
                "--devices",
                "1",
                "--csv",
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert len(rows) == len(api.rows) == 12
    for cli_row, api_row in zip(rows, api.rows, strict=True):
        assert float(cli_row["seconds"]) == api_row["seconds"] and int(cli_row["batch"]) == api_row["batch"]


def test_rows_equal_single_decode_steps():
    result = tokenfab.sweep(MODEL, "nvidia:h100-sxm", batch=[1, 64], context=[1024, 8192], devices=1)
    one = tokenfab.decode_step(MODEL, "nvidia:h100-sxm", batch=64, context=1024, devices=1)
    row = result.rows[2]
    assert (row["batch"], row["context"]) == (64, 1024)
    assert row["seconds"] == pytest.approx(one.seconds, rel=1e-12)
    assert row["joules"] == pytest.approx(one.joules, rel=1e-12)
    assert row["bound"] == one.bound and row["tokens_per_s"] == pytest.approx(64 / one.seconds)


def test_chunk_size_does_not_change_rows():
    whole = tokenfab.sweep(MODEL, BACKENDS, batch="1:20", context="128:4096:512", devices=1)
    chunked = tokenfab.sweep(MODEL, BACKENDS, batch="1:20", context="128:4096:512", devices=1, chunk=7)
    assert whole.rows == chunked.rows


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".arrow"])
def test_file_outputs_round_trip(tmp_path, suffix):
    if suffix in (".parquet", ".arrow"):
        pytest.importorskip("pyarrow")
    path = tmp_path / f"rows{suffix}"
    kwargs = dict(batch="1:5", context="1024,8192", tokens=[1, 4], devices=1)
    memory = tokenfab.sweep(MODEL, [*BACKENDS, "groq:lpu"], **kwargs)
    written = tokenfab.sweep(MODEL, [*BACKENDS, "groq:lpu"], out=path, chunk=3, **kwargs)
    assert written.out == str(path) and written.scenarios == 60
    if suffix == ".csv":
        rows = list(csv.DictReader(path.open()))
        got = [(r["backend"], int(r["batch"]), float(r["seconds"]), r["bound"]) for r in rows]
    elif suffix == ".jsonl":
        rows = [json.loads(line) for line in path.open()]
        got = [(r["backend"], r["batch"], r["seconds"], r["bound"]) for r in rows]
    else:
        import pyarrow.feather as feather
        import pyarrow.parquet as pq

        table = pq.read_table(path) if suffix == ".parquet" else feather.read_table(path)
        got = [(r["backend"], r["batch"], r["seconds"], r["bound"]) for r in table.to_pylist()]
    assert got == [(r["backend"], r["batch"], r["seconds"], r["bound"]) for r in memory.rows]


def test_backend_errors_are_rows_and_bad_input_is_an_error(tmp_path):
    result = tokenfab.sweep(MODEL, ["nvidia:h100-sxm"], batch=1, context=1024, tp=64)
    assert (
        len(result.rows) == 1
        and result.rows[0]["error"].startswith("tp:")
        and result.rows[0]["status"] == "unsupported"
    )
    with pytest.raises(ValidationError, match="out: file suffix"):
        tokenfab.sweep(MODEL, "nvidia:h100-sxm", out=tmp_path / "rows.xlsx")
    with pytest.raises(ValidationError, match="phase"):
        tokenfab.sweep(MODEL, "nvidia:h100-sxm", phase="train")
    with pytest.raises(ValidationError, match="give out="):
        tokenfab.sweep(MODEL, "nvidia:h100-sxm", batch="1:3000", context="1:3000")


def test_progress_callback_sees_every_scenario():
    seen = []
    tokenfab.sweep(
        MODEL, BACKENDS, batch="1:10", context="1:10", devices=1, chunk=16, progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (200, 200) and all(b[0] > a[0] for a, b in zip(seen, seen[1:], strict=False))


def test_dask_local_cluster_matches_a_local_run_row_for_row(tmp_path):
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    kwargs = dict(batch="1:12", context="128:8192:1024", tokens=[1, 2], devices=1, chunk=50)
    local = tokenfab.sweep(MODEL, BACKENDS, **kwargs)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            remote = tokenfab.sweep(MODEL, BACKENDS, executor=client, **kwargs)
            remote_file = tokenfab.sweep(MODEL, BACKENDS, executor=client, out=tmp_path / "rows.jsonl", **kwargs)
    assert remote.rows == local.rows
    assert [json.loads(line)["seconds"] for line in (tmp_path / "rows.jsonl").open()] == [
        r["seconds"] for r in local.rows
    ]
    # backends x batch 1..12 x contexts 128..7296 by 1024 x tokens
    assert remote_file.scenarios == len(local.rows) == 2 * 12 * 8 * 2


def test_in_memory_frame_and_columns():
    result = tokenfab.sweep(MODEL, "nvidia:h100-sxm", batch="1:4", context=1024, devices=1)
    assert result.columns["seconds"].dtype == np.float64 and len(result.columns["seconds"]) == 4
    pd = pytest.importorskip("pandas")
    frame = result.to_pandas()
    assert isinstance(frame, pd.DataFrame) and list(frame["batch"]) == [1, 2, 3, 4]
