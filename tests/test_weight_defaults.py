"""Default weight precision: the user's choice, else the checkpoint's ``quantization_config``, else the
vendor's serving format (``Device.default_weights``), else 16-bit."""

from __future__ import annotations

import pytest
import tokenfab
from tokenfab.errors import ValidationError


@pytest.mark.parametrize(
    ("model", "precision"),
    [("deepseek-v3", "fp8"), ("deepseek-r1", "fp8"), ("gpt-oss-120b", "mxfp4"), ("gpt-oss-20b", "mxfp4")],
)
def test_catalog_checkpoints_carry_their_published_weight_format(model, precision):
    # DeepSeek-V3/R1 config.json: quantization_config {quant_method: fp8, fmt: e4m3, weight_block_size: [128, 128]};
    # gpt-oss config.json: quantization_config {quant_method: mxfp4}. Before, the catalog entries had none (bf16).
    assert tokenfab.load_model(model).weight_precision == precision


def test_gpt_oss_weights_default_to_mxfp4_bytes():
    # 116,789,232,960 parameters: the 115,631,966,080 outside the embedding and unembedding (201,088 x 2,880
    # = 579,133,440 each) x 4.25 bits (4-bit elements + one 8-bit scale per 32) / 8 = 61,428,950,730 bytes,
    # plus both tables in bf16 as the checkpoint ships them (lowering.HEAD_WEIGHT_BYTES): 2,316,533,760 bytes;
    # 63,745,484,490 bytes on one H200 (before: bf16, 233,578,465,920 bytes, which does not fit 141 GB).
    step = tokenfab.decode_step("gpt-oss-120b", "nvidia:h200", batch=1, context=100, devices=1)
    expected = (116_789_232_960 - 2 * 579_133_440) * 4.25 / 8 + 2 * 579_133_440 * 2
    assert step.plan.weight_bytes_per_device == pytest.approx(expected, rel=1e-4)  # op-level rounding


def test_groq_serves_8_bit_weights_by_default_with_16_bit_maths():
    # GroqCloud's TruePoint numerics: weights stored at 8 bits, matrix maths at full precision.
    est = tokenfab.estimate("llama-3.1-8b", "groq:lpu", batch=1, input_tokens=1000, output_tokens=500)
    assert (est.deployment.weights, est.deployment.activations) == ("int8", "fp16")  # before: fp16 / fp16


def test_user_then_checkpoint_then_device_default():
    user = tokenfab.estimate("llama-3.1-8b", "groq:lpu", batch=1, input_tokens=100, output_tokens=10, weights="fp16")
    assert user.deployment.weights == "fp16"
    checkpoint = tokenfab.estimate("gpt-oss-20b", "groq:lpu", batch=1, input_tokens=100, output_tokens=10)
    assert checkpoint.deployment.weights == "mxfp4"
    gpu = tokenfab.estimate("llama-3.1-8b", "nvidia:h100-sxm", batch=1, input_tokens=100, output_tokens=10)
    assert gpu.deployment.weights == "bf16"


def test_default_weights_must_be_a_precision():
    import attrs

    device = tokenfab.get_backend("groq:lpu")
    with pytest.raises(ValidationError, match="default_weights"):
        attrs.evolve(device, default_weights="int3")
