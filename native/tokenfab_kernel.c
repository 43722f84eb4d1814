/* tokenfab cost kernel. See tokenfab_kernel.h for the data layout and
 * core/cost/kernel.py (reference_evaluate) for the same maths in numpy.
 *
 * For each scenario s and operator o (one instance, per device):
 *   eff      = rows / (rows + half_rows)            if half_rows > 0, else 1
 *   compute  = flops / (flop_rate * eff)            (0 when flops == 0)
 *   memory   = sum_l bytes_l / (bandwidth_l * scale) (0 terms skipped)
 *   comm     = latency + comm_bytes / comm_bw       (0 when no bytes and no latency)
 *   seconds  = count * (max(compute, memory, comm) + overhead)
 *   dynamic  = count * (flops*J_flop + sum_l bytes_l*J_l + comm_bytes*J_comm)
 *   joules   = min(dynamic + idle_w*seconds, max_w*seconds)
 *   bound    = argmax(compute, memory, comm, overhead), first on ties
 * Pure, reentrant: no globals, no allocation.
 */
#include <stddef.h>
#include <math.h>
#include "tokenfab_kernel.h"

static int bad(double v) { return !(v >= 0.0) || isinf(v); }

/* One operator of one scenario: the maths in the header comment. bytes/bw/jb: [L] of this op.
 * Returns TF_OK or a status; *which is -1 for an op-level fault or the level index. */
static int op_cost(const double v[11], const double *bytes, const double *bw, const double *jb, size_t L,
                   double idle, double cap, double jcomm, double r[7], long *which)
{
    double flops = v[0], rate = v[1], rows = v[2], half = v[3], cbytes = v[4], cbw = v[5];
    double clat = v[6], over = v[7], jflop = v[8], count = v[9], scale = v[10];
    *which = -1;
    if (!(scale > 0.0) || scale > 1.0) return TF_ERR_SCALE;
    if (bad(flops) || bad(rows) || bad(half) || bad(cbytes) || bad(clat)
        || bad(over) || bad(jflop) || bad(count) || bad(rate) || bad(cbw)) return TF_ERR_NEGATIVE;
    double compute = 0.0;
    if (flops > 0.0) {
        double eff = 1.0;
        if (half > 0.0) eff = rows / (rows + half);
        if (!(rate > 0.0) || !(eff > 0.0)) return TF_ERR_RATE;
        compute = flops / (rate * eff);
    }
    double memory = 0.0, dyn = flops * jflop;
    for (size_t l = 0; l < L; l++) {
        double b = bytes[l];
        if (bad(b) || bad(bw[l]) || bad(jb[l])) { *which = (long)l; return TF_ERR_NEGATIVE; }
        if (b > 0.0) {
            if (!(bw[l] > 0.0)) { *which = (long)l; return TF_ERR_BANDWIDTH; }
            memory += b / (bw[l] * scale);
            dyn += b * jb[l];
        }
    }
    double comm = 0.0;
    if (cbytes > 0.0) {
        if (!(cbw > 0.0)) return TF_ERR_COMM;
        comm = clat + cbytes / cbw;
        dyn += cbytes * jcomm;
    } else if (clat > 0.0) {
        comm = clat;
    }
    double top = compute, code = 0.0;
    if (memory > top) { top = memory; code = 1.0; }
    if (comm > top) { top = comm; code = 2.0; }
    if (over > top) { code = 3.0; }
    double longest = top > comm ? top : comm; /* max(compute, memory, comm) */
    double seconds = count * (longest + over);
    dyn *= count;
    double joules = dyn + idle * seconds;
    double ceiling = cap * seconds;
    if (joules > ceiling) joules = ceiling;
    r[0] = count * compute; r[1] = count * memory; r[2] = count * comm; r[3] = count * over;
    r[4] = seconds; r[5] = joules; r[6] = code;
    return TF_OK;
}

