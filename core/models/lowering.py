"""Lowering: a model and a parallel mapping become an op table of coefficient rows.

Each operator (one instance, per device, after sharding) is described by coefficients of the
scenario variables of a step:

* ``B`` sequences in the attention group, ``T`` new tokens per sequence, ``N = B*T`` tokens,
* ``P`` attention (query, key) pairs: ``B * sum_{i=1..T} min(C + i, W)`` for context ``C``
  already cached and window ``W`` (causal; ``W`` infinite for full-attention layers),
* ``K`` KV-cache tokens read: ``B * min(C + T, W)``,
* ``X`` expected distinct experts read: ``E * (1 - (1 - k/E)^R)`` for the ``R`` tokens routed in
  the whole replica (every attention group's), of whose bytes
  a device holds its ``expert_bytes`` share each
  (``T`` tokens routed top-``k`` over ``E`` experts touch ``E (1 - (1 - k/E)^T)`` of them); an
  expert GEMM's rows are the tokens per touched expert, ``T * k / (E (1 - (1 - k/E)^T))``,

so that for a scenario::

    flops       = flops_per_token*N + flops_per_seq*B + flops_per_pair*P
    weight      = weight_bytes + expert_bytes*X                 (read once per step)
    activation  = act_bytes_per_token*N + act_bytes_per_seq*B
    kv          = kv_read_bytes_per_ctx*K + kv_write_bytes_per_token*N
    comm        = comm_bytes_per_token*N   (message size of the collective)
    rows (M)    = rows_per_token*N + rows_per_seq*B + rows_per_seq_token*T

Matrix products count 2 FLOP per multiply-add; the MoE experts' FLOPs are per routed token
(``R``), every other op's per token of its group (``N``). GQA attention costs ``4 * heads *
head_dim`` FLOP per pair; MLA decode (weights absorbed, attention in the latent space) ``heads *
(4 * kv_lora_rank + 2 * rope_dim)``, MLA prompt chunks the non-absorbed form ``2 * heads *
(qk_nope + qk_rope + v)`` plus ``kv_b_proj`` over every KV token they attend to (the
``*_prompt`` coefficients). Vector ops use small per-element constants (RMSNorm 4, SwiGLU 5,
RoPE 6). Collectives carry the hidden state in bf16 (:func:`hidden_state_bytes`); the MoE
dispatch in fp8 when the experts take fp8 or smaller inputs (:func:`dispatch_bytes`). An MoE layer
is the kernels serving stacks run (:func:`_moe_ops`): router, permute, grouped expert GEMMs, gated
activation, finalize; each pays its own memory traffic.

Parallel mapping: ``tp`` tensor-splits heads, MLP width, experts and vocabulary; ``pp``
pipeline-stages the layers; ``ep > 1`` runs attention data-parallel over ``ep`` groups of ``tp``
devices and spreads the experts over all ``ep * tp`` devices, with an all-to-all dispatch and
combine around every MoE layer (DeepSeek-V3's serving layout).
"""

from __future__ import annotations

import math

import attrs

from .description import Model

OP_KINDS = ("gemm", "attention", "vector", "allreduce", "alltoall", "p2p")


