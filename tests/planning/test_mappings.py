"""Mapping search: feasible shapes, device-count defaults, ranking by objective, on-chip placement."""

from __future__ import annotations

import json

import pytest
import tokenfab
from tokenfab import Deployment, Workload
from tokenfab.cli import main
from tokenfab.planning.mappings import OBJECTIVES
from tokenfab.registry import build_registry

mappings = tokenfab.mappings  # the public entry point

WL = Workload(input_tokens=1000, output_tokens=500, batch=1)


def test_fewest_devices_then_best_shape_for_70b_on_h100():
    # 70.55e9 bf16 parameters = 141 GB > 80 GB x 0.95 usable: one H100 cannot hold them; two can
    # (70.6 GB each with tp=2, or one pipeline stage of 40 layers each). With batch 1 there is no
    # room for replicas (dp <= batch), so the shapes of 2 devices are tp2 and tp1 x pp2.
    search = mappings("llama-3.1-70b", "nvidia:h100-sxm", WL, objective="latency")
    assert search.devices == 2 and "fewest devices" in search.chosen_by
    shapes = {(c.shape.tp, c.shape.pp, c.shape.dp) for c in search.candidates}
    assert shapes == {(2, 1, 1), (1, 2, 1)}
    best, runner_up = search.candidates
    assert (best.shape.tp, best.reason) == (2, "best")
    # the loser says by how much: its e2e latency over the best one's
    assert f"{runner_up.value / best.value:.2f}x worse" in runner_up.reason
    assert runner_up.value > best.value
    # estimate without a mapping uses exactly that best deployment
    est = tokenfab.estimate("llama-3.1-70b", "nvidia:h100-sxm", WL, objective="latency")
    assert est.deployment == best.deployment and est.tp == 2


def test_given_devices_every_shape_uses_them_and_ranking_is_monotone():
    wl = Workload(input_tokens=1000, output_tokens=500, batch=64)
    for objective, (_, larger) in OBJECTIVES.items():
        search = mappings("llama-3.1-8b", "nvidia:h100-sxm", wl, devices=8, objective=objective)
        fitting = [c for c in search.candidates if c.fits]
        assert all(c.shape.devices == 8 and c.shape.dp <= 64 for c in search.candidates)
        values = [c.value for c in fitting]
        assert values == sorted(values, reverse=larger)
        # dp is part of the search: replicas of smaller tensor groups are ranked too
        assert any(c.shape.dp > 1 for c in fitting)
        # each candidate's deployment replays to its own number
        c = fitting[-1]
        again = tokenfab.estimate("llama-3.1-8b", c.deployment, wl)
        assert getattr(again, search.metric) == pytest.approx(c.value, rel=1e-12)


def test_systems_honour_their_device_count():
    # Before: a system id ran on the fewest GPUs that fit (1 for a 70B model in fp8), ignoring the rack.
    for backend, count in (("nvidia:gb200-nvl72", 72), ("trainium:trn2-ultraserver", 64)):
        est = tokenfab.estimate("llama-3.1-70b", backend, input_tokens=1000, output_tokens=200, batch=64)
        assert est.devices == count and est.tp * est.pp * est.ep * est.replicas == count


def test_a_pack_hook_may_restrict_and_seed_but_not_bypass_fit():
    class TinySeed:
        @tokenfab.hookimpl
        def tokenfab_default_mapping(self, model, backend, weights_bytes, kv_bytes):
            # a seed that cannot hold a 70B model, and a cap on the tensor split
            return {"devices": 1, "tp": 1, "pp": 1, "max_tp": 4}

    registry = build_registry([TinySeed()])
    search = mappings("llama-3.1-70b", "nvidia:h100-sxm", WL, registry=registry)
    assert search.devices == 2
    assert all(c.shape.tp <= 4 for c in search.candidates)
    est = tokenfab.estimate("llama-3.1-70b", "nvidia:h100-sxm", WL, registry=registry)
    assert est.devices == 2 and est.fits


def test_unknown_objective_and_no_fit_are_one_line_errors():
    with pytest.raises(tokenfab.ValidationError, match="objective: must be one of latency, throughput"):
        mappings("llama-3.1-8b", "nvidia:h100-sxm", WL, objective="speed")
    with pytest.raises(tokenfab.FitError, match="fits no mapping on 1 x nvidia:h100-sxm"):
        mappings("llama-3.1-405b", "nvidia:h100-sxm", WL, devices=1)


