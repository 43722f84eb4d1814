"""Prices and system energy: one stated basis per result, hand-computed $/Mtok, list prices beside."""

import attrs
import pytest
import tokenfab
from tokenfab import Price, TokenPrice
from tokenfab.economics import Economics, host_joules_per_token, list_price, usd_per_mtok
from tokenfab.errors import ValidationError

H100 = tokenfab.get_backend("nvidia:h100-sxm")


def test_cloud_basis_hand_computed():
    # 8 H100 at $3.90/h serving 10,000 tok/s: 8 * 3.90 / 3600 / 10,000 * 1e6 = $0.8667 per M output tokens.
    cost = usd_per_mtok(H100, Economics(), devices=8, tokens_per_s=10_000, joules_per_token=1.0)
    assert cost.basis == "cloud" and cost.usd_per_mtok == pytest.approx(0.866667, rel=1e-5)
    assert "AWS EC2 P5" in cost.source and "2026-03" in cost.source


def test_capex_estimate_hand_computed():
    # $977 per chip over 4 years: 977 / 35,040 h = $0.027882/h. 576 chips at 1,000 tok/s:
    # 576 * 0.027882 / 3600 / 1000 * 1e6 = $4.4611; energy 500 J/tok * 1.3 * $0.10 / 3.6e6 * 1e6 = $0.018056.
    groq = tokenfab.get_backend("groq:lpu")
    cost = usd_per_mtok(groq, Economics(), devices=576, tokens_per_s=1000, joules_per_token=500)
    assert groq.price.capex_usd == pytest.approx(976.5625)
    hourly = 976.5625 / (4 * 8760)
    assert cost.usd_per_device_hour == pytest.approx(hourly)
    assert cost.usd_per_mtok == pytest.approx(576 * hourly / 3.6 + 500 * 1.3 * 0.10 / 3.6, rel=1e-9)
    assert cost.basis == "capex-estimate" and "4 years, PUE 1.3" in cost.source


def test_override_and_none_bases():
    cost = usd_per_mtok(H100, Economics(usd_per_device_hour=2.0), devices=2, tokens_per_s=3600, joules_per_token=0)
    # 2 * 2.0 / 3600 / 3600 * 1e6 = $0.30864
    assert cost.basis == "override" and cost.usd_per_mtok == pytest.approx(0.308642, rel=1e-5)
    none = usd_per_mtok(attrs.evolve(H100, price=None), Economics(), devices=1, tokens_per_s=1, joules_per_token=1)
    assert (none.basis, none.usd_per_mtok) == ("none", None)


def test_a100_80gb_is_priced_from_the_80gb_instance():
    a100 = tokenfab.get_backend("nvidia:a100-80gb")
    assert a100.price.usd_per_device_hour == pytest.approx(40.96 / 8)
    assert "p4de" in a100.price.provider and "p4de" in a100.sources["price"]


def test_every_backend_has_a_price_with_a_stated_basis_and_source():
    for backend_id in tokenfab.backends():
        device = tokenfab.get_backend(backend_id)
        device = getattr(device, "device", device)
        assert device.price is not None, backend_id
        assert device.price.basis in ("cloud", "capex-estimate"), backend_id
        assert device.sources.get("price"), f"{backend_id}: price without a source"
        if device.price.basis == "capex-estimate":
            assert "estimate" in device.price.provider or "estimate" in device.sources["price"], backend_id


def test_host_power_in_joules_per_token():
    # DGX H100: 10,200 W / 8 - 700 W = 575 W per GPU. 8 GPUs at 4,600 tok/s: 8 * 575 / 4600 = 1.0 J/token.
    assert H100.power.host_w == pytest.approx(575.0)
    assert host_joules_per_token(H100, devices=8, tokens_per_s=4600) == pytest.approx(1.0)
    est = tokenfab.estimate("llama-3.1-8b", "nvidia:h100-sxm", batch=32, input_tokens=500, output_tokens=100)
    assert est.host_joules_per_token == pytest.approx(est.devices * 575.0 / est.tokens_per_s)
    bare = tokenfab.estimate(
        "llama-3.1-8b",
        attrs.evolve(H100, power=attrs.evolve(H100.power, host_w=0.0)),
        batch=32,
        input_tokens=500,
        output_tokens=100,
    )
    assert est.joules_per_token == pytest.approx(bare.joules_per_token + est.host_joules_per_token)


def test_list_price_is_beside_not_inside_the_modelled_cost():
    # Groq 70B list: $0.59 in, $0.79 out. 1000 in / 500 out: (1000 * 0.59 + 500 * 0.79) / 500 = $1.97 per M output.
    est = tokenfab.estimate("llama-3.1-70b", "groq:lpu", batch=8, input_tokens=1000, output_tokens=500)
    assert est.list_price["basis"] == "list-price-per-token"
    assert est.list_usd_per_mtok == pytest.approx(1.97)
    assert est.list_price["usd_per_mtok_output"] == 0.79 and "groq.com/pricing" in est.list_price["source"]
    assert est.price_basis == "capex-estimate" and est.usd_per_mtok != pytest.approx(est.list_usd_per_mtok)
    assert est.to_dict()["list_price"]["usd_per_mtok_input"] == 0.59
    gpu = tokenfab.estimate("llama-3.1-8b", "nvidia:h100-sxm", input_tokens=100, output_tokens=10)
    assert gpu.list_price is None and gpu.list_usd_per_mtok is None
    assert list_price(H100, "llama-3.1-8b", input_tokens=1, output_tokens=1) is None


def test_token_price_validation_and_toml_form():
    with pytest.raises(ValidationError, match="source"):
        TokenPrice(model="m", usd_per_mtok_input=0.1, usd_per_mtok_output=0.2, source="")
    price = Price(
        capex_usd=1000,
        per_token=[{"model": "m", "usd_per_mtok_input": 0, "usd_per_mtok_output": 1, "source": "https://example.com"}],
    )
    assert price.token_price("m").usd_per_mtok_output == 1 and price.token_price("x") is None
    with pytest.raises(ValidationError, match="host_w"):
        tokenfab.Power(tdp_w=100, idle_w=10, host_w=-1)


def test_backends_listing_states_price_basis(capsys):
    import json

    from tokenfab.cli import main

    assert main(["backends", "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["groq:lpu"]["price_basis"] == "capex-estimate" and rows["groq:lpu"]["capex_usd"] < 1000
    assert rows["nvidia:h100-sxm"]["price_basis"] == "cloud" and rows["nvidia:h100-sxm"]["host_w"] == 575
    assert main(["backends"]) == 0
    assert "capex" in capsys.readouterr().out