int tf_evaluate(const tf_inputs *in, const tf_outputs *out, size_t *bad_index)
{
    size_t S = in->n_scenarios, O = in->n_ops, L = in->n_levels;
    *bad_index = 0;
    if (S == 0 || O == 0 || L == 0) return TF_ERR_SIZE;
    if (O > ((size_t)-1) / S || L > ((size_t)-1) / (S * O)) return TF_ERR_SIZE;
    if (in->len_so != S * O || in->len_sol != S * O * L || in->len_sl != S * L
        || in->len_o != O || in->len_s != S) return TF_ERR_SIZE;

    for (size_t s = 0; s < S; s++) {
        double idle = in->idle_w[s], cap = in->max_w[s], jcomm = in->joules_per_comm_byte[s];
        if (bad(idle) || bad(cap) || bad(jcomm)) { *bad_index = s; return TF_ERR_NEGATIVE; }
        double total_s = 0.0, total_j = 0.0;
        for (size_t o = 0; o < O; o++) {
            size_t i = s * O + o;
            double v[11] = {in->flops[i], in->flop_rate[i], in->gemm_rows[i], in->gemm_half_rows[i],
                            in->comm_bytes[i], in->comm_bytes_per_s[i], in->comm_latency_s[i], in->overhead_s[i],
                            in->joules_per_flop[i], in->count[o], in->bandwidth_scale[i]};
            double r[7];
            long which;
            int status = op_cost(v, in->level_bytes + i * L, in->level_bytes_per_s + s * L,
                                 in->joules_per_byte + s * L, L, idle, cap, jcomm, r, &which);
            if (status != TF_OK) { *bad_index = which < 0 ? i : i * L + (size_t)which; return status; }
            out->compute_s[i] = r[0];
            out->memory_s[i] = r[1];
            out->comm_s[i] = r[2];
            out->overhead_s[i] = r[3];
            out->seconds[i] = r[4];
            out->joules[i] = r[5];
            out->bound[i] = r[6];
            total_s += r[4];
            total_j += r[5];
        }
        out->total_s[s] = total_s;
        out->total_joules[s] = total_j;
    }
    return TF_OK;
}

/* Fused path: scenario (replica batch, tokens, context) -> step totals, straight from the plan's
 * coefficient rows. This scalar path takes one scenario at a time; it is the reference the blocked
 * path below reproduces bit for bit, and the path that finds and names faults.
 * Mirrors tokenfab.engine.run_plan, with its mixed-in prompt part when extra_batch > 0 (core/cost/fastpath.py):
 *   layout   g = B/ep, busy = max(g, 1), m = min(busy, pp), time group busy/m, mean group g/m
 *   per group: N = Bg*T tokens, sampled = Bg*(prompt ? 1 : T), P and K from the op's window,
 *   coefficients as tokenfab.lowering, then op_cost for every op;
 *   seconds = sum over ops (time group); joules = tp ep (m E_mean + idle (pp W - m W_mean));
 *   bound = argmax over codes of the time group's seconds per code. */
static void attention_pairs(double B, double T, double C, double w, double *P, double *K)
{
    double seen = w - C;
    if (seen < 0.0) seen = 0.0;
    if (seen > T) seen = T;
    double whole = C + T;
    double lim = w < whole ? w : whole;
    double per_seq = seen * C + seen * (seen + 1.0) / 2.0 + (T - seen) * lim;
    *P = B * per_seq;
    *K = B * lim;
}

/* The largest expert load one device can carry over the mean: min(n, E / k), n = tp ep devices. */
static double imbalance_cap(const tf_plan_inputs *in, double E, double k)
{
    double cap = E / (k > 1.0 ? k : 1.0), n = in->tp * in->ep;
    return cap > n ? n : cap;
}

/* One group's micro-batch: Bg sequences adding T tokens after C (prompt tokens when in->prompt),
 * plus the share xb of the extra prompt chunk (in->extra_tokens after in->extra_context, not
 * sampled; xb = 0: none), as tokenfab.engine._coefficients sums its parts. */
