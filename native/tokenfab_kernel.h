/* tokenfab cost kernel: per-operator time and energy for scenarios x operators.
 *
 * The one declaration shared by the C source (tokenfab_kernel.c) and the cffi
 * build script (build_kernel.py, which feeds this file to ffi.cdef).
 * Units are SI: FLOP, bytes, seconds, joules, watts. Arrays are contiguous,
 * row-major float64, owned by the caller; the kernel allocates nothing.
 *
 * Index conventions: s in [0, n_scenarios), o in [0, n_ops), l in [0, n_levels)
 *   [S*O]   element s*n_ops + o
 *   [S*O*L] element (s*n_ops + o)*n_levels + l
 *   [S*L]   element s*n_levels + l
 */

typedef struct {
    size_t n_scenarios;
    size_t n_ops;
    size_t n_levels;
    /* lengths of the buffers actually passed, checked against the sizes above */
    size_t len_so;
    size_t len_sol;
    size_t len_sl;
    size_t len_o;
    size_t len_s;
    /* [S*O] per device, per instance of the op (one layer) */
    const double *flops;            /* FLOP */
    const double *flop_rate;        /* peak x max efficiency, FLOP/s */
    const double *gemm_rows;        /* rows of the matrix product (tokens in the step) */
    const double *gemm_half_rows;   /* rows at which shape efficiency is 1/2; 0 = no shape term */
    const double *comm_bytes;       /* bytes each device sends in the collective */
    const double *comm_bytes_per_s; /* effective link bandwidth, bytes/s */
    const double *comm_latency_s;   /* latency term of the collective, s */
    const double *overhead_s;       /* per-launch overhead, s */
    const double *joules_per_flop;  /* dynamic energy per FLOP */
    const double *bandwidth_scale;  /* fraction of each level's bandwidth this op reaches, (0, 1] */
    const double *level_bytes;      /* [S*O*L] bytes moved at each memory level */
    const double *level_bytes_per_s;/* [S*L] effective bandwidth of each level */
    const double *joules_per_byte;  /* [S*L] dynamic energy per byte at each level */
    const double *count;            /* [O] instances of the op per step (layers) */
    const double *joules_per_comm_byte; /* [S] */
    const double *idle_w;           /* [S] static power of one device */
    const double *max_w;            /* [S] power ceiling of one device (TDP) */
} tf_inputs;

typedef struct {
    /* [S*O], each already multiplied by count[o] */
    double *compute_s;
    double *memory_s;
    double *comm_s;
    double *overhead_s;
    double *seconds;   /* count * (max(compute, memory, comm) + overhead) */
    double *joules;    /* min(dynamic + idle_w * seconds, max_w * seconds) */
    double *bound;     /* 0 compute, 1 memory, 2 communication, 3 overhead */
    /* [S] sums over ops */
    double *total_s;
    double *total_joules;
} tf_outputs;

/* Status codes returned by tf_evaluate; *bad_index names the offending element. */
#define TF_OK 0
#define TF_ERR_SIZE -1
#define TF_ERR_NEGATIVE -2
#define TF_ERR_RATE -3
#define TF_ERR_BANDWIDTH -4
#define TF_ERR_COMM -5
#define TF_ERR_SCALE -6

int tf_evaluate(const tf_inputs *in, const tf_outputs *out, size_t *bad_index);

/* Fused totals (core/cost/fastpath.py): per-op coefficient rows of a plan, TF_ROW_FIELDS each,
 * in the order of these indices (the same names as tokenfab.lowering.Op and the engine's rows). */