@attrs.frozen(kw_only=True)
class Op:
    """One operator row of the op table. See the module docstring for the formulas.

    ``stored_bytes`` is what one device keeps in memory for this op (per instance): equal to
    ``weight_bytes`` for dense weights, all local experts for an MoE layer, the table for the
    embedding gather. ``layer`` marks per-layer ops (split over pipeline stages)."""

    name: str
    kind: str
    count: float
    weight_bytes: float = 0.0
    stored_bytes: float = 0.0
    expert_bytes: float = 0.0
    experts_total: float = 0.0
    experts_top_k: float = 0.0
    flops_per_token: float = 0.0
    flops_per_seq: float = 0.0
    flops_per_pair: float = 0.0
    # Prompt tokens (prefill chunks) may use another form of the op (MLA: the non-absorbed form):
    flops_per_pair_prompt: float = attrs.field(default=attrs.Factory(lambda op: op.flops_per_pair, takes_self=True))
    flops_per_token_prompt: float = attrs.field(default=attrs.Factory(lambda op: op.flops_per_token, takes_self=True))
    flops_per_ctx_prompt: float = 0.0  # per KV token a prompt chunk attends to (MLA: latent up-projection)
    act_bytes_per_token: float = 0.0
    act_bytes_per_seq: float = 0.0
    kv_read_bytes_per_ctx: float = 0.0
    kv_write_bytes_per_token: float = 0.0
    comm_bytes_per_token: float = 0.0
    rows_per_token: float = 0.0
    rows_per_seq: float = 0.0
    rows_per_seq_token: float = 0.0
    window: float = 0.0  # sliding window of an attention op (0: full context)
    expert_imbalance: float = 0.0  # c of the busiest expert-parallel device's load, 1 + c/sqrt(R) times the mean
    # Contraction length K of a matrix product on one device (0: none); an op of several GEMMs
    # carries their FLOP-weighted harmonic mean (:func:`harmonic_k`), the one K whose per-tile cost
    # K/(K + h) equals theirs together (tokenfab.hardware.protocol.Efficiency.gemm_k_factor).
    gemm_k: float = 0.0
    layer: bool = True


