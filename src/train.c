/* The training pass: forward over a batch, losses, backpropagation through time, with the batch
 * split into one slice per thread. Each thread runs the whole sequence on its slice with
 * single-threaded BLAS and its own gradient buffer; the buffers are summed once at the end, in
 * thread order, so the result is reproducible for a given thread count. The recurrent weights
 * are packed for the per-step products (rgemm.h) once per pass, before the threads start, into
 * one buffer they all read.
 *
 * Activations are time-major inside ([T][rows][...]); the public arrays are batch-major. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "gru.h"
#include "kernels.h"
#include "loss.h"
#include "model.h"
#include "model_impl.h"
#include "parallel.h"
#include "status.h"

/* Steps per chunk of the batched input projection and of the weight-gradient products: large
 * enough for efficient GEMMs (K = chunk * rows), small enough for the scratch to stay in cache. */
#define SG_CHUNK 8

/* What every worker of one pass shares. */
typedef struct sg_pass {
    const float *inputs, *targets;   /* batch-major */
    size_t input_stride, target_stride; /* floats between consecutive sequences */
    int batch, steps;
    seqgen_loss loss;
    seqgen_feedback feedback;
    int backward;
    const uint8_t *teacher;  /* [B][T], NULL for pure teacher forcing (the fast path) */
    const float *uniforms;   /* [B][T][D] for SAMPLE feedback */
    float *probs;            /* [B][T][D] or NULL */
} sg_pass;

struct sg_worker {
    seqgen_model *model;
    const sg_pass *pass;
    int first, rows; /* the slice: sequences [first, first + rows) */
    /* workspace, views into `memory` laid out for (rows, steps) of the current pass */
    float *memory;
    float *grads;  /* [P] */
    float *x;      /* [T][rows][D] the inputs actually fed */
    float *h;      /* [L][T+1][rows][H] hidden states, h[l][0] = 0 */
    float *gates;  /* [L][T][rows][4H] r, z, n, hn for backward */
    float *logits; /* [T][rows][D], then dL/dlogit */
    float *dy;     /* [T][rows][H] gradient flowing into a layer's outputs */
    float *dh;     /* [rows][H] */
    sg_gru_scratch scratch;
    double mse_sum, bce_sum;
};

/* Floats of a worker's workspace for `rows` sequences of `steps` steps; the gate cache and the
 * gradients are only needed when a backward pass follows. */
static size_t workspace_floats(const seqgen_model *m, int rows, int steps, int backward)
{
    const size_t L = m->cfg.layers, H = m->cfg.hidden, D = m->cfg.pixels_per_step;
    const size_t R = rows, T = steps, B = backward != 0;
    return B * m->param_count + T * R * D + L * (T + 1) * R * H + B * L * T * R * 4 * H +
           T * R * D + B * T * R * H + R * H + SG_CHUNK * R * 3 * H + R * 3 * H +
           SG_CHUNK * R * 4 * H;
}

/* Points the worker's views into its memory, laid out as workspace_floats() counts. */
static void lay_out_workspace(sg_worker *w, int rows, int steps, int backward)
{
    const seqgen_model *m = w->model;
    const size_t L = m->cfg.layers, H = m->cfg.hidden, D = m->cfg.pixels_per_step;
    const size_t R = rows, T = steps, B = backward != 0;
    float *p = w->memory;
    w->grads = p, p += B * m->param_count;
    w->x = p, p += T * R * D;
    w->h = p, p += L * (T + 1) * R * H;
    w->gates = p, p += B * L * T * R * 4 * H;
    w->logits = p, p += T * R * D;
    w->dy = p, p += B * T * R * H;
    w->dh = p, p += R * H;
    w->scratch.gi = p, p += SG_CHUNK * R * 3 * H;
    w->scratch.gh = p, p += R * 3 * H;
    w->scratch.dgates = p;
    w->scratch.gate_sink = p; /* the forward without backward leaves dgates unused */
    w->scratch.chunk = SG_CHUNK;
}

static void free_workers(seqgen_model *model)
{
    for (int i = 0; i < model->ws_threads; i++)
        free(model->workers[i].memory);
    free(model->workers);
    model->workers = NULL;
    model->ws_threads = 0;
    model->ws_floats = 0;
}

