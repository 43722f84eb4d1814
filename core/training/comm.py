"""Training communication: which link each collective crosses, how long it takes, what is exposed.

Rank layout (Megatron-Core order, innermost first): tensor ``tp``, context ``cp``, data ``dp``
(expert-parallel ranks are the first ``ep`` of the ``dp * cp`` ranks), pipeline ``pp``. A group
whose consecutive span of devices fits the scale-up domain (NVLink node or NVL72 rack, TPU ICI
pod, Trainium instance or UltraServer) uses the scale-up link; otherwise the scale-out network
(one 400 Gb/s NIC per GPU on rail-optimised fat trees, TPU DCN, Trainium EFA).

Alpha-beta cost on a link with per-device bandwidth ``B`` (per direction, times the link's
efficiency) for a message of ``M`` bytes per device over ``n`` devices::

    all-reduce      2 (n-1)/n M / B      reduce-scatter, all-gather   (n-1)/n M / B

Hierarchical data-parallel collectives (NCCL's tree/NVLS-SHARP and the Megatron distributed
optimizer both do this): ``g`` members of the group share a scale-up domain, ``n/g`` domains:
in-domain reduce-scatter ``(g-1)/g M / B_up``, then the cross-domain collective on ``M/g`` per
device over ``n/g`` peers at the NIC bandwidth (all ``g`` NICs work in parallel: rail-optimised),
then the in-domain all-gather.

Overlap rules (stated once, used by :mod:`tokenfab.training.step`):

* TP/SP all-gather and reduce-scatter (4 per layer forward, 4 backward, 4 more under full
  recompute) are exposed, as Megatron-LM runs them by default; with ``tp_overlap`` they are
  overlapped with the GEMMs they feed by ring-exchange chunking (Transformer Engine
  userbuffers): one chunk in ``tp`` stays exposed, and any excess over the GEMM time.
* Context-parallel ring attention passes K/V blocks while computing the previous block: only the
  excess over the attention time is exposed.
* Expert all-to-all (dispatch + combine per MoE layer forward, twice that backward) is exposed
  in full, except under DualPipe, which runs it behind the computation of the paired
  micro-batch, at the price of the SMs it reserves for communication (DeepSeek-V3: 20 of 132).
* Pipeline sends overlap the steady state; the ``2 (pp - 1)`` sends of fill and drain are exposed.
* Data-parallel gradient reduction overlaps the last micro-batch's backward pass, the parameter
  all-gather of ZeRO 1/2 the first micro-batch's forward; ZeRO-3 gathers each layer's weights
  for every micro-batch's forward and backward and reduce-scatters its gradients, each
  overlapped with that micro-batch's pass. Only the excess is exposed.
"""

from __future__ import annotations

import attrs

from ..cost import collectives
from ..hardware.protocol import Device, Link
from ..models.description import Model
from ..planning.mappings import scale_up_domain
from .config import TrainingMapping, TrainingRecipe

ACT_BYTES = 2.0


def link_for_span(device: Device, span: int) -> Link | None:
    """The link a group spanning ``span`` consecutive devices crosses (None for one device)."""
    if span <= 1:
        return None
    up, out = device.interconnect.scale_up, device.interconnect.scale_out
    if up is not None and span <= up.domain_size:
        return up
    return out if out is not None else up


def collective_s(link: Link | None, kind: str, message_bytes: float, devices: int) -> float:
    """Seconds of one all-reduce (``ar``), reduce-scatter (``rs``) or all-gather (``ag``)."""
    if link is None or devices <= 1 or message_bytes <= 0:
        return 0.0
    factor, latency = collectives.allreduce(link, devices)
    if kind != "ar":
        factor, latency = factor / 2.0, latency / 2.0
    return latency + factor * message_bytes / link.effective_bytes_per_s