static int group_cost(const tf_plan_inputs *in, double Bg, double T, double C, double xb, double routed, int timed,
                      double acc[8], size_t s)
{
    size_t O = in->n_ops, L = in->n_levels;
    int prompt = in->prompt != 0.0, extra = xb != 0.0;
    double xt = in->extra_tokens, xc = in->extra_context;
    double Ng = Bg * T, sampled = Bg * (prompt ? 1.0 : T);
    double td = prompt ? 0.0 : Ng, tq = prompt ? Ng : 0.0;
    if (extra) tq = tq + xb * xt;
    double N = td + tq;
    double T_rows = extra && xt > T ? xt : T; /* the longest part's tokens per sequence */
    for (size_t o = 0; o < O; o++) {
        const double *row = in->rows + o * TF_ROW_FIELDS;
        double w = row[TF_ROW_WINDOW] > 0.0 ? row[TF_ROW_WINDOW] : INFINITY;
        double P, K;
        attention_pairs(Bg, T, C, w, &P, &K);
        double Pd = prompt ? 0.0 : P, Pq = prompt ? P : 0.0, Kd = prompt ? 0.0 : K, Kq = prompt ? K : 0.0;
        if (extra) {
            double Px, Kx;
            attention_pairs(xb, xt, xc, w, &Px, &Kx);
            Pq = Pq + Px;
            Kq = Kq + Kx;
        }
        double flops = td * row[TF_ROW_FLOPS_PER_TOKEN] + tq * row[TF_ROW_FLOPS_PER_TOKEN_PROMPT]
                       + sampled * row[TF_ROW_FLOPS_PER_SEQ] + Pd * row[TF_ROW_FLOPS_PER_PAIR]
                       + Pq * row[TF_ROW_FLOPS_PER_PAIR_PROMPT] + Kq * row[TF_ROW_FLOPS_PER_CTX_PROMPT];
        double rows = N * row[TF_ROW_ROWS_PER_TOKEN] + sampled * row[TF_ROW_ROWS_PER_SEQ];
        rows = rows + T_rows * row[TF_ROW_ROWS_PER_SEQ_TOKEN];
        double act = N * row[TF_ROW_ACT_PER_TOKEN] + sampled * row[TF_ROW_ACT_PER_SEQ];
        double kv = (Kd + Kq) * row[TF_ROW_KV_READ_PER_CTX] + N * row[TF_ROW_KV_WRITE_PER_TOKEN];
        double E = row[TF_ROW_EXPERTS_TOTAL], k = row[TF_ROW_EXPERTS_TOP_K];
        double miss = E > 0.0 ? 1.0 - k / (E > 1.0 ? E : 1.0) : 1.0;
        double distinct = E > 0.0 ? E * (1.0 - pow(miss, routed)) : 0.0; /* E = 0: E (1 - 1^R) = 0 */
        if (E > 0.0) {
            /* busiest device under expert parallelism: min(1 + c / sqrt(R), min(n, E / k)) times the mean */
            double c = row[TF_ROW_EXPERT_IMBALANCE], imbalance = 1.0;
            if (timed && c > 0.0) {
                imbalance = 1.0 + c / sqrt(routed);
                double cap = imbalance_cap(in, E, k);
                imbalance = imbalance > cap ? cap : imbalance;
            }
            flops = routed * row[TF_ROW_FLOPS_PER_TOKEN] * imbalance;
            rows = routed * k / distinct * imbalance;
        }
        if (rows < 0.0) rows = 0.0;
        double lb[TF_MAX_LEVELS] = {0.0};
        lb[in->weights_level] += row[TF_ROW_WEIGHT_BYTES] + row[TF_ROW_EXPERT_BYTES] * distinct + act;
        lb[in->kv_level] += kv;
        double wire = N * row[TF_ROW_COMM_PER_TOKEN] * row[TF_ROW_COMM_FACTOR];
        double clat = row[TF_ROW_COMM_LATENCY], cbw = row[TF_ROW_COMM_BW];
        double clat2 = row[TF_ROW_COMM_LATENCY_LARGE], cbw2 = row[TF_ROW_COMM_BW_LARGE];
        if (clat2 != clat || cbw2 != cbw) { /* two regimes: the cheaper at this message size */
            double first = clat + wire / cbw, second = clat2 + wire / cbw2;
            if (!(first <= second)) { clat = clat2; cbw = cbw2; }
        }
        double v[11] = {flops, row[TF_ROW_RATE], rows, row[TF_ROW_HALF_ROWS], wire, cbw, clat, in->overhead_s,
                        row[TF_ROW_JOULES_PER_FLOP], row[TF_ROW_COUNT], row[TF_ROW_SCALE]};
        double r[7];
        long which;
        int status = op_cost(v, lb, in->level_bytes_per_s, in->joules_per_byte, L, in->idle_w, in->max_w,
                             in->joules_per_comm_byte, r, &which);
        if (status != TF_OK) return status;
        acc[0] += r[4];
        acc[1] += r[5];
        if (timed) {
            acc[2 + (int)r[6]] += r[4];
            double bytes = 0.0;
            for (size_t l = 0; l < L; l++) bytes += lb[l];
            acc[6] += flops * row[TF_ROW_COUNT];
            acc[7] += bytes * row[TF_ROW_COUNT];
        }
    }
    (void)s;
    return TF_OK;
}