void sg_model_free_workspace(seqgen_model *model)
{
    free_workers(model);
    free(model->packed_memory);
    free(model->packed);
    model->packed_memory = NULL;
    model->packed = NULL;
    free(model->teacher);
    free(model->uniforms);
    model->teacher = NULL;
    model->uniforms = NULL;
    model->mix_capacity = 0;
}

/* Grows the workspace to hold `threads` slices of at most `rows` sequences of `steps` steps. */
static int reserve_workspace(seqgen_model *m, int threads, int rows, int steps, int backward)
{
    size_t floats = workspace_floats(m, rows, steps, backward);
    if (threads == m->ws_threads && floats <= m->ws_floats)
        return SEQGEN_OK;
    free_workers(m);
    m->workers = sg_calloc((size_t)threads, sizeof *m->workers);
    if (!m->workers)
        return sg_error(SEQGEN_ENOMEM, "out of memory for %d workers", threads);
    m->ws_threads = threads;
    for (int i = 0; i < threads; i++) {
        m->workers[i].model = m;
        m->workers[i].memory = sg_malloc(floats * sizeof(float));
        if (!m->workers[i].memory) {
            free_workers(m);
            return sg_error(SEQGEN_ENOMEM, "out of memory for the workspace of %d sequences of "
                            "%d steps (%zu MB per thread)", rows, steps, floats * 4 >> 20);
        }
    }
    m->ws_floats = floats;
    return SEQGEN_OK;
}

/* Allocates, on the first pass, the buffer of the packed W_hh (both orientations). */
static int reserve_packed(seqgen_model *m)
{
    if (m->packed)
        return SEQGEN_OK;
    m->packed_memory = sg_malloc(sg_model_packed_floats(m, 1) * sizeof(float));
    m->packed = m->packed_memory ? sg_calloc((size_t)m->cfg.layers, sizeof *m->packed) : NULL;
    if (m->packed)
        return SEQGEN_OK;
    free(m->packed_memory);
    m->packed_memory = NULL;
    return sg_error(SEQGEN_ENOMEM, "out of memory for the packed recurrent weights");
}

static int reserve_mixing(seqgen_model *m, size_t batch_steps)
{
    if (batch_steps <= m->mix_capacity)
        return SEQGEN_OK;
    uint8_t *teacher = sg_malloc(batch_steps);
    float *uniforms = sg_malloc(batch_steps * m->cfg.pixels_per_step * sizeof *uniforms);
    if (!teacher || !uniforms) {
        free(teacher);
        free(uniforms);
        return sg_error(SEQGEN_ENOMEM, "out of memory for the mixing coins");
    }
    free(m->teacher);
    free(m->uniforms);
    m->teacher = teacher;
    m->uniforms = uniforms;
    m->mix_capacity = batch_steps;
    return SEQGEN_OK;
}

/* ---- One worker's slice --------------------------------------------------------------------- */

/* Copies the slice's true inputs into x, time-major. */
static void load_inputs(sg_worker *w)
{
    const sg_pass *ps = w->pass;
    const int D = w->model->cfg.pixels_per_step, R = w->rows;
    for (int r = 0; r < R; r++) {
        const float *src = ps->inputs + (size_t)(w->first + r) * ps->input_stride;
        for (int t = 0; t < ps->steps; t++)
            memcpy(w->x + ((size_t)t * R + r) * D, src + (size_t)t * D, D * sizeof(float));
    }
}

static float *layer_h(const sg_worker *w, int layer)
{
    const seqgen_model *m = w->model;
    return w->h + (size_t)layer * (w->pass->steps + 1) * w->rows * m->cfg.hidden;
}

static float *layer_gates(const sg_worker *w, int layer)
{
    const seqgen_model *m = w->model;
    return w->gates + (size_t)layer * w->pass->steps * w->rows * 4 * m->cfg.hidden;
}

/* The input sequence of layer `layer`: the pixels, or the outputs h[1..T] of the layer below. */
static const float *layer_x(const sg_worker *w, int layer)
{
    return layer == 0 ? w->x : layer_h(w, layer - 1) + (size_t)w->rows * w->model->cfg.hidden;
}