def hierarchical_s(device: Device, kind: str, message_bytes: float, devices: int, stride: int) -> float:
    """A data-parallel collective over ``devices`` ranks spaced ``stride`` apart (module docstring)."""
    if devices <= 1 or message_bytes <= 0:
        return 0.0
    domain = scale_up_domain(device)
    local = max(1, min(devices, domain // stride)) if stride <= domain else 1
    if local >= devices:
        return collective_s(link_for_span(device, devices * stride), kind, message_bytes, devices)
    up = device.interconnect.scale_up
    out = device.interconnect.scale_out or up
    inner = 2.0 * collective_s(up, "rs", message_bytes, local) if local > 1 else 0.0
    if kind == "ar" or local == 1:
        inner = inner if kind == "ar" else inner / 2.0
    return inner + collective_s(out, kind, message_bytes / local, devices // local)


@attrs.frozen(kw_only=True)
class MicroBatchComm:
    """Communication seconds of one micro-batch's pass through one pipeline stage."""

    tp_fwd: float
    tp_bwd: float
    cp_fwd: float
    cp_bwd: float
    ep_fwd: float
    ep_bwd: float
    pp_send: float


def _remote_nodes(experts_per_token: int, nodes: int, max_nodes: int | None) -> float:
    """Expected distinct other domains a token's top-k experts sit in, with node-limited routing."""
    if nodes <= 1:
        return 0.0
    reached = nodes * (1.0 - (1.0 - 1.0 / nodes) ** experts_per_token)
    if max_nodes is not None:
        reached = min(reached, float(max_nodes))
    return reached * (nodes - 1) / nodes


def expert_alltoall_bytes(model: Model, device: Device, mapping: TrainingMapping, recipe: TrainingRecipe):
    """(bytes per device per MoE layer forward, link): dispatch plus combine of the micro-batch.

    Inside one scale-up domain every routed copy goes to its expert's device, the remote share
    ``(ep - 1)/ep``. Across domains the dispatch is hierarchical (DeepEP): one copy per remote
    domain over the NIC, forwarded inside the domain, so a token crosses the scale-out network
    ``nodes_reached * (nodes - 1)/nodes`` times. Dispatch travels in fp8 under fp8 training.
    """
    if not model.is_moe or mapping.ep <= 1:
        return 0.0, None
    tokens = recipe.micro_batch * recipe.seq_len / mapping.cp / mapping.tp
    per_copy = model.hidden_size * ((1.0 if recipe.precision == "fp8" else ACT_BYTES) + ACT_BYTES)
    span = mapping.tp * mapping.cp * mapping.ep
    domain = scale_up_domain(device)
    k = model.experts_per_token
    if span <= domain:
        return tokens * k * per_copy * (mapping.ep - 1) / mapping.ep, link_for_span(device, span)
    nodes = span // max(domain, 1)
    remote = _remote_nodes(k, nodes, recipe.moe_max_nodes)
    return tokens * remote * per_copy, link_for_span(device, span)


def micro_batch_comm(
    model: Model, device: Device, mapping: TrainingMapping, recipe: TrainingRecipe, layers: float
) -> MicroBatchComm:
    """TP, CP, EP and PP communication of one micro-batch through a stage of ``layers`` layers
    (module docstring)."""
    tokens = recipe.micro_batch * recipe.seq_len / mapping.cp
    d = model.hidden_size
    tp_link = link_for_span(device, mapping.tp)
    tp_one = collective_s(tp_link, "ag", tokens * d * ACT_BYTES, mapping.tp)
    tp_fwd = 4.0 * layers * tp_one
    tp_bwd = tp_fwd * (2.0 if recipe.recompute == "full" else 1.0)
    cp_fwd = cp_bwd = 0.0
    if mapping.cp > 1:
        kv = model.kv_elements_per_token() / model.num_layers / mapping.tp
        cp_link = link_for_span(device, mapping.tp * mapping.cp)
        ring = (mapping.cp - 1) * tokens * kv * ACT_BYTES / cp_link.effective_bytes_per_s
        cp_fwd, cp_bwd = layers * ring, 2.0 * layers * ring
    ep_bytes, ep_link = expert_alltoall_bytes(model, device, mapping, recipe)
    share = layers / (model.num_layers + model.mtp_layers)
    moe_layers = (model.moe_layers + model.mtp_layers) * share if model.is_moe else 0.0
    ep_fwd = ep_bwd = 0.0
    if ep_link is not None:
        one = ep_link.latency_s * 2.0 + ep_bytes / ep_link.effective_bytes_per_s
        ep_fwd = moe_layers * one
        # backward moves bf16 gradients both ways; full recompute repeats the forward exchange
        ep_bwd = moe_layers * (
            ep_link.latency_s * 2.0 + _bwd_bytes(model, recipe, ep_bytes) / ep_link.effective_bytes_per_s
        )
        if recipe.recompute == "full":
            ep_bwd += ep_fwd
    pp_send = 0.0
    if mapping.pp > 1:
        pp_link = link_for_span(device, mapping.devices)
        pp_send = pp_link.latency_s + tokens / mapping.tp * d * ACT_BYTES / pp_link.effective_bytes_per_s
    return MicroBatchComm(
        tp_fwd=tp_fwd, tp_bwd=tp_bwd, cp_fwd=cp_fwd, cp_bwd=cp_bwd, ep_fwd=ep_fwd, ep_bwd=ep_bwd, pp_send=pp_send
    )


def _bwd_bytes(model: Model, recipe: TrainingRecipe, fwd_bytes: float) -> float:
    """Backward all-to-all bytes: the same copies, all in bf16 (fp8 dispatch only forward)."""
    if recipe.precision != "fp8":
        return fwd_bytes
    return fwd_bytes * (2.0 * ACT_BYTES) / (1.0 + ACT_BYTES)


def data_parallel_s(
    device: Device, mapping: TrainingMapping, recipe: TrainingRecipe, dense: float, experts: float
) -> dict[str, float]:
    """Seconds of the data-parallel collectives of one step for ``dense`` and ``experts``
    parameters per device: gradient reduction (``grad``) and parameter all-gather (``params``);
    under ZeRO-3 both are per micro-batch (``per_micro_batch`` true)."""
    dp, edp = mapping.dp * mapping.cp, mapping.expert_dp
    stride_dense, stride_expert = mapping.tp, mapping.tp * mapping.ep
    gbytes = recipe.grad_bytes if recipe.grad_bytes <= 4 else 4.0
    if mapping.zero == 0:
        grad = hierarchical_s(device, "ar", dense * gbytes, dp, stride_dense)
        grad += hierarchical_s(device, "ar", experts * gbytes, edp, stride_expert)
        return {"grad": grad, "params": 0.0}
    grad = hierarchical_s(device, "rs", dense * gbytes, dp, stride_dense)
    grad += hierarchical_s(device, "rs", experts * gbytes, edp, stride_expert)
    params = hierarchical_s(device, "ag", dense * ACT_BYTES, dp, stride_dense)
    params += hierarchical_s(device, "ag", experts * ACT_BYTES, edp, stride_expert)
    return {"grad": grad, "params": params}