/* One scenario through the scalar path above: the exact status and the outputs of scenario s. */
static int scenario_totals(const tf_plan_inputs *in, const tf_totals *out, size_t s)
{
    double active = in->tp * in->ep;
    double B = in->replica_batch[s], T = in->tokens[s], C = in->context[s];
    double XB = in->extra_batch, XT = in->extra_tokens, XC = in->extra_context;
    if (bad(B) || bad(T) || bad(C) || bad(XB) || bad(XT) || bad(XC)) return TF_ERR_NEGATIVE;
    double mean = B / in->ep;
    double busy = mean > 1.0 ? mean : 1.0;
    double micro = busy < in->pp ? busy : in->pp;
    double work = B * T;
    if (XB != 0.0) work = work + XB * XT; /* the chunk's tokens are routed to the experts too */
    double routed = work * (1.0 / micro);
    double xb = XB != 0.0 ? XB * (1.0 / (in->ep * micro)) : 0.0; /* one group's micro-batch share */
    double timed[8] = {0.0}, avg[8] = {0.0};
    double b_time = busy / micro, b_mean = mean / micro;
    int status = group_cost(in, b_time, T, C, xb, routed, 1, timed, s);
    if (b_mean == b_time && in->ep == 1.0) { /* one group, no expert imbalance: the mean is the timed one */
        avg[0] = timed[0];
        avg[1] = timed[1];
    } else if (status == TF_OK) {
        status = group_cost(in, b_mean, T, C, xb, routed, 0, avg, s);
    }
    if (status != TF_OK) return status;
    double seconds = timed[0];
    out->seconds[s] = seconds;
    out->joules[s] = active * (micro * avg[1] + in->idle_w * (in->pp * seconds - micro * avg[0]));
    int code = 0;
    for (int c = 1; c < 4; c++) if (timed[2 + c] > timed[2 + code]) code = c;
    out->bound[s] = (signed char)code;
    if (out->flops) out->flops[s] = timed[6];
    if (out->bytes) out->bytes[s] = timed[7];
    return TF_OK;
}

/* ---- The blocked path: the same maths, operators outside, TF_BLOCK scenarios inside. ----
 * Every expression keeps the scalar path's operations and their order (no FMA: -ffp-contract=off),
 * so both give the same bits; terms the scalar path adds as exact zeros (the other phase's terms,
 * an absent expert term) are left out, and branches become selects, so the inner loops vectorise.
 * A plan whose constants could fault (a zero rate, a negative or non-finite coefficient ...) takes
 * the scalar path whole; a block whose lanes meet a fault (a NaN or an infinity in any sum) is
 * redone by it, which names the first offending scenario exactly as before. */
#define TF_BLOCK 128
#if defined(__GNUC__)
#define TF_INLINE static inline __attribute__((always_inline))
#else
#define TF_INLINE static inline
#endif

typedef struct { /* one group of a block of scenarios, and what every op without a window shares */
    size_t n;
    int timed; /* 1: the busiest group (expert imbalance applies), 0: the mean group */
    double B[TF_BLOCK], T[TF_BLOCK], C[TF_BLOCK], routed[TF_BLOCK];
    double N[TF_BLOCK], sampled[TF_BLOCK], P[TF_BLOCK], K[TF_BLOCK];
} tf_lanes;

typedef struct { /* per lane sums over ops: seconds, joules, seconds by bound code, FLOPs, bytes */
    double seconds[TF_BLOCK], joules[TF_BLOCK], by_code[4][TF_BLOCK], flops[TF_BLOCK], bytes[TF_BLOCK];
    double faults[TF_BLOCK]; /* rows + wire bytes: NaN or infinite where the scalar path would fault */
} tf_acc;

typedef struct { /* one op row, with the call's constants the lanes need */
    double count, w, fpt, fptp, fps, fpp, fppp, fpcp, rpt, rps, rpst, apt, aps, kvr, kvw, E, k, wb, eb, cpt;
    double rate, half, factor, cbw, clat, jflop, clat2, cbw2, over, idle, cap, jcomm;
    double bws0, bws1, jb0, jb1; /* the two level slots (lower level index first): bandwidth x scale, J/B */
    double weights_first;        /* 1: weights in slot 0 (split levels), else 0 */
    double imb_c, imb_cap;       /* expert imbalance min(1 + c / sqrt(R), cap) of the busiest device (ep > 1) */
    int moe, comm, shape;        /* comm: 0 no wire bytes, 1 one regime, 2 two; shape: half_rows > 0 */
} tf_op;

/* Attention pairs P and keys K of each lane for a window w (INFINITY: none): attention_pairs. */
static void lane_pairs(const tf_lanes *ln, double w, double *restrict P, double *restrict K)
{
    for (size_t i = 0; i < ln->n; i++) {
        double Bg = ln->B[i], T = ln->T[i], C = ln->C[i];
        double seen = w - C;
        seen = seen < 0.0 ? 0.0 : seen;
        seen = seen > T ? T : seen;
        double whole = C + T;
        double lim = w < whole ? w : whole;
        double per_seq = seen * C + seen * (seen + 1.0) / 2.0 + (T - seen) * lim;
        P[i] = Bg * per_seq;
        K[i] = Bg * lim;
    }
}

/* The lanes of one op. moe, prompt, comm, split (weights and KV in different levels) and shape are
 * constants at each call site, so each combination compiles to its own branch-free loop. */