/* logits[rows][D] = h_top[rows][H] W_out^T + b_out for `n` consecutive steps. */
static void output_logits(const sg_worker *w, int n, const float *h_top, float *logits)
{
    seqgen_model *m = w->model;
    const int D = m->cfg.pixels_per_step, H = m->cfg.hidden;
    const float *bias = sg_model_out_bias(m, m->params);
    sg_gemm(0, 1, n * w->rows, D, H, 1.0f, h_top, H, sg_model_out_weight(m, m->params), H, 0.0f,
            logits, D);
    for (size_t i = 0; i < (size_t)n * w->rows; i++)
        for (int d = 0; d < D; d++)
            logits[i * D + d] += bias[d];
}

/* Teacher forcing: each layer over the whole sequence, the input projection batched. */
static void forward_teacher(sg_worker *w)
{
    seqgen_model *m = w->model;
    const int L = m->cfg.layers, H = m->cfg.hidden, T = w->pass->steps;
    for (int l = 0; l < L; l++) {
        sg_gru_weights wt = sg_model_layer(m, m->params, l);
        float *h = layer_h(w, l);
        memset(h, 0, (size_t)w->rows * H * sizeof *h);
        sg_gru_forward(T, w->rows, sg_model_layer_input(m, l), H, &wt, &m->packed[l],
                       layer_x(w, l), h, w->pass->backward ? layer_gates(w, l) : NULL,
                       &w->scratch);
    }
    output_logits(w, T, layer_h(w, L - 1) + (size_t)w->rows * H, w->logits);
}

/* The value fed back for one pixel whose predicted logit is `logit`. */
static float feedback_value(seqgen_feedback kind, float logit, float uniform)
{
    float prob = sg_sigmoidf(logit);
    switch (kind) {
    case SEQGEN_FEEDBACK_THRESHOLD: return prob > 0.5f ? 1.0f : 0.0f;
    case SEQGEN_FEEDBACK_PROB: return prob;
    default: return uniform < prob ? 1.0f : 0.0f;
    }
}

/* Replaces the inputs of step t (> 0) whose coin says so by the fed-back outputs of step t-1. */
static void mix_inputs(sg_worker *w, int t)
{
    const sg_pass *ps = w->pass;
    const int D = w->model->cfg.pixels_per_step, R = w->rows;
    for (int r = 0; r < R; r++) {
        size_t seq_step = (size_t)(w->first + r) * ps->steps + t;
        if (ps->teacher[seq_step])
            continue;
        const float *logit = w->logits + ((size_t)(t - 1) * R + r) * D;
        const float *u = ps->uniforms ? ps->uniforms + seq_step * D : NULL;
        float *x = w->x + ((size_t)t * R + r) * D;
        for (int d = 0; d < D; d++)
            x[d] = feedback_value(ps->feedback, logit[d], u ? u[d] : 0.0f);
    }
}

/* Scheduled sampling: step by step through all layers, since step t's input may be step t-1's
 * output. */
static void forward_mixing(sg_worker *w)
{
    seqgen_model *m = w->model;
    const int L = m->cfg.layers, H = m->cfg.hidden, D = m->cfg.pixels_per_step, R = w->rows;
    const size_t hstep = (size_t)R * H;
    for (int l = 0; l < L; l++)
        memset(layer_h(w, l), 0, hstep * sizeof(float));
    for (int t = 0; t < w->pass->steps; t++) {
        if (t > 0)
            mix_inputs(w, t);
        for (int l = 0; l < L; l++) {
            sg_gru_weights wt = sg_model_layer(m, m->params, l);
            const int in = sg_model_layer_input(m, l);
            const float *x = layer_x(w, l) + (size_t)t * R * in;
            float *h = layer_h(w, l) + (size_t)t * hstep;
            sg_gru_step_forward(
                R, in, H, &wt, &m->packed[l], x, h, h + hstep,
                w->pass->backward ? layer_gates(w, l) + (size_t)t * 4 * hstep : NULL, &w->scratch);
        }
        output_logits(w, 1, layer_h(w, L - 1) + (t + 1) * hstep, w->logits + (size_t)t * R * D);
    }
}

