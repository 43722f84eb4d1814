/* tokenfab cost kernel. See tokenfab_kernel.h for the data layout and
 * core/kernel.py (reference_evaluate) for the same maths in numpy.
 *
 * For each scenario s and operator o (one instance, per device):
 *   eff      = rows / (rows + half_rows)            if half_rows > 0, else 1
 *   compute  = flops / (flop_rate * eff)            (0 when flops == 0)
 *   memory   = sum_l bytes_l / (bandwidth_l * scale) (0 terms skipped)
 *   comm     = latency + comm_bytes / comm_bw       (0 when no bytes and no latency)
 *   busy     = hypot(compute, memory)             (compute and memory overlap imperfectly)
 *   seconds  = count * (max(busy, comm) + overhead)
 *   dynamic  = count * (flops*J_flop + sum_l bytes_l*J_l + comm_bytes*J_comm)
 *   joules   = min(dynamic + idle_w*seconds, max_w*seconds)
 *   bound    = argmax(compute, memory, comm, overhead), first on ties
 * Pure, reentrant: no globals, no allocation.
 */
#include <stddef.h>
#include <math.h>
#include "tokenfab_kernel.h"

static int bad(double v) { return !(v >= 0.0) || isinf(v); }

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
            double flops = in->flops[i], rate = in->flop_rate[i];
            double rows = in->gemm_rows[i], half = in->gemm_half_rows[i];
            double cbytes = in->comm_bytes[i], cbw = in->comm_bytes_per_s[i];
            double clat = in->comm_latency_s[i], over = in->overhead_s[i];
            double jflop = in->joules_per_flop[i], count = in->count[o];
            double scale = in->bandwidth_scale[i];
            if (!(scale > 0.0) || scale > 1.0) { *bad_index = i; return TF_ERR_SCALE; }
            if (bad(flops) || bad(rows) || bad(half) || bad(cbytes) || bad(clat)
                || bad(over) || bad(jflop) || bad(count) || bad(rate) || bad(cbw)) {
                *bad_index = i; return TF_ERR_NEGATIVE;
            }
            double compute = 0.0;
            if (flops > 0.0) {
                double eff = 1.0;
                if (half > 0.0) eff = rows / (rows + half);
                if (!(rate > 0.0) || !(eff > 0.0)) { *bad_index = i; return TF_ERR_RATE; }
                compute = flops / (rate * eff);
            }
            double memory = 0.0, dyn = flops * jflop;
            for (size_t l = 0; l < L; l++) {
                double b = in->level_bytes[i * L + l];
                double bw = in->level_bytes_per_s[s * L + l];
                double jb = in->joules_per_byte[s * L + l];
                if (bad(b) || bad(bw) || bad(jb)) { *bad_index = i * L + l; return TF_ERR_NEGATIVE; }
                if (b > 0.0) {
                    if (!(bw > 0.0)) { *bad_index = i * L + l; return TF_ERR_BANDWIDTH; }
                    memory += b / (bw * scale);
                    dyn += b * jb;
                }
            }
            double comm = 0.0;
            if (cbytes > 0.0) {
                if (!(cbw > 0.0)) { *bad_index = i; return TF_ERR_COMM; }
                comm = clat + cbytes / cbw;
                dyn += cbytes * jcomm;
            } else if (clat > 0.0) {
                comm = clat;
            }
            double top = compute, code = 0.0;
            if (memory > top) { top = memory; code = 1.0; }
            if (comm > top) { top = comm; code = 2.0; }
            if (over > top) { code = 3.0; }
            double busy = hypot(compute, memory);
            double longest = busy > comm ? busy : comm;
            double seconds = count * (longest + over);
            dyn *= count;
            double joules = dyn + idle * seconds;
            double ceiling = cap * seconds;
            if (joules > ceiling) joules = ceiling;
            out->compute_s[i] = count * compute;
            out->memory_s[i] = count * memory;
            out->comm_s[i] = count * comm;
            out->overhead_s[i] = count * over;
            out->seconds[i] = seconds;
            out->joules[i] = joules;
            out->bound[i] = code;
            total_s += seconds;
            total_j += joules;
        }
        out->total_s[s] = total_s;
        out->total_joules[s] = total_j;
    }
    return TF_OK;
}