TF_INLINE void op_lanes(const tf_op *op, const tf_lanes *ln, const double *Ps, const double *Ks,
                        const double *distinct, tf_acc *restrict acc, const int moe, const int prompt,
                        const int comm, const int split, const int shape)
{
    const double fpt = op->fpt, fptp = op->fptp, fps = op->fps, fpp = op->fpp, fppp = op->fppp;
    const double fpcp = op->fpcp, rpt = op->rpt, rps = op->rps, rpst = op->rpst, apt = op->apt, aps = op->aps;
    const double kvr = op->kvr, kvw = op->kvw, k = op->k, wb = op->wb, eb = op->eb, cpt = op->cpt;
    const double rate = op->rate, half = op->half, factor = op->factor, cbw = op->cbw, clat = op->clat;
    const double jflop = op->jflop, clat2 = op->clat2, cbw2 = op->cbw2, over = op->over, idle = op->idle;
    const double cap = op->cap, jcomm = op->jcomm, bws0 = op->bws0, bws1 = op->bws1, jb0 = op->jb0;
    const double jb1 = op->jb1, count = op->count, wfirst = op->weights_first;
    const double link = clat > 0.0 ? clat : 0.0; /* no wire bytes: the latency alone */
    const double imb_c = ln->timed ? op->imb_c : 0.0, imb_cap = op->imb_cap;
    const double *restrict Ns = ln->N, *restrict Ss = ln->sampled, *restrict Ts = ln->T, *restrict Rs = ln->routed;
    const size_t n = ln->n;
    for (size_t i = 0; i < n; i++) {
        double N = Ns[i], sampled = Ss[i], T = Ts[i], P = Ps[i], K = Ks[i];
        double flops = prompt ? N * fptp + sampled * fps + P * fppp + K * fpcp : N * fpt + sampled * fps + P * fpp;
        double rows = N * rpt + sampled * rps;
        rows = rows + T * rpst;
        double act = N * apt + sampled * aps;
        double kv = K * kvr + N * kvw;
        double wbytes = wb + act;
        if (moe) {
            double ex = distinct[i];
            double imb = 1.0 + imb_c / sqrt(Rs[i]);
            imb = imb > imb_cap ? imb_cap : imb;
            imb = imb_c > 0.0 ? imb : 1.0;
            flops = Rs[i] * fpt * imb;
            rows = Rs[i] * k / ex * imb;
            wbytes = wb + eb * ex + act;
        }
        double s0 = split ? (wfirst > 0.0 ? wbytes : kv) : wbytes + kv;
        double s1 = split ? (wfirst > 0.0 ? kv : wbytes) : 0.0;
        double wire = comm ? N * cpt * factor : 0.0;
        double eff = shape ? rows / (rows + half) : 1.0;
        double q = flops / (rate * eff);
        double compute = flops > 0.0 ? q : 0.0;
        double memory = s0 / bws0;
        double dyn = flops * jflop;
        dyn = dyn + s0 * jb0;
        if (split) {
            memory = memory + s1 / bws1;
            dyn = dyn + s1 * jb1;
        }
        double cm = link;
        if (comm) {
            double first = clat + wire / cbw;
            if (comm == 2) { /* the cheaper regime at this message size, as the scalar path picks it */
                double second = clat2 + wire / cbw2;
                first = first <= second ? first : second;
            }
            cm = first;
            dyn = dyn + wire * jcomm;
        }
        double top = compute, code = 0.0; /* a double, as wide as the lanes */
        code = memory > top ? 1.0 : code;
        top = memory > top ? memory : top;
        code = cm > top ? 2.0 : code;
        top = cm > top ? cm : top;
        code = over > top ? 3.0 : code;
        double longest = top > cm ? top : cm;
        double seconds = count * (longest + over);
        dyn = dyn * count;
        double joules = dyn + idle * seconds;
        double ceiling = cap * seconds;
        joules = joules > ceiling ? ceiling : joules;
        acc->seconds[i] += seconds;
        acc->joules[i] += joules;
        acc->by_code[0][i] += code == 0.0 ? seconds : 0.0;
        acc->by_code[1][i] += code == 1.0 ? seconds : 0.0;
        acc->by_code[2][i] += code == 2.0 ? seconds : 0.0;
        acc->by_code[3][i] += code == 3.0 ? seconds : 0.0;
        acc->flops[i] += flops * count;
        acc->bytes[i] += (s0 + s1) * count;
        acc->faults[i] += rows + wire;
    }
}