/* Loss sums of the slice (loss.c); stores the probabilities and, for backward, replaces the
 * logits by dL/dlogit of the mean loss over all B*T*D predictions. */
static void loss_and_dlogits(sg_worker *w)
{
    const sg_pass *ps = w->pass;
    const int D = w->model->cfg.pixels_per_step, R = w->rows, T = ps->steps;
    const double scale = 1.0 / ((double)ps->batch * T * D);
    w->mse_sum = w->bce_sum = 0.0;
    for (int t = 0; t < T; t++)
        for (int r = 0; r < R; r++) {
            const size_t seq = (size_t)(w->first + r);
            float *a = w->logits + ((size_t)t * R + r) * D;
            sg_loss_sums(D, a, ps->targets + seq * ps->target_stride + (size_t)t * D, ps->loss,
                         scale, ps->probs ? ps->probs + (seq * T + t) * D : NULL,
                         ps->backward ? a : NULL, &w->mse_sum, &w->bce_sum);
        }
}

/* The output layer's gradients from dL/dlogit [rows][D] (w->logits) and the top layer's outputs
 * h_top [rows][H], and dy = dL/dlogit W_out, the gradient flowing into the top GRU layer. With
 * one pixel per step the products are a weighted sum of rows and an outer product, where GEMMs
 * with M = 1 and K = 1 would spend more on packing than on arithmetic. */
static void output_backward(sg_worker *w, int rows, const float *h_top)
{
    seqgen_model *m = w->model;
    const int H = m->cfg.hidden, D = m->cfg.pixels_per_step;
    float *grad_w = sg_model_out_weight(m, w->grads); /* zero on entry */
    const float *w_out = sg_model_out_weight(m, m->params);
    if (D == 1) {
        sg_sum_rows_weighted(rows, H, w->logits, h_top, H, grad_w);
        sg_outer_product(rows, H, w->logits, w_out, w->dy);
    } else {
        sg_gemm(1, 0, D, H, rows, 1.0f, w->logits, D, h_top, H, 0.0f, grad_w, H);
        sg_gemm(0, 0, rows, H, D, 1.0f, w->logits, D, w_out, H, 0.0f, w->dy, H);
    }
    sg_sum_rows(rows, D, w->logits, D, sg_model_out_bias(m, w->grads));
}

/* Output layer, then each GRU layer from the top; the first layer computes no input gradient. */
static void backward(sg_worker *w)
{
    seqgen_model *m = w->model;
    const int L = m->cfg.layers, H = m->cfg.hidden;
    const int T = w->pass->steps;
    memset(w->grads, 0, m->param_count * sizeof *w->grads);
    output_backward(w, T * w->rows, layer_h(w, L - 1) + (size_t)w->rows * H);
    for (int l = L - 1; l >= 0; l--) {
        sg_gru_weights wt = sg_model_layer(m, m->params, l);
        sg_gru_weights gr = sg_model_layer(m, w->grads, l);
        sg_gru_backward(T, w->rows, sg_model_layer_input(m, l), H, &wt, &m->packed[l],
                        layer_x(w, l), layer_h(w, l), layer_gates(w, l), w->dy, l > 0, &gr, w->dh,
                        &w->scratch);
    }
}

static void *run_worker(void *arg)
{
    sg_worker *w = arg;
    lay_out_workspace(w, w->rows, w->pass->steps, w->pass->backward);
    load_inputs(w);
    if (w->pass->teacher)
        forward_mixing(w);
    else
        forward_teacher(w);
    loss_and_dlogits(w);
    if (w->pass->backward)
        backward(w);
    return NULL;
}

/* ---- The pass ------------------------------------------------------------------------------- */

/* Draws the coins (and, for SAMPLE feedback, the uniforms) of every sequence and step in a fixed
 * order from the mixing generator; returns the number of teacher-forced steps t > 0. */
