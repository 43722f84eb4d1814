"""Groq LPU data. Every figure cites its source next to it (keys resolve in URL below and in
shared/reference/hardware.yaml).

The LPU (GroqChip / TSP) has 230 MB of on-die SRAM and no DRAM: weights and KV cache must fit
the aggregate SRAM of enough chips. Execution is compiled and deterministic: no kernel launches;
each operator pays the fixed latency of its pass through the chip's functional units, and each
chip-to-chip step pays the C2C hop latency.
"""

from __future__ import annotations

from tokenfab import Device, Efficiency, Interconnect, Link, MemoryLevel, Power, Price, TokenPrice
from tokenfab.sources import cite

URL = {
    "calibration_op_latency": "tokenfab calibration: least-squares fit over public per-user speeds, docs/modelling.md 5.4, recomputed by tests/test_sram_calibration.py",
    "tpu_groq_lpu": "https://techpowerup.com/news-tags/Processor?page=3 (Groq LPU: 750 TOPS INT8, 188 TFLOPS FP16)",
    "groq_isca2022": "https://wow.groq.com/isca-2022-paper/ (up to 10,440 TSPs, >2 TB global SRAM, <3 us end to end)",
    "tnp_groq2020": "https://www.nextplatform.com/2020/09/29/groq-shares-recipe-for-tsp-nodes-systems/",
    "linley_groq": "https://www.linleygroup.com/newsletters/newsletter_detail.php?num=6233",
    "01me_groq": "https://01.me/en/2024/02/groq/ (215 W TDP per the Groq spec image)",
    "isopack_groq": "http://isopack.blogspot.com/2024 (GroqCard ~$20,000 at quantity 1; 'a Groq board costs under $500 "
    "to build... The boards for 512 devices come out to $250,000, figure double that' for the system)",
    "groq_pricing": "https://groq.com/pricing (per-token prices; 70B figures as quoted by "
    "https://theneuralbase.com/groq/learn/intermediate/cost-per-user-for-voice-applications/, April 2026; "
    "8B figures recalled, not re-read)",
    "groq_truepoint": "https://groq.com/blog/inside-the-lpu-deconstructing-groq-speed (2025-08-01, TruePoint numerics: "
    "'we can store weights and activations at lower precision while performing all matrix operations at full "
    "precision'; 'FP8 storage for activations in error-tolerant layers'; 'FP32 for attention logits')",
    "sambanova_precision_blog": "https://sambanova.ai/blog/does-reduced-precision-hurt (2024-06-20: 'Groq utilizes "
    "a unique form of reduced precision known as TruePoint Technology')",
    "sambanova_sn40l_table": "https://sambanova.ai/blog/sn40l-chip-best-inference-solution (2024-09-10, Table 1 of "
    "Artificial Analysis per-user speeds: column 'Groq 8-bit')",
    "groq_docs_models": "https://console.groq.com/docs/models (Supported Models, 'SPEED (T/SEC)' column, 2025-2026: "
    "llama-3.1-8b-instant 560, llama-3.3-70b-versatile 280, openai/gpt-oss-120b 500, openai/gpt-oss-20b 1000; row text "
    "read from copies of the page dated Feb and Oct 2026)",
    "assumption": "tokenfab modelling assumption, documented in docs/modelling.md and docs/vendors.md",
}

URL_GROQ_PRICING = URL["groq_pricing"]

# Fixed latency of one operator's pass through the TSP's functional units (MEM -> VXM/MXM -> SXM,
# about 1,350 cycles at 900 MHz), including the compiler's synchronisation of a tensor-parallel group.
# Not published, so calibrated: the least-squares fit (in log space) of the predicted per-user speed
# to the two calibration points of this pack, GroqCloud Llama-3.1-8B at 751 tokens/s and 70B at 250
# tokens/s, both int8 (calibration.yaml groq-lpu-llama3.1-8b-per-user-aa and the AA table's 70B
# column), each at the default deployment (fewest chips, best mapping). At 1.5 us the 8B comes out
# ~14% fast and the 70B ~16% slow; tests/test_sram_calibration.py recomputes the fit.
# One latency for every Groq software release (unlike Cerebras): the Feb-2024 speeds [tpu_groq_lpu] fit ~1.55 us
# and Groq's own 2025-2026 speeds [groq_docs_models] ~1.67 us, so no release shows a different plain per-token
# time; those rows are checks in points.json (0.75x-1.20x), not further calibrations.
_OP_LATENCY_S = 1.5e-6
# C2C hop latency per collective step: ISCA 2022 bounds a global access across the largest system
# (many hops) by 3 us; one hop plus the software-scheduled handoff is taken as 2 us.
_HOP_S = 2e-6

