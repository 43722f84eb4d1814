/* tokenfab cost kernel. See tokenfab_kernel.h for the data layout and
 * core/kernel.py (reference_evaluate) for the same maths in numpy.
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
 * coefficient rows, one scenario at a time (a working set of one op row, no [S x O] arrays).
 * Mirrors tokenfab.engine.run_plan without a mixed-in prompt part (see core/fastpath.py):
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

static int group_cost(const tf_plan_inputs *in, double Bg, double T, double C, double routed, int timed,
                      double acc[8], size_t s)
{
    size_t O = in->n_ops, L = in->n_levels;
    int prompt = in->prompt != 0.0;
    double Ng = Bg * T, sampled = Bg * (prompt ? 1.0 : T);
    double td = prompt ? 0.0 : Ng, tq = prompt ? Ng : 0.0;
    double N = td + tq;
    for (size_t o = 0; o < O; o++) {
        const double *row = in->rows + o * TF_ROW_FIELDS;
        double w = row[TF_ROW_WINDOW] > 0.0 ? row[TF_ROW_WINDOW] : INFINITY;
        double P, K;
        attention_pairs(Bg, T, C, w, &P, &K);
        double Pd = prompt ? 0.0 : P, Pq = prompt ? P : 0.0, Kd = prompt ? 0.0 : K, Kq = prompt ? K : 0.0;
        double flops = td * row[TF_ROW_FLOPS_PER_TOKEN] + tq * row[TF_ROW_FLOPS_PER_TOKEN_PROMPT]
                       + sampled * row[TF_ROW_FLOPS_PER_SEQ] + Pd * row[TF_ROW_FLOPS_PER_PAIR]
                       + Pq * row[TF_ROW_FLOPS_PER_PAIR_PROMPT] + Kq * row[TF_ROW_FLOPS_PER_CTX_PROMPT];
        double rows = N * row[TF_ROW_ROWS_PER_TOKEN] + sampled * row[TF_ROW_ROWS_PER_SEQ];
        rows = rows + T * row[TF_ROW_ROWS_PER_SEQ_TOKEN];
        double act = N * row[TF_ROW_ACT_PER_TOKEN] + sampled * row[TF_ROW_ACT_PER_SEQ];
        double kv = (Kd + Kq) * row[TF_ROW_KV_READ_PER_CTX] + N * row[TF_ROW_KV_WRITE_PER_TOKEN];
        double E = row[TF_ROW_EXPERTS_TOTAL], k = row[TF_ROW_EXPERTS_TOP_K];
        double miss = E > 0.0 ? 1.0 - k / (E > 1.0 ? E : 1.0) : 1.0;
        double distinct = E > 0.0 ? E * (1.0 - pow(miss, routed)) : 0.0; /* E = 0: E (1 - 1^R) = 0 */
        if (E > 0.0) {
            /* busiest device under expert parallelism: min(1 + c / sqrt(R), min(n, E / k)) times the mean */
            double c = row[TF_ROW_EXPERT_IMBALANCE], imbalance = 1.0;
            if (timed && c > 0.0) {
                double cap = E / (k > 1.0 ? k : 1.0), n = in->tp * in->ep;
                if (cap > n) cap = n;
                imbalance = 1.0 + c / sqrt(routed);
                if (imbalance > cap) imbalance = cap;
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

int tf_step_totals(const tf_plan_inputs *in, const tf_totals *out, size_t *bad_index)
{
    size_t S = in->n_scenarios, O = in->n_ops, L = in->n_levels;
    *bad_index = 0;
    if (S == 0 || O == 0 || L == 0 || L > TF_MAX_LEVELS) return TF_ERR_SIZE;
    if (in->len_rows != O * TF_ROW_FIELDS || in->len_levels != L || in->len_s != S) return TF_ERR_SIZE;
    if (in->weights_level >= L || in->kv_level >= L) return TF_ERR_SIZE;
    if (!(in->tp >= 1.0) || !(in->pp >= 1.0) || !(in->ep >= 1.0)) return TF_ERR_SIZE;
    double active = in->tp * in->ep;
    for (size_t s = 0; s < S; s++) {
        double B = in->replica_batch[s], T = in->tokens[s], C = in->context[s];
        if (bad(B) || bad(T) || bad(C)) { *bad_index = s; return TF_ERR_NEGATIVE; }
        double mean = B / in->ep;
        double busy = mean > 1.0 ? mean : 1.0;
        double micro = busy < in->pp ? busy : in->pp;
        double routed = B * T * (1.0 / micro);
        double timed[8] = {0.0}, avg[8] = {0.0};
        double b_time = busy / micro, b_mean = mean / micro;
        int status = group_cost(in, b_time, T, C, routed, 1, timed, s);
        if (b_mean == b_time && in->ep == 1.0) { /* one group, no expert imbalance: the mean is the timed one */
            avg[0] = timed[0];
            avg[1] = timed[1];
        } else if (status == TF_OK) {
            status = group_cost(in, b_mean, T, C, routed, 0, avg, s);
        }
        if (status != TF_OK) { *bad_index = s; return status; }
        double seconds = timed[0];
        out->seconds[s] = seconds;
        out->joules[s] = active * (micro * avg[1] + in->idle_w * (in->pp * seconds - micro * avg[0]));
        int code = 0;
        for (int c = 1; c < 4; c++) if (timed[2 + c] > timed[2 + code]) code = c;
        out->bound[s] = (double)code;
        out->flops[s] = timed[6];
        out->bytes[s] = timed[7];
    }
    return TF_OK;
}