static size_t draw_mixing(seqgen_model *m, int batch, int steps, double p, seqgen_feedback fb)
{
    const int D = m->cfg.pixels_per_step;
    size_t forced = 0;
    for (int b = 0; b < batch; b++) {
        uint8_t *coin = m->teacher + (size_t)b * steps;
        coin[0] = 1;
        for (int t = 1; t < steps; t++) {
            coin[t] = sg_rng_double(&m->mix_rng) < p;
            forced += coin[t];
            if (!coin[t] && fb == SEQGEN_FEEDBACK_SAMPLE)
                for (int d = 0; d < D; d++)
                    m->uniforms[((size_t)b * steps + t) * D + d] = sg_rng_float(&m->mix_rng);
        }
    }
    return forced;
}

static int check_pass(const seqgen_model *m, const float *inputs, const float *targets, int batch,
                      int steps, const seqgen_train_options *opts)
{
    if (!m || !inputs || !targets)
        return sg_error(SEQGEN_EINVAL, "NULL %s", !m ? "model" : !inputs ? "inputs" : "targets");
    if (batch < 1 || steps < 1)
        return sg_error(SEQGEN_EINVAL, "batch and steps must be >= 1, got %d and %d", batch, steps);
    if ((size_t)batch * steps > ((size_t)1 << 40) / m->cfg.hidden)
        return sg_error(SEQGEN_EINVAL, "batch %d x steps %d is too large", batch, steps);
    if (opts->loss != SEQGEN_LOSS_MSE && opts->loss != SEQGEN_LOSS_BCE)
        return sg_error(SEQGEN_EINVAL, "unknown loss %d", (int)opts->loss);
    if (!(opts->teacher_prob >= 0.0 && opts->teacher_prob <= 1.0))
        return sg_error(SEQGEN_EINVAL, "teacher_prob must be in [0, 1], got %g",
                        opts->teacher_prob);
    if (opts->feedback < SEQGEN_FEEDBACK_SAMPLE || opts->feedback > SEQGEN_FEEDBACK_PROB)
        return sg_error(SEQGEN_EINVAL, "unknown feedback kind %d", (int)opts->feedback);
    return SEQGEN_OK;
}

/* Splits the batch into slices, runs them, sums the gradients and the losses. */
static int run_pass(seqgen_model *m, sg_pass *ps, seqgen_train_stats *stats, uint64_t forced)
{
    int threads = sg_model_thread_count(m);
    if (threads > ps->batch)
        threads = ps->batch;
    int status = reserve_workspace(m, threads, (ps->batch + threads - 1) / threads, ps->steps,
                                   ps->backward);
    if (!status)
        status = reserve_packed(m);
    if (status)
        return status;
    sg_model_pack(m, ps->backward, m->packed_memory, m->packed);
    for (int i = 0; i < threads; i++) {
        sg_worker *w = &m->workers[i];
        w->pass = ps;
        w->first = (int)((long long)ps->batch * i / threads);
        w->rows = (int)((long long)ps->batch * (i + 1) / threads) - w->first;
    }
    sg_run_parallel(run_worker, m->workers, sizeof *m->workers, threads);
    double mse = 0.0, bce = 0.0;
    for (int i = 0; i < threads; i++) {
        mse += m->workers[i].mse_sum;
        bce += m->workers[i].bce_sum;
    }
    const double count = (double)ps->batch * ps->steps * m->cfg.pixels_per_step;
    seqgen_train_stats st = {.mse = mse / count, .bce = bce / count, .nll_nats = bce / ps->batch,
                             .teacher_forced = forced,
                             .mixable = (uint64_t)ps->batch * (uint64_t)(ps->steps - 1)};
    st.teacher_fraction = st.mixable ? (double)forced / (double)st.mixable : 1.0;
    st.loss = ps->loss == SEQGEN_LOSS_BCE ? st.bce : st.mse;
    if (!isfinite(st.mse) || !isfinite(st.bce))
        return sg_error(SEQGEN_ENUMERIC, "the loss is not finite (MSE %g, BCE %g): the parameters "
                        "or the inputs hold NaN or infinity", st.mse, st.bce);
    if (ps->backward) {
        memcpy(m->grads, m->workers[0].grads, m->param_count * sizeof *m->grads);
        for (int i = 1; i < threads; i++)
            sg_add(m->param_count, m->workers[i].grads, m->grads);
    }
    if (stats)
        *stats = st;
    return SEQGEN_OK;
}

