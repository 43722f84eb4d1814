"""What a training run is: the parallel mapping and the recipe (batch, precision, recompute).

Both are frozen attrs values with ``to_dict``/``from_dict``, validated on construction; every
error names the field, the value and the allowed range.

Mapping: ``devices = tp * cp * pp * dp``. Tensor parallelism (``tp``, with sequence parallelism
``sp`` for the norms and residuals) and context parallelism (``cp``, the sequence split) live
inside the scale-up domain when they fit; ``pp`` stages the layers; ``dp`` replicates the rest.
Expert parallelism ``ep`` spreads the routed experts over ``ep`` ranks of the ``dp * cp`` ranks
(Megatron-Core's layout: attention stays data-parallel; experts use ``dp * cp / ep``-way expert
data parallelism). ``zero`` is the ZeRO/FSDP stage: 1 shards optimizer states over ``dp``, 2
adds gradients, 3 (FSDP full shard) adds weights.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..bounds import MAX_COUNT
from ..deployment import checked_fields
from ..errors import ValidationError

#: Most training tokens a recipe may name: 1e16, about 300x the largest published budget (Qwen3's
#: 36e12 tokens); beyond it a typo (1e300) would give a bill of 1e+292 dollars.
MAX_TRAINING_TOKENS = 1e16
SCHEDULES = ("1f1b", "interleaved", "zero-bubble", "dualpipe")
RECOMPUTE = ("none", "selective", "full")
PRECISIONS = ("bf16", "fp8")
FINETUNE = ("full", "lora", "qlora")
KERNELS = ("fused", "eager")


def _int_at_least(low: int):
    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= MAX_COUNT:
            name = type(instance).__name__
            raise ValidationError(
                f"{name}: {attribute.name} must be an integer >= {low} (at most {MAX_COUNT:.0e}), got {value!r}"
            )

    return check


def _one_of(choices: tuple[str, ...]):
    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value not in choices:
            name = type(instance).__name__
            raise ValidationError(f"{name}: {attribute.name} must be one of {', '.join(choices)}, got {value!r}")

    return check


def _fraction(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, int | float) or not 0.0 <= float(value) < 1.0:
        raise ValidationError(f"{type(instance).__name__}: {attribute.name} must be in [0, 1), got {value!r}")


@attrs.frozen(kw_only=True)
class TrainingMapping:
    """How the devices split one training step (see the module docstring).

    ``chunks`` is the number of model chunks per pipeline stage of the interleaved schedule
    (``v`` in Narayanan et al. 2021); the other schedules use 1. ``tp_overlap`` overlaps the
    tensor-parallel collectives with the GEMMs (Transformer Engine userbuffers; off by default in
    Megatron-LM, on in NeMo's performance recipes).
    """

    tp: int = attrs.field(default=1, validator=_int_at_least(1))
    cp: int = attrs.field(default=1, validator=_int_at_least(1))
    pp: int = attrs.field(default=1, validator=_int_at_least(1))
    dp: int = attrs.field(default=1, validator=_int_at_least(1))
    ep: int = attrs.field(default=1, validator=_int_at_least(1))
    zero: int = attrs.field(default=1, validator=_int_at_least(0))
    schedule: str = attrs.field(default="1f1b", validator=_one_of(SCHEDULES))
    chunks: int = attrs.field(default=1, validator=_int_at_least(1))
    sp: bool = True
    tp_overlap: bool = False
    first_stage_layers: int | None = None
    last_stage_layers: int | None = None

    def __attrs_post_init__(self) -> None:
        for name in ("first_stage_layers", "last_stage_layers"):
            value = getattr(self, name)
            if value is not None and (
                self.pp < 2 or not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                raise ValidationError(f"TrainingMapping: {name} needs pp >= 2 and an integer >= 0, got {value!r}")
        if self.zero > 3:
            raise ValidationError(f"TrainingMapping: zero must be 0, 1, 2 or 3, got {self.zero}")
        if (self.dp * self.cp) % self.ep:
            raise ValidationError(
                f"TrainingMapping: ep must divide dp * cp = {self.dp * self.cp} (experts spread over "
                f"data-parallel ranks), got {self.ep}"
            )
        if self.schedule == "interleaved" and self.chunks < 2:
            raise ValidationError("TrainingMapping: chunks must be >= 2 for the interleaved schedule, got 1")
        if self.schedule != "interleaved" and self.chunks != 1:
            raise ValidationError(
                f"TrainingMapping: chunks applies to the interleaved schedule only, got {self.chunks} "
                f"with {self.schedule}"
            )
        if self.schedule == "dualpipe" and self.pp % 2:
            raise ValidationError(f"TrainingMapping: dualpipe needs an even pp, got {self.pp}")

    @property
    def devices(self) -> int:
        return self.tp * self.cp * self.pp * self.dp

    def stage_layers(self, layers: int) -> tuple[float, float, float]:
        """(first, middle, last) stage's layers of ``layers`` split over ``pp`` (all ``layers`` at pp 1).

        Without ``first_stage_layers``/``last_stage_layers`` every stage takes ``layers / pp``; with
        them (Megatron-Core's ``decoder_first_pipeline_num_layers``/``decoder_last_pipeline_num_layers``;
        Llama 3 takes one layer off each end to balance the embedding and the loss) the other
        stages share the rest evenly.
        """
        if self.pp == 1:
            return float(layers), float(layers), float(layers)
        given = [v for v in (self.first_stage_layers, self.last_stage_layers) if v is not None]
        rest, stages = layers - sum(given), self.pp - len(given)
        if rest < 0 or (stages == 0 and rest != 0):
            raise ValidationError(
                f"TrainingMapping: first_stage_layers + last_stage_layers must be at most the {layers} layers "
                f"(all of them when pp = 2), got {sum(given)}"
            )
        middle = rest / stages if stages else 0.0
        first = float(self.first_stage_layers) if self.first_stage_layers is not None else middle
        last = float(self.last_stage_layers) if self.last_stage_layers is not None else middle
        return first, middle, last

    @property
    def expert_dp(self) -> int:
        """Data-parallel degree of the expert weights: ``dp * cp / ep``."""
        return self.dp * self.cp // self.ep

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingMapping:
        return cls(**checked_fields(cls, data))


@attrs.frozen(kw_only=True)
class TrainingRecipe:
    """The run: sequences of ``seq_len`` tokens, ``global_batch`` sequences per step, split into
    micro-batches of ``micro_batch`` sequences; ``tokens`` (or ``steps``) says how long.

    ``precision``: ``bf16`` (every GEMM in bf16) or ``fp8`` mixed precision as DeepSeek-V3 and
    Transformer Engine run it: the linear layers' forward, input-gradient and weight-gradient
    GEMMs in fp8; attention core, embedding, LM head, router and norms in bf16; fp32 master
    weights. ``grad_bytes`` and ``optimizer_bytes`` are bytes per parameter of the accumulated
    gradient (fp32: 4) and of the optimizer state (fp32 master + Adam moments: 4 + 4 + 4 = 12;
    DeepSeek-V3's bf16 moments: 4 + 2 + 2 = 8).

    ``moe_imbalance``: tokens on the busiest expert-parallel rank over the mean (1 = balanced).
    ``moe_max_nodes``: node-limited routing (DeepSeek-V3 sends a token to at most 4 nodes).
    ``kernels``: ``fused`` when the framework fuses the element-wise work into few kernels
    (Transformer Engine in Megatron/NeMo, XLA in MaxText, DeepSeek's kernels: norms, SwiGLU and
    the fp8 casts stream at the device's measured copy rate, the cast rides on the producing
    kernel); ``eager`` for one PyTorch kernel per operation (LLM Foundry's MPT), at the rate
    measured for eager kernels (:data:`tokenfab.training.step.ELEMENTWISE_HBM_FRACTION`).
    ``finetune``: ``lora``/``qlora`` train rank-``lora_rank`` adapters on every projection of a
    frozen base (bf16, or 4-bit NF4 for QLoRA).
    ``activation_offload``: share of the stored layer activations held in host memory between a
    micro-batch's forward and backward (Megatron-Core's ``cpu_offloading_num_layers / num_layers``,
    e.g. 40 / 80 on GB200's Grace; MaxText's ``decoder_layer_input: offload`` under full remat: 1).
    They leave device memory; the copies run on their own DMA engines while the pass computes and
    are not costed (recipes enable offload where it hides).
    """

    seq_len: int = attrs.field(validator=_int_at_least(1))
    global_batch: int = attrs.field(validator=_int_at_least(1))
    micro_batch: int = attrs.field(default=1, validator=_int_at_least(1))
    tokens: float | None = None
    steps: int | None = None
    precision: str = attrs.field(default="bf16", validator=_one_of(PRECISIONS))
    recompute: str = attrs.field(default="selective", validator=_one_of(RECOMPUTE))
    grad_bytes: float = 4.0
    optimizer_bytes: float = 12.0
    moe_imbalance: float = 1.0
    moe_max_nodes: int | None = None
    finetune: str = attrs.field(default="full", validator=_one_of(FINETUNE))
    lora_rank: int = attrs.field(default=16, validator=_int_at_least(1))
    goodput: float = 1.0
    kernels: str = attrs.field(default="fused", validator=_one_of(KERNELS))
    activation_offload: float = 0.0

    def __attrs_post_init__(self) -> None:
        if self.tokens is None and self.steps is None:
            raise ValidationError("TrainingRecipe: give tokens (the token budget) or steps")
        number = isinstance(self.tokens, int | float) and not isinstance(self.tokens, bool)
        if self.tokens is not None and not (number and 1 <= self.tokens <= MAX_TRAINING_TOKENS):
            raise ValidationError(
                f"TrainingRecipe: tokens must be between 1 and {MAX_TRAINING_TOKENS:.0e}, got {self.tokens!r}"
            )
        if self.steps is not None and (not isinstance(self.steps, int) or not 1 <= self.steps <= MAX_COUNT):
            raise ValidationError(
                f"TrainingRecipe: steps must be an integer >= 1 (at most {MAX_COUNT:.0e}), got {self.steps!r}"
            )
        if self.global_batch % self.micro_batch:
            raise ValidationError(
                f"TrainingRecipe: global_batch ({self.global_batch}) must be a multiple of micro_batch "
                f"({self.micro_batch})"
            )
        for name in ("grad_bytes", "optimizer_bytes", "moe_imbalance", "goodput", "moe_max_nodes"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                if not (name == "moe_max_nodes" and value is None):
                    raise ValidationError(f"TrainingRecipe: {name} must be a number, got {value!r:.40}")
        for name in ("grad_bytes", "optimizer_bytes"):
            if not 0 < getattr(self, name) <= 16:
                raise ValidationError(f"TrainingRecipe: {name} must be in (0, 16] bytes, got {getattr(self, name)}")
        if not 1.0 <= self.moe_imbalance <= 8.0:
            raise ValidationError(f"TrainingRecipe: moe_imbalance must be in [1, 8], got {self.moe_imbalance}")
        if self.moe_max_nodes is not None and self.moe_max_nodes < 1:
            raise ValidationError(f"TrainingRecipe: moe_max_nodes must be >= 1, got {self.moe_max_nodes}")
        offload = self.activation_offload
        if not isinstance(offload, int | float) or not 0.0 <= offload <= 1.0:
            raise ValidationError(f"TrainingRecipe: activation_offload must be in [0, 1], got {offload!r}")
        if not 0.0 < self.goodput <= 1.0:
            raise ValidationError(f"TrainingRecipe: goodput must be in (0, 1], got {self.goodput}")

    @property
    def tokens_per_step(self) -> int:
        return self.seq_len * self.global_batch

    @property
    def total_steps(self) -> float:
        """Optimizer steps: ``steps``, or ``tokens / (seq_len * global_batch)`` (fractional allowed)."""
        return float(self.steps) if self.steps is not None else float(self.tokens) / self.tokens_per_step

    @property
    def total_tokens(self) -> float:
        return self.total_steps * self.tokens_per_step

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingRecipe:
        return cls(**checked_fields(cls, data))