def test_cerebras_keeps_weights_on_wafer_over_many_wafers():
    # Before: 405B at bf16 put its weights on MemoryX (150 GB/s) and predicted 0.17 tokens/s per user.
    # 810 GB of weights over 41.8 GB usable per wafer needs at least 20 wafers, more with whole-layer
    # stages; every stage keeps weights and KV in SRAM.
    est = tokenfab.estimate("llama-3.1-405b", "cerebras:wse-3", input_tokens=1000, output_tokens=500)
    assert est.devices >= 20 and est.pp == est.devices and est.tp == 1
    assert est.deployment.weights_memory == "sram" and est.deployment.kv_memory == "sram"
    assert "stream" not in est.placement
    assert est.tokens_per_s_per_user > 100


def test_memoryx_streaming_is_asked_for_or_a_stated_fallback():
    asked = tokenfab.estimate("llama-3.1-8b", Deployment(backend="cerebras:wse-3", weights_memory="memoryx"), WL)
    assert asked.devices == 1 and "stream from memoryx" in asked.placement
    # one wafer given for a 70B model: on-wafer SRAM cannot hold it, so weights stream, and the result says so
    forced = tokenfab.estimate("llama-3.1-70b", "cerebras:wse-3", WL, devices=1)
    assert forced.deployment.weights_memory == "memoryx" and "stream from memoryx" in forced.placement


def test_backends_show_on_chip_memory_not_memoryx(capsys):
    assert tokenfab.get_backend("cerebras:wse-3").weight_memory.capacity_bytes == 44e9
    code = main(["backends", "--json"])
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert code == 0
    assert rows["cerebras:wse-3"]["memory_bytes"] == 44e9  # was 1.2e15, MemoryX
    assert rows["cerebras:wse-3"]["external_memory_bytes"] == 1.2e15
    assert rows["nvidia:h100-sxm"]["external_memory_bytes"] is None


def test_mappings_cli_table_json_and_bad_input(capsys):
    argv = ["mappings", "--model", "llama-3.1-70b", "--backend", "nvidia:h100-sxm", "--devices", "4", "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["devices"] == 4 and data["candidates"][0]["reason"] == "best"
    assert all(c["tp"] * c["pp"] * c["ep"] * c["dp"] == 4 for c in data["candidates"])
    assert main(argv[:-1] + ["--objective", "latency"]) == 0
    assert "why not the best" in capsys.readouterr().out
    code = main(["mappings", "--model", "llama-3.1-8b", "--backend", "nvidia:h100-sxm", "--batch", "0"])
    assert code == 2 and "batch: must be an integer >= 1, got 0" in capsys.readouterr().err
    code = main(["estimate", "--model", "llama-3.1-8b", "--backend", "nvidia:h100-sxm", "--dp", "2", "--tp", "1"])
    assert code == 0


def test_a_draft_model_gets_chips_of_its_own_on_an_sram_machine():
    # Before: the draft had to fit beside a target that fills every chip's SRAM, so Groq refused
    # speculative decoding. Now the draft (Llama-3.2-1B int8, 1.24e9 parameters: at least
    # ceil(1.24e9 / 218.5e6) = 6 chips) runs on chips of its own, added to the count.
    spec = tokenfab.deployment.Speculative(draft="llama-3.2-1b", tokens=3, acceptance=0.7)
    options = dict(input_tokens=1000, output_tokens=500, weights="int8")
    plain = tokenfab.estimate("llama-3.1-70b", "groq:lpu", **options)
    fast = tokenfab.estimate("llama-3.1-70b", "groq:lpu", speculative=spec, **options)
    extra = fast.devices - plain.devices
    assert extra >= 6 and f"draft on {extra} chips of its own" in fast.placement
    assert fast.tokens_per_s_per_user > 1.5 * plain.tokens_per_s_per_user
    # on a GPU the draft still shares the target's devices
    gpu = tokenfab.estimate("llama-3.1-70b", "nvidia:h100-sxm", devices=8, tp=8, speculative=spec, **options)
    assert gpu.devices == 8 and "draft" not in gpu.placement