#define TF_ROW_COUNT 0
#define TF_ROW_WINDOW 1
#define TF_ROW_FLOPS_PER_TOKEN 2
#define TF_ROW_FLOPS_PER_TOKEN_PROMPT 3
#define TF_ROW_FLOPS_PER_SEQ 4
#define TF_ROW_FLOPS_PER_PAIR 5
#define TF_ROW_FLOPS_PER_PAIR_PROMPT 6
#define TF_ROW_FLOPS_PER_CTX_PROMPT 7
#define TF_ROW_ROWS_PER_TOKEN 8
#define TF_ROW_ROWS_PER_SEQ 9
#define TF_ROW_ROWS_PER_SEQ_TOKEN 10
#define TF_ROW_ACT_PER_TOKEN 11
#define TF_ROW_ACT_PER_SEQ 12
#define TF_ROW_KV_READ_PER_CTX 13
#define TF_ROW_KV_WRITE_PER_TOKEN 14
#define TF_ROW_EXPERTS_TOTAL 15
#define TF_ROW_EXPERTS_TOP_K 16
#define TF_ROW_WEIGHT_BYTES 17
#define TF_ROW_EXPERT_BYTES 18
#define TF_ROW_COMM_PER_TOKEN 19
#define TF_ROW_RATE 20
#define TF_ROW_HALF_ROWS 21
#define TF_ROW_COMM_FACTOR 22
#define TF_ROW_COMM_BW 23
#define TF_ROW_COMM_LATENCY 24
#define TF_ROW_JOULES_PER_FLOP 25
#define TF_ROW_SCALE 26
#define TF_ROW_COMM_LATENCY_LARGE 27 /* an all-reduce's regime for large messages (tokenfab.collectives) */
#define TF_ROW_COMM_BW_LARGE 28
#define TF_ROW_EXPERT_IMBALANCE 29 /* c: busiest expert-parallel device's load 1 + c/sqrt(R) (tokenfab.engine) */
#define TF_ROW_FIELDS 30
#define TF_MAX_LEVELS 8
#define TF_MAX_OPS 64 /* plans with more op rows take the scalar path */

typedef struct {
    size_t n_scenarios;
    size_t n_ops;
    size_t n_levels;
    size_t len_rows;     /* n_ops * TF_ROW_FIELDS */
    size_t len_levels;   /* n_levels */
    size_t len_s;        /* n_scenarios */
    const double *replica_batch; /* [S] sequences of one replica */
    const double *tokens;        /* [S] new tokens per sequence */
    const double *context;       /* [S] cached tokens per sequence */
    const double *rows;          /* [O * TF_ROW_FIELDS] */
    const double *level_bytes_per_s; /* [L] */
    const double *joules_per_byte;   /* [L] */
    size_t weights_level;
    size_t kv_level;
    double tp;
    double pp;
    double ep;
    double prompt;       /* 1: a prefill step (prompt tokens), 0: decode */
    double overhead_s;
    double idle_w;
    double max_w;
    double joules_per_comm_byte;
    /* A prompt chunk mixed into every scenario's step (chunked prefill, tokenfab.engine.run_plan's
     * extra part): extra_tokens prompt tokens after extra_context cached ones for each of
     * extra_batch sequences of the replica, not sampled. extra_batch 0: no chunk. */
    double extra_batch;
    double extra_tokens;
    double extra_context;
} tf_plan_inputs;
#define TF_PLAN_EXTRA 1 /* tf_plan_inputs has the extra_* fields (an older build lacks them) */

typedef struct {
    double *seconds;  /* [S] step wall time */
    double *joules;   /* [S] replica energy over the step */
    signed char *bound; /* [S] 0 compute, 1 memory, 2 communication, 3 overhead */
    double *flops;    /* [S] FLOPs of one device of the busiest group's micro-batch trip; NULL: not wanted */
    double *bytes;    /* [S] bytes moved, same scope; NULL: not wanted */
} tf_totals;

int tf_step_totals(const tf_plan_inputs *in, const tf_totals *out, size_t *bad_index);

/* One scenario on each of n_plans prepared plans (the mapping search ranks its candidates in one
 * call): plans[i] at (batch[i], tokens[i], context[i]), every plan's scenario fields ignored;
 * prompt as in tf_plan_inputs. On a fault, *bad_plan names the plan and the status is returned. */
int tf_plans_totals(const tf_plan_inputs *const *plans, size_t n_plans, const double *batch, const double *tokens,
                    const double *context, double prompt, double *seconds, double *joules, signed char *bound,
                    size_t *bad_plan);