def heads_per_device(model: Model, tp: int) -> tuple[float, float]:
    """(query heads, KV heads) one device holds under tensor parallelism ``tp``.

    Heads are whole: when ``tp`` does not divide them, devices are padded to ``ceil(heads/tp)``
    (as Neuron and TensorRT-LLM do); KV heads are replicated when ``tp`` exceeds them."""
    return float(-(-model.num_heads // tp)), float(-(-model.num_kv_heads // tp))


@attrs.frozen(kw_only=True)
class ParallelMapping:
    """How one model replica is laid over devices: ``tp`` x ``pp`` x ``ep`` (see module docstring)."""

    tp: int = 1
    pp: int = 1
    ep: int = 1

    @property
    def devices(self) -> int:
        return self.tp * self.pp * self.ep


def harmonic_k(*parts: tuple[float, float]) -> float:
    """The contraction length standing for GEMMs of ``(FLOP share, K)`` run as one op:
    ``1 / sum(share / K)``. A tile's fixed cost makes a GEMM's time ``FLOPs (1 + h/K) / rate``,
    linear in ``1/K``, so the op's time is that of one GEMM of this K (below the reference K)."""
    return 1.0 / sum(share / max(k, GEMM_K_MIN) for share, k in parts)


def _gemm(
    name: str, elems: float, in_dim: float, out_dim: float, count: float, wb: float, ab: float, k: float = 0.0
) -> Op:
    """A matrix product ``in_dim -> out_dim``: its contraction length is ``in_dim`` unless ``k`` says
    otherwise (an op of two GEMMs, :func:`harmonic_k`)."""
    return Op(
        name=name,
        kind="gemm",
        count=count,
        weight_bytes=elems * wb,
        stored_bytes=elems * wb,
        flops_per_token=2.0 * elems,
        act_bytes_per_token=(in_dim + out_dim) * ab,
        rows_per_token=1.0,
        gemm_k=float(k or max(in_dim, GEMM_K_MIN)),
    )


def _norm(name: str, d: float, count: float, ab: float) -> Op:
    return Op(
        name=name,
        kind="vector",
        count=count,
        weight_bytes=d * ab,
        stored_bytes=d * ab,
        flops_per_token=4.0 * d,
        act_bytes_per_token=2.0 * d * ab,
    )


def _attention_ops(model: Model, tp: int, wb: float, ab: float, kb: float) -> list[Op]:
    """Projections, cache write and attention core of one layer, split into full-context and
    sliding-window rows when the model mixes them."""
    d, layers = model.hidden_size, float(model.num_layers)
    heads, kv_heads = heads_per_device(model, tp)
    windowed = float(model.window_layers)
    if model.is_mla:
        r, rope, nope, v = model.kv_lora_rank, model.qk_rope_head_dim, model.qk_nope_head_dim, model.v_head_dim
        qk = nope + rope
        ops = []
        if model.q_lora_rank:
            ops.append(_gemm("q_a_proj", d * model.q_lora_rank, d, model.q_lora_rank, layers, wb, ab))
            ops.append(_gemm("q_b_proj", model.q_lora_rank * heads * qk, model.q_lora_rank, heads * qk, layers, wb, ab))
        else:
            ops.append(_gemm("q_proj", d * heads * qk, d, heads * qk, layers, wb, ab))
        # The latent and rope key are computed by every tensor-parallel device (replicated).
        ops.append(_gemm("kv_a_proj", d * (r + rope), d, r + rope, layers, wb, ab))
        # Absorbed decode: kv_b is read once per step and applied to queries and outputs in the
        # latent space (its up-projection cost), 2 * r * heads * (nope + v) FLOP per token.
        # Prompt chunks use the non-absorbed form: kv_b up-projects every latent the chunk attends
        # to (cached and new) into per-head keys and values, 2 * r * heads * (nope + v) per KV token.
        kv_b = _gemm("kv_b_proj", r * heads * (nope + v), r, heads * (nope + v), layers, wb, ab)
        ops.append(attrs.evolve(kv_b, flops_per_token_prompt=0.0, flops_per_ctx_prompt=kv_b.flops_per_token))
        ops.append(
            Op(
                name="rope_kv_write",
                kind="vector",
                count=layers,
                flops_per_token=6.0 * (heads + 1) * rope,
                act_bytes_per_token=2.0 * (heads * rope + r + rope) * ab,
                kv_write_bytes_per_token=(r + rope) * kb,
            )
        )
        core = dict(
            flops_per_pair=heads * (4.0 * r + 2.0 * rope),  # absorbed (MQA over the latent)
            flops_per_pair_prompt=2.0 * heads * (qk + v),  # non-absorbed (MHA): QK^T over nope+rope, PV over v
            act_bytes_per_token=2.0 * heads * (r + rope) * ab,
            kv_read_bytes_per_ctx=(r + rope) * kb,
            rows_per_seq_token=heads,
        )
        o_in = heads * v
    else:
        hd = model.head_dim
        qkv_out = (heads + 2 * kv_heads) * hd
        qkv_elems = d * qkv_out + (qkv_out if model.attention_bias else 0)
        ops = [
            _gemm("qkv_proj", qkv_elems, d, qkv_out, layers, wb, ab),
            Op(
                name="rope_kv_write",
                kind="vector",
                count=layers,
                flops_per_token=6.0 * (heads + kv_heads) * hd,
                act_bytes_per_token=2.0 * (heads + kv_heads) * hd * ab,
                kv_write_bytes_per_token=2.0 * kv_heads * hd * kb,
            ),
        ]
        core = dict(
            flops_per_pair=4.0 * heads * hd,
            act_bytes_per_token=2.0 * heads * hd * ab,
            kv_read_bytes_per_ctx=2.0 * kv_heads * hd * kb,
            rows_per_seq_token=model.num_heads / model.num_kv_heads,
        )
        o_in = heads * hd
    if layers - windowed > 0:
        ops.append(Op(name="attention", kind="attention", count=layers - windowed, **core))
    if windowed > 0:
        ops.append(
            Op(name="attention_window", kind="attention", count=windowed, window=float(model.sliding_window), **core)
        )
    ops.append(_gemm("o_proj", o_in * d, o_in, d, layers, wb, ab))
    return ops


def _mlp_ops(model: Model, mapping: ParallelMapping, wb: float, ab: float) -> list[Op]:
    d, tp = model.hidden_size, mapping.tp
    ops = []
    if model.dense_layers:
        count = float(model.dense_layers)
        inter = model.intermediate_size / tp
        up = (2 if model.gated_mlp else 1) * d * inter
        ops += [
            _gemm("mlp_up", up, d, up / d, count, wb, ab),
            Op(
                name="mlp_act",
                kind="vector",
                count=count,
                flops_per_token=5.0 * inter,
                act_bytes_per_token=(3.0 if model.gated_mlp else 2.0) * inter * ab,
            ),
            _gemm("mlp_down", inter * d, inter, d, count, wb, ab),
        ]
    if model.is_moe:
        ops += _moe_ops(model, mapping, wb, ab)
    return ops


#: Shortest contraction length the per-tile cost was calibrated on (DeepGEMM's K = 512, H800 FP8,
#: benchmarks/fit_gemm_k.py); shorter GEMMs are costed at it rather than extrapolated.
GEMM_K_MIN = 512.0


def _expert_k(d: float, f: float) -> float:
    """K of a gated expert's FC1 (``d -> 2f``, 2/3 of its FLOPs) and FC2 (``f -> d``, 1/3) together
    (experts are gated: :attr:`Model.expert_params`)."""
    return harmonic_k((2.0 / 3.0, d), (1.0 / 3.0, f))


def _moe_ops(model: Model, mapping: ParallelMapping, wb: float, ab: float) -> list[Op]:
    """Router, then the routed experts as the kernels a serving stack runs (TensorRT-LLM's
    ``CutlassMoeFCRunner::runMoe``, vLLM's and SGLang's fused-MoE path): top-k softmax and sort,
    ``moe_permute`` (copy each token's hidden state once per chosen expert, grouped by expert),
    ``moe_experts`` (the grouped FC1 and FC2 GEMMs), ``moe_act`` (the gated activation between
    them) and ``moe_finalize`` (un-permute and sum the ``k`` outputs weighted by their router
    scores). Each is its own kernel, so their memory traffic adds to the GEMMs' time instead of
    hiding under it. Per token of the attention group, with ``f = moe_intermediate_size``,
    ``s = tp * ep`` devices holding the experts, ``hb`` the GEMM output format
    (:func:`hidden_state_bytes`) and ``r`` the copies of a token's hidden state one device handles
    (``k`` when ``ep = 1``: every tp device holds a 1/tp slice of every expert and runs every routed
    row; ``k / tp`` when ``ep > 1``: the group's tokens are dispatched to the ``s`` devices, whose
    experts are whole)::

        moe_permute   bytes  r*d*ab (read) + r*d*ab (write)
        moe_experts   bytes  r*d*ab + k*(2f/s)*hb (FC1 in, out) + k*(f/s)*ab + r*d*hb (FC2 in, out)
        moe_act       bytes  k*(2f/s)*hb + k*(f/s)*ab; FLOPs 5*k*f/s (SwiGLU, as ``mlp_act``)
        moe_finalize  bytes  r*d*hb + d*hb/c;  FLOPs 2*r*d   (c = 1 for ep = 1, else tp)
    """
    d, tp = model.hidden_size, mapping.tp
    count, k, E = float(model.moe_layers), float(model.experts_per_token), float(model.num_experts)
    spread = tp * mapping.ep  # devices the experts are spread over
    f = model.moe_intermediate_size / spread
    hb = hidden_state_bytes(ab)
    copies = k if mapping.ep == 1 else k / tp
    out_share = 1.0 if mapping.ep == 1 else 1.0 / tp
    # Each device holds 1/spread of the bytes of every expert (whole experts or slices alike).
    expert = model.expert_params * wb / spread
    ops = [
        _gemm("router", d * E, d, E, count, wb, ab),
        Op(name="moe_permute", kind="vector", count=count, act_bytes_per_token=2.0 * copies * d * ab),
        Op(
            name="moe_experts",
            kind="gemm",
            count=count,
            expert_bytes=expert,
            experts_total=E,
            experts_top_k=k,
            stored_bytes=E * expert,
            flops_per_token=2.0 * k * model.expert_params / spread,  # per token routed in the replica
            act_bytes_per_token=copies * d * (ab + hb) + k * f * (2.0 * hb + ab),
            expert_imbalance=expert_load_spread(spread, k) if mapping.ep > 1 else 0.0,
            gemm_k=_expert_k(d, f),
        ),
        Op(
            name="moe_act",
            kind="vector",
            count=count,
            flops_per_token=5.0 * k * f,
            act_bytes_per_token=k * f * (2.0 * hb + ab),
        ),
        Op(
            name="moe_finalize",
            kind="vector",
            count=count,
            flops_per_token=2.0 * copies * d,
            act_bytes_per_token=(copies + out_share) * d * hb,
        ),
    ]
    if model.num_shared_experts:
        shared = model.num_shared_experts * model.expert_params / tp
        shared_k = _expert_k(d, shared / (3 * d))
        ops.append(_gemm("shared_experts", shared, d, 2 * shared / (3 * d), count, wb, ab, k=shared_k))
    if mapping.ep > 1:
        n = spread
        ops.append(
            Op(
                name="moe_alltoall",
                kind="alltoall",
                count=count,
                comm_bytes_per_token=k * d * (dispatch_bytes(ab) + hidden_state_bytes(ab)) * (n - 1) / n / tp,
            )
        )
    return ops


def expert_load_spread(devices: int, top_k: float) -> float:
    """``c`` of the busiest device's expert load under expert parallelism, ``1 + c / sqrt(R)``
    times the mean for ``R`` routed tokens (:func:`tokenfab.engine.expert_imbalance`).

    Routing each token's ``k`` choices uniformly over ``n`` devices makes a device's load about
    Binomial(``R k``, ``1/n``): mean ``mu = R k / n``, deviation ``sigma = sqrt(R k (1/n)(1 - 1/n))``
    (the normal approximation; a token's ``k`` distinct experts make the true spread slightly
    smaller). The busiest of ``n`` devices carries ``mu + z_n sigma``, with ``z_n`` the expected
    largest of ``n`` standard normals, Blom's (1958) ``Phi^-1((n - 0.375) / (n + 0.25))`` (within
    4% of the exact value for n = 2 and 0.1% for n >= 8). So ``max / mean = 1 + z_n sqrt((n - 1) /
    (R k))`` and ``c = z_n sqrt((n - 1) / k)``. Uniform routing is the floor: trained routers are
    less even, which is what DeepSeek's EPLB redundant experts correct."""
    if devices <= 1:
        return 0.0
    import statistics  # here, not at import: it pulls in decimal, fractions and random (start-up)

    z = statistics.NormalDist().inv_cdf((devices - 0.375) / (devices + 0.25))
    return z * math.sqrt((devices - 1) / top_k)


#: Bytes per element below which matrix-product inputs are block-scaled 4-bit formats (nvfp4 4.5
#: bits with its scales, mxfp4 4.25, fp4 4) that the serving stack quantizes from bf16 at run time.
FP4_ACTIVATION_BYTES = 0.75
#: FLOPs per element of an fp4 quantization: absolute max over the block, scale, divide, round.
QUANTIZE_FLOPS_PER_ELEMENT = 4.0
#: Quantization kernels per layer: one per matrix-product input (QKV, output projection, MLP up, MLP down).
QUANTIZE_KERNELS_PER_LAYER = 4.0


def quantize_elements_per_token(model: Model, mapping: ParallelMapping) -> float:
    """Matrix-product input elements one device quantizes per token, summed over the layers:
    ``L (d + q) + L_dense (d + i / tp) + L_moe d``, with ``q`` the attention output width per
    device (query heads x value head dim) and ``i`` the MLP width. The routed experts' FC2 input is
    quantized inside ``moe_act`` (TensorRT-LLM's ``doActivationKernel`` writes NVFP4 with its block
    scales, ``fc2_act_sf_flat``), so it is not counted again here."""
    d, tp = model.hidden_size, mapping.tp
    heads = heads_per_device(model, tp)[0]
    attn_out = heads * (model.v_head_dim if model.is_mla and model.v_head_dim else model.head_dim)
    total = model.num_layers * (d + attn_out)
    if model.dense_layers:
        total += model.dense_layers * (d + model.intermediate_size / tp)
    if model.is_moe:
        total += model.moe_layers * d
    return float(total)


def _activation_quantize(model: Model, mapping: ParallelMapping, ab: float, hb: float) -> list[Op]:
    """The run-time quantization of matrix-product inputs to a block-scaled 4-bit format (NVFP4:
    one fp8 scale per 16 values). TensorRT-LLM's NVFP4 linear layers call ``fp4_quantize`` on the
    bf16 input before the GEMM (``NVFP4LinearMethod.apply``, tensorrt_llm/_torch/modules/linear.py):
    a kernel that reads the bf16 activation and writes the 4-bit values with their scales, outside
    the GEMM, so it is not hidden under the GEMM's compute. Per token::

        bytes = E (hb + ab),  FLOPs = 4 E,  E = quantize_elements_per_token

    in ``QUANTIZE_KERNELS_PER_LAYER`` (4) kernels per layer, each paying the per-op overhead. 8-bit
    and wider activations are quantized inside the producing kernels (fused norm / activation
    epilogues) and get no op."""
    if ab >= FP4_ACTIVATION_BYTES:
        return []
    kernels = QUANTIZE_KERNELS_PER_LAYER * model.num_layers
    per_kernel = quantize_elements_per_token(model, mapping) / kernels
    return [
        Op(
            name="act_quantize",
            kind="vector",
            count=kernels,
            flops_per_token=QUANTIZE_FLOPS_PER_ELEMENT * per_kernel,
            act_bytes_per_token=(hb + ab) * per_kernel,
        )
    ]


#: Bytes per element of the embedding table and the LM head beside narrow floating-point weights:
#: they stay 16-bit. ModelOpt, which makes the FP8 and NVFP4 checkpoints TensorRT-LLM, vLLM and
#: SGLang serve (and TensorRT-LLM's own ``--quantization FP8`` build), quantizes linear layers only
#: and disables the ``*lm_head*`` quantizer in every default config (``_default_disabled_quantizer_cfg``,
#: NVIDIA/TensorRT-Model-Optimizer modelopt/torch/quantization/config.py); its exported checkpoints
#: state ``"exclude_modules": ["lm_head"]``; gpt-oss ships MXFP4 experts beside a bf16 embedding and
#: unembedding. An embedding table is a lookup, never a quantized GEMM.
HEAD_WEIGHT_BYTES = 2.0
#: Weight formats the rule above covers. Integer storage (int8, int4) keeps its own bytes for the head:
#: Groq's int8 storage is not documented layer by layer, and no int-format row in the validation set
#: says otherwise.
NARROW_FLOAT_WEIGHTS = ("fp8", "fp6", "fp4", "mxfp8", "mxfp6", "mxfp4", "nvfp4")


def head_weight_bytes(weights: str, weight_bytes: float) -> float:
    """Bytes per element of the embedding table and LM head for ``weights`` stored at ``weight_bytes``:
    ``HEAD_WEIGHT_BYTES`` when ``weights`` is a narrow float format, else ``weight_bytes``."""
    return HEAD_WEIGHT_BYTES if weights in NARROW_FLOAT_WEIGHTS else weight_bytes


def hidden_state_bytes(act_bytes: float) -> float:
    """Bytes per element of what collectives carry between layers: the residual stream and the
    outputs of the matrix products stay bf16 (at least 2 bytes) even when the matrix products take
    fp8 or fp4 inputs (TensorRT-LLM, vLLM and SGLang all-reduce the bf16 GEMM output)."""
    return max(act_bytes, 2.0)


def dispatch_bytes(act_bytes: float) -> float:
    """Bytes per element of an MoE dispatch: fp8 when the experts take 8-bit or smaller inputs
    (DeepEP's fp8 dispatch, DeepSeek-V3 report sec. 3.3), else the hidden-state format. The combine
    returns bf16 (:func:`hidden_state_bytes`)."""
    return 1.0 if act_bytes <= 1.0 else hidden_state_bytes(act_bytes)


def lower(
    model: Model,
    mapping: ParallelMapping,
    *,
    weight_bytes: float,
    act_bytes: float,
    kv_bytes: float,
    head_bytes: float | None = None,
) -> list[Op]:
    """The op table of one decoder step of ``model`` on one device of ``mapping``.

    ``weight_bytes``, ``act_bytes`` and ``kv_bytes`` are bytes per element of weights,
    activations and KV cache; ``head_bytes`` those of the embedding table and LM head
    (:func:`head_weight_bytes`; ``weight_bytes`` when not given). Layer ops carry ``count`` = the
    layers of their kind (a token passes through every layer; with ``pp`` stages each device holds
    ``1/pp`` of them).
    """
    tp, d = mapping.tp, model.hidden_size
    wb, ab, kb = weight_bytes, act_bytes, kv_bytes
    hb = hidden_state_bytes(ab)
    layers = float(model.num_layers)
    vocab = model.vocab_size / tp
    head_wb = wb if head_bytes is None else head_bytes
    ops = [
        Op(
            name="embedding",
            kind="vector",
            count=1.0,
            act_bytes_per_token=2.0 * d * ab,
            layer=False,
            stored_bytes=model.embedding_params / tp * head_wb,
        ),
        _norm("attn_norm", d, layers, ab),
    ]
    ops += _attention_ops(model, tp, wb, ab, kb)
    if tp > 1:
        ops.append(Op(name="attn_allreduce", kind="allreduce", count=layers, comm_bytes_per_token=d * hb))
    ops.append(_norm("mlp_norm", d, layers, ab))
    ops += _mlp_ops(model, mapping, wb, ab)
    if tp > 1:
        ops.append(Op(name="mlp_allreduce", kind="allreduce", count=layers, comm_bytes_per_token=d * hb))
    ops += _activation_quantize(model, mapping, ab, hb)
    ops.append(attrs.evolve(_norm("final_norm", d, 1.0, ab), layer=False))
    # The LM head runs on the last position of each sequence only (sampling); vocab split over tp.
    lm = vocab * d
    ops.append(
        Op(
            name="lm_head",
            kind="gemm",
            count=1.0,
            weight_bytes=lm * head_wb,
            layer=False,
            stored_bytes=(lm * head_wb if not model.tie_word_embeddings else 0.0),
            flops_per_seq=2.0 * lm,
            act_bytes_per_seq=(d + vocab) * ab,
            rows_per_seq=1.0,
            gemm_k=float(d),
        )
    )
    if mapping.pp > 1:
        ops.append(
            Op(name="pp_send", kind="p2p", count=float(mapping.pp - 1), comm_bytes_per_token=d * hb, layer=False)
        )
    return ops


def weight_bytes_per_device(ops: list[Op] | tuple[Op, ...], mapping: ParallelMapping) -> float:
    """Bytes of weights one device stores: per-layer ops' ``stored_bytes`` over its stage's share of
    the layers (``ceil(count / pp)``), plus the embedding and LM head (on one end stage each when
    ``pp > 1``, both on the single stage otherwise)."""
    layers = sum(op.stored_bytes * -(-op.count // mapping.pp) for op in ops if op.layer)
    ends = [op.stored_bytes * op.count for op in ops if not op.layer]
    return layers + (max(ends) if mapping.pp > 1 else sum(ends))


def kv_bytes_per_token_per_device(model: Model, mapping: ParallelMapping, kv_bytes: float) -> float:
    """KV-cache bytes one device stores per cached token of its attention group:
    ``2 * kv_heads/tp * head_dim`` per layer (MLA: the full latent ``kv_lora_rank + rope_dim``,
    replicated over ``tp``), over ``ceil(layers / pp)`` layers."""
    return sum(kv_bytes_per_token_split(model, mapping, kv_bytes))


def kv_bytes_per_token_split(
    model: Model, mapping: ParallelMapping, kv_bytes: float, stage_layers: int | None = None
) -> tuple[float, float]:
    """(full-context layers, sliding-window layers) shares of :func:`kv_bytes_per_token_per_device`.

    A sliding-window layer keeps only its last ``sliding_window`` tokens (a ring buffer, as vLLM's
    hybrid KV-cache manager and TensorRT-LLM's cyclic KV cache do), so its share is multiplied by
    ``min(tokens, window)`` instead of ``tokens``. A stage holds ``ceil(layers / pp)`` layers, of
    which the windowed share is ``window_layers / layers`` (``stage_layers`` overrides the count, for a
    split by bytes, :mod:`tokenfab.planning.stages`)."""
    if stage_layers is None:
        stage_layers = -(-model.num_layers // mapping.pp)
    if model.is_mla:
        per_layer = (model.kv_lora_rank + model.qk_rope_head_dim) * kv_bytes
    else:
        per_layer = 2.0 * heads_per_device(model, mapping.tp)[1] * model.head_dim * kv_bytes
    windowed = stage_layers * model.window_layers / model.num_layers
    return per_layer * (stage_layers - windowed), per_layer * windowed
