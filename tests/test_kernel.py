"""The C kernel equals the numpy reference; hand-computed single-op values; input checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tokenfab.errors import KernelError
from tokenfab.kernel import KernelInputs, native_available, native_evaluate, reference_evaluate

pytestmark = pytest.mark.skipif(not native_available(), reason="native kernel not built")


def make_inputs(S=1, O=1, L=1, **overrides):
    base = dict(
        flops=np.zeros((S, O)),
        flop_rate=np.ones((S, O)),
        gemm_rows=np.ones((S, O)),
        gemm_half_rows=np.zeros((S, O)),
        comm_bytes=np.zeros((S, O)),
        comm_bytes_per_s=np.ones((S, O)),
        comm_latency_s=np.zeros((S, O)),
        overhead_s=np.zeros((S, O)),
        joules_per_flop=np.zeros((S, O)),
        bandwidth_scale=np.ones((S, O)),
        level_bytes=np.zeros((S, O, L)),
        level_bytes_per_s=np.ones((S, L)),
        joules_per_byte=np.zeros((S, L)),
        count=np.ones(O),
        joules_per_comm_byte=np.zeros(S),
        idle_w=np.zeros(S),
        max_w=np.full(S, 1e9),
    )
    base.update({k: np.asarray(v, dtype=float) for k, v in overrides.items()})
    return KernelInputs(**base)


def test_hand_computed_single_op():
    # 1e12 FLOP at 1e15 FLOP/s with rows 64, half 64 -> eff 0.5 -> 2 ms compute.
    # 3e9 bytes at 1e12 B/s -> 3 ms memory; 2 us overhead; 10 layers.
    inp = make_inputs(
        flops=[[1e12]],
        flop_rate=[[1e15]],
        gemm_rows=[[64]],
        gemm_half_rows=[[64]],
        level_bytes=[[[3e9]]],
        level_bytes_per_s=[[1e12]],
        overhead_s=[[2e-6]],
        count=[10],
        joules_per_flop=[[1e-12]],
        joules_per_byte=[[1e-11]],
        idle_w=[100],
        max_w=[700],
    )
    for out in (native_evaluate(inp), reference_evaluate(inp)):
        assert out["compute_s"][0, 0] == pytest.approx(10 * 2e-3)
        assert out["memory_s"][0, 0] == pytest.approx(10 * 3e-3)
        assert out["seconds"][0, 0] == pytest.approx(10 * (3e-3 + 2e-6))
        assert out["bound"][0, 0] == 1.0  # memory
        # dynamic 10 * (1 J + 0.03 J) + idle 100 W * 30.02 ms = 10.3 + 3.002 J, under the 700 W cap
        assert out["joules"][0, 0] == pytest.approx(10.3 + 100 * 10 * 3.002e-3)


def test_tdp_caps_energy():
    inp = make_inputs(flops=[[1e12]], flop_rate=[[1e12]], joules_per_flop=[[1e-9]], idle_w=[50], max_w=[400])
    out = native_evaluate(inp)
    assert out["seconds"][0, 0] == pytest.approx(1.0)
    assert out["joules"][0, 0] == pytest.approx(400.0)  # 1000 J dynamic capped at 400 W * 1 s


def test_communication_alpha_beta():
    inp = make_inputs(comm_bytes=[[1e6]], comm_bytes_per_s=[[1e11]], comm_latency_s=[[5e-6]])
    out = native_evaluate(inp)
    assert out["comm_s"][0, 0] == pytest.approx(5e-6 + 1e-5)
    assert out["bound"][0, 0] == 2.0


def test_zero_work_is_zero_and_overhead_bound():
    inp = make_inputs(overhead_s=[[1e-6]])
    for out in (native_evaluate(inp), reference_evaluate(inp)):
        assert out["seconds"][0, 0] == pytest.approx(1e-6)
        assert out["bound"][0, 0] == 3.0


@pytest.mark.parametrize(
    "field,value,code",
    [
        ("flop_rate", [[0.0]], "zero FLOP rate"),
        ("flops", [[-1.0]], "negative"),
        ("level_bytes_per_s", [[0.0]], "zero bandwidth"),
        ("bandwidth_scale", [[0.0]], "bandwidth_scale"),
    ],
)
def test_bad_inputs_are_rejected_by_both(field, value, code):
    extra = {"flops": [[1.0]], "level_bytes": [[[1.0]]]}
    extra[field] = value
    inp = make_inputs(**extra)
    with pytest.raises(KernelError, match=code):
        native_evaluate(inp)
    with pytest.raises(KernelError):
        reference_evaluate(inp)


def _finite(lo, hi):
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


@st.composite
def kernel_inputs(draw):
    S = draw(st.integers(1, 6))
    O = draw(st.integers(1, 7))
    L = draw(st.integers(1, 3))

    def arr(shape, lo, hi, zero_prob=True):
        values = draw(hnp.arrays(np.float64, shape, elements=_finite(lo, hi)))
        if zero_prob:
            mask = draw(hnp.arrays(np.bool_, shape))
            values = np.where(mask, 0.0, values)
        return values

    return KernelInputs(
        flops=arr((S, O), 0, 1e18),
        flop_rate=arr((S, O), 1e9, 1e16, False),
        gemm_rows=arr((S, O), 1, 1e7, False),
        gemm_half_rows=arr((S, O), 0, 1e4),
        comm_bytes=arr((S, O), 0, 1e12),
        comm_bytes_per_s=arr((S, O), 1e6, 1e13, False),
        comm_latency_s=arr((S, O), 0, 1e-3),
        overhead_s=arr((S, O), 0, 1e-4),
        joules_per_flop=arr((S, O), 0, 1e-10),
        bandwidth_scale=arr((S, O), 0.01, 1.0, False),
        level_bytes=arr((S, O, L), 0, 1e15),
        level_bytes_per_s=arr((S, L), 1e6, 1e16, False),
        joules_per_byte=arr((S, L), 0, 1e-9),
        count=arr((O,), 0, 1e3),
        joules_per_comm_byte=arr((S,), 0, 1e-9),
        idle_w=arr((S,), 0, 1e3),
        max_w=arr((S,), 1, 1e4, False),
    )


@settings(max_examples=300, deadline=None)
@given(kernel_inputs())
def test_native_equals_reference(inputs):
    native, ref = native_evaluate(inputs), reference_evaluate(inputs)
    for name in native:
        np.testing.assert_allclose(native[name], ref[name], rtol=1e-12, atol=0, err_msg=name)


def test_very_large_batch_and_many_scenarios():
    S, O, L = 2000, 13, 2
    rng = np.random.default_rng(1)
    inp = make_inputs(
        S,
        O,
        L,
        flops=rng.random((S, O)) * 1e20,
        flop_rate=np.full((S, O), 1e15),
        gemm_rows=np.full((S, O), 1e9),
        gemm_half_rows=np.full((S, O), 64.0),
        level_bytes=rng.random((S, O, L)) * 1e14,
        level_bytes_per_s=np.full((S, L), 3e12),
        count=np.full(O, 126.0),
    )
    native, ref = native_evaluate(inp), reference_evaluate(inp)
    for name in native:
        np.testing.assert_allclose(native[name], ref[name], rtol=1e-12, atol=0)