/* The common entry: teacher is NULL (draw coins if p < 1), or a fixed pattern. */
static int forward_backward(seqgen_model *m, const float *inputs, size_t input_stride,
                            const float *targets, size_t target_stride, int batch, int steps,
                            const seqgen_train_options *opts, int backward, const uint8_t *teacher,
                            const float *uniforms, float *probs, seqgen_train_stats *stats)
{
    seqgen_train_options defaults = seqgen_train_options_default();
    if (!opts)
        opts = &defaults;
    int status = check_pass(m, inputs, targets, batch, steps, opts);
    if (status)
        return status;
    sg_pass ps = {inputs, targets, input_stride, target_stride, batch, steps, opts->loss,
                  opts->feedback, backward, teacher, uniforms, probs};
    size_t forced = (size_t)batch * (steps - 1);
    if (!teacher && opts->teacher_prob < 1.0) {
        status = reserve_mixing(m, (size_t)batch * steps);
        if (status)
            return status;
        forced = draw_mixing(m, batch, steps, opts->teacher_prob, opts->feedback);
        ps.teacher = m->teacher;
        ps.uniforms = m->uniforms;
    } else if (teacher) {
        forced = 0;
        for (int b = 0; b < batch; b++)
            for (int t = 1; t < steps; t++)
                forced += teacher[(size_t)b * steps + t] != 0;
    }
    return run_pass(m, &ps, stats, forced);
}

int seqgen_model_forward_backward(seqgen_model *model, const float *inputs, const float *targets,
                                  int batch, int steps, const seqgen_train_options *opts,
                                  float *probs, seqgen_train_stats *stats)
{
    size_t stride = model ? (size_t)steps * model->cfg.pixels_per_step : 0;
    return forward_backward(model, inputs, stride, targets, stride, batch, steps, opts, 1, NULL,
                            NULL, probs, stats);
}

int seqgen_model_train_sequences(seqgen_model *model, const float *pixels, int batch, int length,
                                 const seqgen_train_options *opts, float *probs,
                                 seqgen_train_stats *stats)
{
    if (!model || !pixels)
        return sg_error(SEQGEN_EINVAL, "NULL %s", model ? "pixels" : "model");
    if (length < 2)
        return sg_error(SEQGEN_EINVAL, "sequences need >= 2 steps, got %d", length);
    const size_t D = model->cfg.pixels_per_step, stride = (size_t)length * D;
    return forward_backward(model, pixels, stride, pixels + D, stride, batch, length - 1, opts, 1,
                            NULL, NULL, probs, stats);
}

int seqgen_model_evaluate(seqgen_model *model, const float *inputs, const float *targets, int batch,
                          int steps, seqgen_loss loss, float *probs, seqgen_train_stats *stats)
{
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = loss;
    size_t stride = model ? (size_t)steps * model->cfg.pixels_per_step : 0;
    return forward_backward(model, inputs, stride, targets, stride, batch, steps, &opts, 0, NULL,
                            NULL, probs, stats);
}

int sg_model_forward_backward_masked(seqgen_model *model, const float *inputs, const float *targets,
                                     int batch, int steps, const seqgen_train_options *opts,
                                     const uint8_t *teacher, const float *uniforms, float *probs,
                                     seqgen_train_stats *stats)
{
    seqgen_train_options defaults = seqgen_train_options_default();
    if (!opts)
        opts = &defaults;
    if (!teacher)
        return sg_error(SEQGEN_EINVAL, "NULL mixing pattern");
    if (opts->feedback == SEQGEN_FEEDBACK_SAMPLE && !uniforms)
        return sg_error(SEQGEN_EINVAL, "SAMPLE feedback needs uniforms");
    size_t stride = model ? (size_t)steps * model->cfg.pixels_per_step : 0;
    return forward_backward(model, inputs, stride, targets, stride, batch, steps, opts, 1, teacher,
                            uniforms, probs, stats);
}