LPU = Device(
    id="groq:lpu",
    vendor="Groq",
    name="GroqChip LPU v1 (TSP, 230 MB SRAM)",
    year=2020,
    peak_flops_per_s={"int8": 750e12, "fp16": 188e12},
    memory=[
        MemoryLevel(
            name="sram", kind="sram", capacity_bytes=230e6, bytes_per_s=80e12, efficiency=0.9, joules_per_byte=2e-12
        )
    ],
    interconnect=Interconnect(
        scale_up=Link(
            technology="Groq C2C (RealScale), 8 chips all-to-all per node, Dragonfly across nodes",
            bytes_per_s=240e9,
            topology="dragonfly",
            domain_size=10440,
            latency_s=_HOP_S,
            efficiency=0.8,
            joules_per_byte=5.5e-12 * 8,
        )
    ),
    power=Power(tdp_w=215, idle_w=60),
    # System capex per chip, Groq's own build cost (it runs GroqCloud on its own racks), not the $20,000
    # quantity-1 card price: boards for 512 chips ~$250K, doubled for hosts, network and racks [isopack_groq].
    price=Price(
        capex_usd=2 * 250_000 / 512,
        provider="estimate: system build cost per chip (boards $250K per 512 chips, x2 for the rest)",
        date="2024-02",
        per_token=(
            TokenPrice(
                model="llama-3.1-8b",
                usd_per_mtok_input=0.05,
                usd_per_mtok_output=0.08,
                source=URL_GROQ_PRICING,
                date="2024-2026",
            ),
            TokenPrice(
                model="llama-3.1-70b",
                usd_per_mtok_input=0.59,
                usd_per_mtok_output=0.79,
                source=URL_GROQ_PRICING,
                date="2026-04",
            ),
            TokenPrice(
                model="llama-3.3-70b",
                usd_per_mtok_input=0.59,
                usd_per_mtok_output=0.79,
                source=URL_GROQ_PRICING,
                date="2026-04",
            ),
        ),
    ),
    efficiency=Efficiency(
        gemm_max_default=0.8,
        gemm_half_rows=0.0,
        vector_fraction=1.0,
        overhead_s=_OP_LATENCY_S,
        attention_memory_fraction=1.0,
        memory_reserve_fraction=0.05,
    ),
    sources=cite(
        URL,
        peak__int8="tpu_groq_lpu,linley_groq: 750 TOPS nominal (Linley: 5,760 TOPS per 8-card node)",
        peak__fp16="tpu_groq_lpu: 188 TFLOPS",
        memory__sram="tpu_groq_lpu,groq_isca2022,tnp_groq2020: 230 MB on-die SRAM, 80 TB/s; no HBM or DRAM",
        memory__sram__efficiency="assumption: compiler-scheduled streams keep SRAM near peak; 0.9",
        memory__sram__joules_per_byte="assumption: on-die SRAM ~0.25 pJ/bit (Horowitz-scale ratios in the reference)",
        interconnect__scale_up="linley_groq,tnp_groq2020,groq_isca2022: 16 links x 4 lanes x 30 Gb/s = 480 GB/s "
        "bidirectional (240 per direction); 8-chip all-to-all nodes in a Dragonfly",
        interconnect__scale_up__latency_s="groq_isca2022,assumption: <3 us end to end bounds one hop; 2 us per step",
        interconnect__scale_up__efficiency="assumption: 0.8",
        power__tdp_w="01me_groq: 215 W",
        power__idle_w="assumption: SRAM machine with no DRAM refresh; ~28% of TDP static",
        price="isopack_groq: capex estimate $977 per chip = 2 x $250,000 / 512 (system build cost; the GroqCard's "
        "$20,000 is a quantity-1 retail price); per-token list prices: groq_pricing",
        efficiency__overhead_s="calibration_op_latency,groq_docs_models: 1.5 us per operator pass, least squares over "
        "GroqCloud 8B and 70B int8 per-user speeds (Sep 2024); the Feb-2024 and 2025-2026 speeds fit 1.55 and "
        "1.67 us, so one latency serves every release (docs/modelling.md 5.4)",
        efficiency__gemm_max="assumption: MXM weight-stationary, no batch-size penalty (gemm_half_rows 0)",
        default_weights="groq_truepoint,sambanova_precision_blog,sambanova_sn40l_table: GroqCloud stores weights "
        "at 8 bits (int8 storage; matrix maths at 16-bit, 'all matrix operations at full precision')",
    ),
    default_weights="int8",
    notes="The next-generation LPU (LP30 / Groq 3) is not modelled: its power is not published. GroqCloud stores weights "
    "at reduced precision (TruePoint numerics [groq_truepoint]; 8-bit per Artificial Analysis' table "
    "[sambanova_sn40l_table]): weights default to int8 storage with 16-bit maths; pass weights='bf16' or 'fp16' "
    "for 16-bit weights.",
)

DEVICES = [LPU]

# -- training (issue 13): the LPU serves inference only ---------------------------------------
import attrs  # noqa: E402

LPU = attrs.evolve(
    LPU,
    training_note=(
        "the Groq LPU is an inference chip (GroqCloud and GroqRack serve models; Groq sells no training), and its "
        "230 MB of SRAM per chip with no DRAM leaves no room for gradients and optimizer states"
    ),
)
DEVICES = [LPU]