/* GCC: no jump threading here (it turns the bound code's selects back into branches, which stops
 * the vectoriser); on x86-64 Linux, an AVX2 clone chosen at load time (an ifunc) where the CPU has
 * it, and plain x86-64 (SSE2) otherwise. -DTF_PORTABLE_ONLY builds the portable code alone, to test
 * it on an AVX2 machine (CFLAGS=-DTF_PORTABLE_ONLY python setup.py build_ext --inplace --force;
 * tools/sanitize_kernel.sh builds it so too). Other compilers vectorise what they can. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && !defined(TF_PORTABLE_ONLY)
#define TF_CLONES __attribute__((target_clones("avx2", "default"), optimize("no-thread-jumps")))
#elif defined(__GNUC__) && !defined(__clang__)
#define TF_CLONES __attribute__((optimize("no-thread-jumps")))
#else
#define TF_CLONES
#endif

/* The ops of a plan over one group of lanes: acc gets the sums over ops. Nonzero on any fault. */
TF_CLONES static int ops_block(const tf_plan_inputs *in, const tf_op *ops, tf_lanes *ln, tf_acc *acc)
{
    int prompt = in->prompt != 0.0, split = in->weights_level != in->kv_level;
    int err = 0;
    double distinct[TF_BLOCK] = {0.0}, P[TF_BLOCK], K[TF_BLOCK];
    double last_E = -1.0, last_k = -1.0;
    for (size_t i = 0; i < ln->n; i++) {
        double Bg = ln->B[i], T = ln->T[i];
        ln->N[i] = Bg * T;
        ln->sampled[i] = Bg * (prompt ? 1.0 : T);
        acc->seconds[i] = acc->joules[i] = acc->flops[i] = acc->bytes[i] = acc->faults[i] = 0.0;
        acc->by_code[0][i] = acc->by_code[1][i] = acc->by_code[2][i] = acc->by_code[3][i] = 0.0;
    }
    lane_pairs(ln, INFINITY, ln->P, ln->K);
    for (size_t o = 0; o < in->n_ops; o++) {
        const tf_op *op = ops + o;
        const double *Ps = ln->P, *Ks = ln->K;
        if (op->w < INFINITY) {
            lane_pairs(ln, op->w, P, K);
            Ps = P;
            Ks = K;
        }
        if (op->moe && (op->E != last_E || op->k != last_k)) { /* E (1 - (1 - k/E)^R), once per (E, k) */
            double miss = 1.0 - op->k / (op->E > 1.0 ? op->E : 1.0);
            for (size_t i = 0; i < ln->n; i++) distinct[i] = op->E * (1.0 - pow(miss, ln->routed[i]));
            last_E = op->E;
            last_k = op->k;
        }
#define TF_LANES(moe, prompt, split, shape, comm) \
    case (((moe) * 2 + (prompt)) * 2 + (split)) * 6 + (shape) * 3 + (comm): \
        op_lanes(op, ln, Ps, Ks, distinct, acc, moe, prompt, comm, split, shape); \
        break;
#define TF_LANES_SHAPE(moe, prompt, split) TF_LANES(moe, prompt, split, 0, 0) TF_LANES(moe, prompt, split, 0, 1) \
    TF_LANES(moe, prompt, split, 0, 2) TF_LANES(moe, prompt, split, 1, 0) TF_LANES(moe, prompt, split, 1, 1) \
    TF_LANES(moe, prompt, split, 1, 2)
        switch (((op->moe * 2 + prompt) * 2 + split) * 6 + op->shape * 3 + op->comm) {
            TF_LANES_SHAPE(0, 0, 0) TF_LANES_SHAPE(0, 0, 1) TF_LANES_SHAPE(0, 1, 0) TF_LANES_SHAPE(0, 1, 1)
            TF_LANES_SHAPE(1, 0, 0) TF_LANES_SHAPE(1, 0, 1) TF_LANES_SHAPE(1, 1, 0) TF_LANES_SHAPE(1, 1, 1)
        default: break;
        }
#undef TF_LANES_SHAPE
#undef TF_LANES
    }
    for (size_t i = 0; i < ln->n; i++) { /* finite sums: x - x is 0 for finite x, NaN otherwise */
        double x = acc->seconds[i] + acc->joules[i] + acc->flops[i] + acc->bytes[i] + acc->faults[i];
        err |= !(x - x == 0.0);
    }
    return err;
}

static int finite_nonnegative(double v) { return v >= 0.0 && v <= 1.7976931348623157e308; }

/* The op rows with the call's constants; nonzero when a constant could make a lane fault, or takes
 * a case the lanes leave out (then the scalar path runs the whole call). */
static int load_ops(const tf_plan_inputs *in, tf_op *ops)
{
    size_t lo = in->weights_level < in->kv_level ? in->weights_level : in->kv_level;
    size_t hi = in->weights_level < in->kv_level ? in->kv_level : in->weights_level;
    double bw0 = in->level_bytes_per_s[lo], bw1 = in->level_bytes_per_s[hi];
    int faulty = !finite_nonnegative(in->overhead_s) || !(bw0 > 0.0) || !(bw1 > 0.0);
    for (size_t l = 0; l < in->n_levels; l++) faulty |= bad(in->level_bytes_per_s[l]) | bad(in->joules_per_byte[l]);
    for (size_t o = 0; o < in->n_ops; o++) {
        const double *r = in->rows + o * TF_ROW_FIELDS;
        for (size_t f = 0; f < TF_ROW_FIELDS; f++) faulty |= !finite_nonnegative(r[f]);
        double scale = r[TF_ROW_SCALE], E = r[TF_ROW_EXPERTS_TOTAL], k = r[TF_ROW_EXPERTS_TOP_K];
        int two = r[TF_ROW_COMM_LATENCY_LARGE] != r[TF_ROW_COMM_LATENCY] || r[TF_ROW_COMM_BW_LARGE] != r[TF_ROW_COMM_BW];
        int wired = r[TF_ROW_COMM_PER_TOKEN] != 0.0 && r[TF_ROW_COMM_FACTOR] != 0.0;
        ops[o] = (tf_op){r[TF_ROW_COUNT], r[TF_ROW_WINDOW] > 0.0 ? r[TF_ROW_WINDOW] : INFINITY,
                         r[TF_ROW_FLOPS_PER_TOKEN], r[TF_ROW_FLOPS_PER_TOKEN_PROMPT], r[TF_ROW_FLOPS_PER_SEQ],
                         r[TF_ROW_FLOPS_PER_PAIR], r[TF_ROW_FLOPS_PER_PAIR_PROMPT], r[TF_ROW_FLOPS_PER_CTX_PROMPT],
                         r[TF_ROW_ROWS_PER_TOKEN], r[TF_ROW_ROWS_PER_SEQ], r[TF_ROW_ROWS_PER_SEQ_TOKEN],
                         r[TF_ROW_ACT_PER_TOKEN], r[TF_ROW_ACT_PER_SEQ], r[TF_ROW_KV_READ_PER_CTX],
                         r[TF_ROW_KV_WRITE_PER_TOKEN], E, k, r[TF_ROW_WEIGHT_BYTES], r[TF_ROW_EXPERT_BYTES],
                         r[TF_ROW_COMM_PER_TOKEN], r[TF_ROW_RATE], r[TF_ROW_HALF_ROWS], r[TF_ROW_COMM_FACTOR],
                         r[TF_ROW_COMM_BW], r[TF_ROW_COMM_LATENCY], r[TF_ROW_JOULES_PER_FLOP],
                         r[TF_ROW_COMM_LATENCY_LARGE], r[TF_ROW_COMM_BW_LARGE], in->overhead_s, in->idle_w,
                         in->max_w, in->joules_per_comm_byte, bw0 * scale, bw1 * scale, in->joules_per_byte[lo],
                         in->joules_per_byte[hi], in->weights_level < in->kv_level ? 1.0 : 0.0,
                         r[TF_ROW_EXPERT_IMBALANCE], imbalance_cap(in, E, k), E > 0.0,
                         two ? 2 : wired, r[TF_ROW_HALF_ROWS] > 0.0};
        faulty |= !(scale > 0.0) || scale > 1.0 || !(r[TF_ROW_RATE] > 0.0) || (E > 0.0 && k > E);
        faulty |= ops[o].comm && !(r[TF_ROW_COMM_BW] > 0.0 && r[TF_ROW_COMM_BW_LARGE] > 0.0);
    }
    return faulty;
}

/* Scenarios [start, start + n): the timed group of every lane, then the mean group of the lanes
 * whose batch leaves some expert-parallel groups idle (batch < ep), or of every lane when ep > 1 (the
 * mean device carries no expert imbalance). Nonzero on any fault. */
static int block_totals(const tf_plan_inputs *in, const tf_op *ops, const tf_totals *out, size_t start, size_t n)
{
    tf_lanes timed, mean;
    tf_acc acc, avg;
    double micro[TF_BLOCK], b_mean[TF_BLOCK];
    size_t where[TF_BLOCK];
    double ep = in->ep, pp = in->pp, active = in->tp * in->ep, check = 0.0, negative = 0.0;
    const double *Bs = in->replica_batch + start, *Ts = in->tokens + start, *Cs = in->context + start;
    timed.n = n;
    timed.timed = 1;
    mean.timed = 0;
    for (size_t i = 0; i < n; i++) {
        double B = Bs[i], T = Ts[i], C = Cs[i];
        check += B + T + C + B * T; /* finite unless an input is NaN or infinite, or B T overflows */
        negative += (B < 0.0 ? 1.0 : 0.0) + (T < 0.0 ? 1.0 : 0.0) + (C < 0.0 ? 1.0 : 0.0);
        double m = B / ep;
        double busy = m > 1.0 ? m : 1.0;
        micro[i] = busy < pp ? busy : pp;
        timed.B[i] = busy / micro[i];
        timed.T[i] = T;
        timed.C[i] = C;
        timed.routed[i] = B * T * (1.0 / micro[i]);
        b_mean[i] = m / micro[i];
    }
    if (!(check - check == 0.0) || negative != 0.0) return 1; /* the scalar path names the fault */
    mean.n = 0;
    for (size_t i = 0; i < n; i++) {
        if (b_mean[i] == timed.B[i] && ep == 1.0) continue; /* ep > 1: the mean leaves out the imbalance */
        where[mean.n] = i;
        mean.B[mean.n] = b_mean[i];
        mean.T[mean.n] = timed.T[i];
        mean.C[mean.n] = timed.C[i];
        mean.routed[mean.n] = timed.routed[i];
        mean.n++;
    }
    if (ops_block(in, ops, &timed, &acc) || (mean.n && ops_block(in, ops, &mean, &avg))) return 1;
    for (size_t i = 0; i < n; i++) {
        double seconds = acc.seconds[i], c0 = acc.by_code[0][i], c1 = acc.by_code[1][i], c2 = acc.by_code[2][i];
        double c3 = acc.by_code[3][i];
        int code = c1 > c0 ? 1 : 0;
        double best = c1 > c0 ? c1 : c0;
        code = c2 > best ? 2 : code;
        best = c2 > best ? c2 : best;
        code = c3 > best ? 3 : code;
        out->seconds[start + i] = seconds;
        out->joules[start + i] = active * (micro[i] * acc.joules[i] + in->idle_w * (pp * seconds - micro[i] * seconds));
        out->bound[start + i] = (signed char)code;
    }
    for (size_t i = 0; out->flops && i < n; i++) out->flops[start + i] = acc.flops[i];
    for (size_t i = 0; out->bytes && i < n; i++) out->bytes[start + i] = acc.bytes[i];
    for (size_t j = 0; j < mean.n; j++) {
        size_t i = where[j];
        double seconds = acc.seconds[i];
        out->joules[start + i] = active * (micro[i] * avg.joules[j] + in->idle_w * (pp * seconds - micro[i] * avg.seconds[j]));
    }
    return 0;
}

int tf_step_totals(const tf_plan_inputs *in, const tf_totals *out, size_t *bad_index)
{
    size_t S = in->n_scenarios, O = in->n_ops, L = in->n_levels;
    *bad_index = 0;
    if (S == 0 || O == 0 || L == 0 || L > TF_MAX_LEVELS) return TF_ERR_SIZE;
    if (in->len_rows != O * TF_ROW_FIELDS || in->len_levels != L || in->len_s != S) return TF_ERR_SIZE;
    if (in->weights_level >= L || in->kv_level >= L) return TF_ERR_SIZE;
    if (!(in->tp >= 1.0) || !(in->pp >= 1.0) || !(in->ep >= 1.0)) return TF_ERR_SIZE;
    tf_op ops[TF_MAX_OPS];
    int faulty = O > TF_MAX_OPS || in->extra_batch != 0.0 || load_ops(in, ops); /* a mixed step: scalar path */
    for (size_t start = 0; start < S; start += TF_BLOCK) {
        size_t n = S - start < TF_BLOCK ? S - start : TF_BLOCK;
        if (!faulty && block_totals(in, ops, out, start, n) == 0) continue;
        for (size_t s = start; s < start + n; s++) { /* the scalar path finds the fault, if any */
            int status = scenario_totals(in, out, s);
            if (status != TF_OK) { *bad_index = s; return status; }
        }
    }
    return TF_OK;
}

int tf_plans_totals(const tf_plan_inputs *const *plans, size_t n_plans, const double *batch, const double *tokens,
                    const double *context, double prompt, double *seconds, double *joules, signed char *bound,
                    size_t *bad_plan)
{
    *bad_plan = 0;
    for (size_t i = 0; i < n_plans; i++) {
        tf_plan_inputs in = *plans[i];
        in.n_scenarios = in.len_s = 1;
        in.replica_batch = batch + i;
        in.tokens = tokens + i;
        in.context = context + i;
        in.prompt = prompt;
        tf_totals out = {seconds + i, joules + i, bound + i, NULL, NULL};
        size_t bad = 0;
        int status = tf_step_totals(&in, &out, &bad);
        if (status != TF_OK) {
            *bad_plan = i;
            return status;
        }
    }
    return TF_OK;
}
