/* The training pass: forward over a batch, losses, backpropagation through time, with the batch
 * split into one slice per thread. Each thread runs the whole sequence on its slice with
 * single-threaded BLAS and its own gradient buffer; the buffers are summed once at the end, in
 * thread order, so the result is reproducible for a given thread count. The recurrent weights
 * are packed for the per-step products (rgemm.h) once per pass, before the threads start, into
 * one buffer they all read.
 *
 * Activations are time-major inside (step after step, packed); the public arrays are
 * batch-major.
 *
 * With lengths, sequence b counts its first n_b steps; the rest is padding, which is never
 * computed: each worker sorts its sequences by decreasing n_b and runs step t on the first rows[t]
 * of them only, the activations packed step after step (gru.h), as PyTorch's packed sequences.
 * Without lengths every step has every row and the layout is plain time-major.
 *
 * A pass over a slice of the batch (seqgen_train_options::slices) computes only the slice's
 * sequences but divides by the whole batch's counts and draws the whole batch's coins, so that
 * the slices' passes add up to the whole batch's.
 *
 * A categorical model reads symbols: each worker keeps the symbols it fed ([T][rows], -1 for a
 * start step or padding, which read zero vectors), gathers their embedding rows as layer 0's
 * input, and in the backward asks layer 0 for dL/dx and scatters it into the embedding's
 * gradient. The head (head.h) turns logits into probabilities, losses and fed-back values for
 * either kind. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "embedding.h"
#include "gru.h"
#include "head.h"
#include "kernels.h"
#include "loss.h"
#include "model.h"
#include "model_impl.h"
#include "parallel.h"
#include "status.h"
#include "train.h"

/* Steps per chunk of the batched input projection and of the weight-gradient products: large
 * enough for efficient GEMMs (K = chunk * rows), small enough for the scratch to stay in cache. */
#define SG_CHUNK 8

/* The row order and counts live in the float workspace, one int per float. */
_Static_assert(sizeof(int) == sizeof(float), "an int takes the place of a float");

/* What every worker of one pass shares. */
typedef struct sg_pass {
    const float *inputs, *targets;   /* batch-major, binary units (NULL for symbols) */
    const int32_t *input_symbols, *target_symbols; /* batch-major, symbols (NULL for units) */
    size_t stride; /* floats (symbols) between consecutive sequences in both */
    int batch, steps; /* steps: T, the layout of the public arrays (probs, coins) */
    int first, count; /* the sequences computed: the slice, or [0, batch) */
    int start_step; /* step 0 reads zeros, step t the inputs of step t - 1 */
    const size_t *lengths; /* [B] or NULL (every sequence counts T steps) */
    int run;               /* steps the workers compute: the slice's longest counted, <= T */
    double predictions;    /* the batch's counted predictions, sum_b n_b * D: the losses'
                              denominator */
    sg_head_kind kind;     /* the model's head */
    int outputs;           /* O, its logits per step: D or V */
    seqgen_loss loss;
    seqgen_feedback feedback;
    int backward;
    const uint8_t *teacher;  /* [B][T], NULL for pure teacher forcing (the fast path) */
    const float *uniforms;   /* [B][T][D] for SAMPLE feedback */
    float *probs;            /* [B][T][O] or NULL */
    const sg_behaviour *behaviour; /* NULL, or the behaviour's output and gradients */
} sg_pass;

/* One thread's slice of a pass. */
typedef struct sg_worker {
    seqgen_model *model;
    const sg_pass *pass;
    int first, rows; /* the slice: sequences [first, first + rows) */
    int run;         /* steps it computes: its longest counted, <= the pass's run */
    size_t total;    /* rows of all its steps: sum of rows_at[t] */
    float *memory;   /* the thread's block of the model's training memory */
    float *grads;    /* [P] at the start of the block, in the parameters' layout ... */
    const sg_gru_weights *grad_layers; /* ... [L] views of its GRU tensors, built once */
    sg_head_weights grad_head;         /* ... and of the head's */
    float *grad_embedding;             /* ... and of the embedding's, NULL for units */
    /* views into the block laid out for (rows, run): the order of the rows and the rows of each
     * step, then the activations, packed (gru.h: N = total rows, R0 = rows_at[0]); in_0 is
     * layer 0's input size (D or E), O the head's outputs (D or V) */
    int *order;    /* [rows] sequence first + order[r] is row r: by decreasing counted steps */
    int *rows_at;  /* [run] rows of step t: those that count more than t steps */
    float *x;      /* [N][in_0] the inputs actually fed (units or embedding rows) */
    float *y;      /* [N][D] the targets, which the autoregressive heads read (else NULL) */
    float *made;   /* [2][N][M] the MADE head's Zpre and Z (else NULL) */
    int32_t *symbols; /* [N] the symbols fed, -1 for none (categorical only) */
    float *h;      /* [L][R0 + N][H] hidden states: R0 zero initial states, then the outputs */
    float *gates;  /* [L][N][4H] r, z, n, hn for backward */
    float *logits; /* [N][O], then dL/dlogit */
    float *dy;     /* [N][H] gradient flowing into a layer's outputs */
    float *dx;     /* [N][E] dL/dx of layer 0, for the embedding (categorical only) */
    float *dh;     /* [R0][H] */
    sg_gru_scratch scratch;
    sg_head_sums sums;
} sg_worker;

seqgen_train_options seqgen_train_options_default(void)
{
    seqgen_train_options opts = {.loss = SEQGEN_LOSS_MSE, .teacher_prob = 1.0,
                                 .feedback = SEQGEN_FEEDBACK_SAMPLE, .slices = 0, .slice = 0};
    return opts;
}

/* n_b, the steps sequence `seq` counts: lengths[b] - 1 + start_step (those that predict a step
 * within its length), T without lengths. */
static int counted_steps(const size_t *lengths, int start_step, int steps, size_t seq)
{
    return lengths ? (int)(lengths[seq] - 1 + (size_t)start_step) : steps;
}

/* Floats of a worker's block for `rows` sequences of `steps` steps: its gradients first (kept
 * in a forward-only pass too, so that their views stay valid), the row order and counts (int,
 * the size of a float), then the activations for every row of every step; the gate cache and
 * the gathered states only when a backward pass follows. The symbols (int32) and layer 0's
 * dL/dx only for a categorical model, the targets only for the autoregressive heads, the
 * hidden layer's activations only for the MADE head. */
static size_t workspace_floats(const seqgen_model *m, int rows, int steps, int backward)
{
    const size_t L = m->cfg.layers, H = m->cfg.hidden, X = sg_model_layer_in(m, 0);
    const size_t O = sg_model_outputs(m), S = m->cfg.vocab != 0;
    const size_t A = sg_head_is_ar(sg_model_head_kind(m));
    const size_t R = rows, T = steps, B = backward != 0;
    return m->param_count + R + T + T * R * X + A * T * R * O +
           sg_head_made_floats(&m->head, T * R) + S * T * R + L * (T + 1) * R * H +
           B * L * T * R * 4 * H + T * R * O + B * T * R * H + S * B * T * R * X + R * H +
           SG_CHUNK * R * 3 * H + R * 3 * H + B * SG_CHUNK * R * H + SG_CHUNK * R * 4 * H;
}

/* Points the worker's views into its memory, laid out as workspace_floats() counts. */
static void lay_out_workspace(sg_worker *w, int rows, int steps, int backward)
{
    const seqgen_model *m = w->model;
    const size_t L = m->cfg.layers, H = m->cfg.hidden, X = sg_model_layer_in(m, 0);
    const size_t O = sg_model_outputs(m), S = m->cfg.vocab != 0;
    const size_t A = sg_head_is_ar(sg_model_head_kind(m));
    const size_t R = rows, T = steps, B = backward != 0;
    float *p = w->memory + m->param_count; /* after the gradients */
    w->order = (int *)p, p += R;
    w->rows_at = (int *)p, p += T;
    w->x = p, p += T * R * X;
    w->y = A ? p : NULL, p += A * T * R * O;
    w->made = m->head.made_hidden ? p : NULL, p += sg_head_made_floats(&m->head, T * R);
    w->symbols = S ? (int32_t *)p : NULL, p += S * T * R;
    w->h = p, p += L * (T + 1) * R * H;
    w->gates = p, p += B * L * T * R * 4 * H;
    w->logits = p, p += T * R * O;
    w->dy = p, p += B * T * R * H;
    w->dx = S && B ? p : NULL, p += S * B * T * R * X;
    w->dh = p, p += R * H;
    w->scratch.gi = p, p += SG_CHUNK * R * 3 * H;
    w->scratch.gh = p, p += R * 3 * H;
    w->scratch.hprev = B ? p : NULL, p += B * SG_CHUNK * R * H;
    w->scratch.dgates = p;
    w->scratch.gate_sink = p; /* the forward without backward leaves dgates unused */
    w->scratch.chunk = SG_CHUNK;
}

/* Points worker i at its block and builds the views of the gradients at its start. */
static void attach_worker(seqgen_model *m, int i)
{
    sg_train_memory *t = &m->train;
    sg_worker *w = (sg_worker *)t->workers + i;
    sg_gru_weights *views = t->grad_layers + (size_t)i * m->cfg.layers;
    w->model = m;
    w->memory = t->blocks[i];
    w->grads = t->blocks[i];
    sg_model_views(m, w->grads, views, &w->grad_head, &w->grad_embedding);
    w->grad_layers = views;
}

/* Grows the training memory to hold `threads` slices of at most `rows` sequences of `steps`
 * steps, and the packed recurrent weights. */
static int reserve_workspace(seqgen_model *m, int threads, int rows, int steps, int backward)
{
    sg_train_memory *t = &m->train;
    if (!t->packed_layers) { /* the views, then the packed weights, in one allocation */
        const size_t L = (size_t)m->cfg.layers;
        t->packed_layers = sg_malloc(L * sizeof *t->packed_layers +
                                     sg_model_packed_floats(m, 1) * sizeof(float));
        if (!t->packed_layers)
            return sg_error(SEQGEN_ENOMEM, "out of memory for the packed recurrent weights");
        t->packed = (float *)(t->packed_layers + L);
    }
    size_t floats = workspace_floats(m, rows, steps, backward);
    if (threads == t->threads && floats <= t->floats)
        return SEQGEN_OK;
    sg_train_memory_free_threads(t);
    t->blocks = sg_calloc((size_t)threads, sizeof *t->blocks);
    t->grad_layers = t->blocks ? sg_calloc((size_t)threads * m->cfg.layers,
                                           sizeof *t->grad_layers) : NULL;
    t->workers = t->grad_layers ? sg_calloc((size_t)threads, sizeof(sg_worker)) : NULL;
    if (!t->workers) {
        sg_train_memory_free_threads(t);
        return sg_error(SEQGEN_ENOMEM, "out of memory for %d workers", threads);
    }
    t->threads = threads;
    for (int i = 0; i < threads; i++) {
        t->blocks[i] = sg_malloc(floats * sizeof(float));
        if (!t->blocks[i]) {
            sg_train_memory_free_threads(t);
            return sg_error(SEQGEN_ENOMEM, "out of memory for the workspace of %d sequences of "
                            "%d steps (%zu MB per thread)", rows, steps, floats * 4 >> 20);
        }
        attach_worker(m, i);
    }
    t->floats = floats;
    return SEQGEN_OK;
}

static int reserve_mixing(seqgen_model *m, size_t batch_steps)
{
    sg_train_memory *t = &m->train;
    if (batch_steps <= t->mix_capacity)
        return SEQGEN_OK;
    const size_t uniforms = batch_steps * m->cfg.units_per_step;
    float *mixing = sg_malloc(uniforms * sizeof(float) + batch_steps); /* uniforms, then coins */
    if (!mixing)
        return sg_error(SEQGEN_ENOMEM, "out of memory for the mixing coins");
    free(t->uniforms);
    t->uniforms = mixing;
    t->teacher = (uint8_t *)(mixing + uniforms);
    t->mix_capacity = batch_steps;
    return SEQGEN_OK;
}

/* ---- One worker's slice --------------------------------------------------------------------- */

/* n_b of the worker's sequence first + s. */
static int slice_steps(const void *worker, int s)
{
    const sg_worker *w = worker;
    const sg_pass *ps = w->pass;
    return counted_steps(ps->lengths, ps->start_step, ps->steps, (size_t)(w->first + s));
}

/* The worker's longest counted steps: the steps it runs. */
static int longest_counted(const sg_worker *w)
{
    const sg_pass *ps = w->pass;
    int longest = 0;
    for (int r = 0; r < w->rows; r++) {
        int n = counted_steps(ps->lengths, ps->start_step, ps->steps, (size_t)(w->first + r));
        longest = n > longest ? n : longest;
    }
    return longest;
}

/* Orders the rows by decreasing counted steps, ties in batch order, then counts the rows of
 * each step and their total (gru.h's packed layout). */
static void sort_rows(sg_worker *w)
{
    w->total = sg_gru_packed_order(w->rows, w->run, slice_steps, w, w->order, w->rows_at);
}

/* The symbols' version of load_inputs(): the true symbols, -1 for the start step, then their
 * embedding rows (zero vectors for -1) into x. */
static void load_symbols(sg_worker *w)
{
    const sg_pass *ps = w->pass;
    const seqgen_model *m = w->model;
    size_t at = 0;
    for (int t = 0; t < w->run; t++)
        for (int r = 0; r < w->rows_at[t]; r++, at++) {
            const size_t seq = (size_t)(w->first + w->order[r]);
            const size_t step = (size_t)(t - ps->start_step);
            w->symbols[at] = t >= ps->start_step ? ps->input_symbols[seq * ps->stride + step] : -1;
        }
    sg_embedding_forward((int)w->total, m->cfg.embedding, m->embedding, w->symbols, w->x);
}

/* Copies the true inputs into x, packed (after a step of zeros with a start step), and for the
 * autoregressive head the targets into y, packed: only counted steps are read, so nothing in
 * the caller's padding (NaN included) is. */
static void load_inputs(sg_worker *w)
{
    const sg_pass *ps = w->pass;
    if (ps->input_symbols) {
        load_symbols(w);
        return;
    }
    const int D = w->model->cfg.units_per_step;
    float *x = w->x, *y = w->y;
    for (int t = 0; t < w->run; t++)
        for (int r = 0; r < w->rows_at[t]; r++, x += D) {
            const size_t seq = (size_t)(w->first + w->order[r]);
            if (t < ps->start_step)
                memset(x, 0, D * sizeof *x);
            else
                memcpy(x, ps->inputs + seq * ps->stride + (size_t)(t - ps->start_step) * D,
                       D * sizeof *x);
            if (y) {
                memcpy(y, ps->targets + seq * ps->stride + (size_t)t * D, D * sizeof *y);
                y += D;
            }
        }
}

/* Rows of a layer's hidden states: the initial states, then every step's outputs. */
static size_t h_rows(const sg_worker *w)
{
    return (size_t)w->rows_at[0] + w->total;
}

static float *layer_h(const sg_worker *w, int layer)
{
    return w->h + (size_t)layer * h_rows(w) * w->model->cfg.hidden;
}

static float *layer_gates(const sg_worker *w, int layer)
{
    return w->gates + (size_t)layer * w->total * 4 * w->model->cfg.hidden;
}

/* The input sequence of layer `layer`: the pixels, or the outputs of the layer below. */
static const float *layer_x(const sg_worker *w, int layer)
{
    return layer == 0 ? w->x
                      : layer_h(w, layer - 1) + (size_t)w->rows_at[0] * w->model->cfg.hidden;
}

/* Teacher forcing: each layer over the whole sequence, the input projection batched, then the
 * head over every step at once (the autoregressive head reading the targets: one product). */
static void forward_teacher(sg_worker *w)
{
    seqgen_model *m = w->model;
    const int L = m->cfg.layers, H = m->cfg.hidden;
    for (int l = 0; l < L; l++) {
        float *h = layer_h(w, l);
        memset(h, 0, (size_t)w->rows_at[0] * H * sizeof *h);
        sg_gru_forward(w->run, w->rows_at, sg_model_layer_in(m, l), H, &m->layer_params[l],
                       &m->train.packed_layers[l], layer_x(w, l), h,
                       w->pass->backward ? layer_gates(w, l) : NULL, &w->scratch);
    }
    sg_head_forward((int)w->total, H, w->pass->outputs, &m->head, layer_x(w, L), w->y,
                    w->made, w->logits);
}

/* Replaces the inputs of step t (> 0, at row offset `at`; step t - 1 at `before`) whose coin
 * says so by the fed-back outputs of step t - 1 (for symbols: the fed-back symbol and its
 * embedding row). */
static void mix_inputs(sg_worker *w, int t, size_t at, size_t before)
{
    const sg_pass *ps = w->pass;
    const seqgen_model *m = w->model;
    const int D = m->cfg.units_per_step, O = ps->outputs, X = sg_model_layer_in(m, 0);
    for (int r = 0; r < w->rows_at[t]; r++) {
        const size_t seq = (size_t)(w->first + w->order[r]), seq_step = seq * ps->steps + t;
        if (ps->teacher[seq_step])
            continue;
        const float *logit = w->logits + (before + r) * O;
        const float *u = ps->uniforms ? ps->uniforms + seq_step * D : NULL;
        int32_t symbol = sg_head_feedback(ps->kind, O, logit, ps->feedback, u,
                                          w->x + (at + r) * X);
        if (w->symbols) {
            w->symbols[at + r] = symbol;
            sg_embedding_forward(1, X, m->embedding, w->symbols + at + r, w->x + (at + r) * X);
        }
    }
}

/* Scheduled sampling: one step of the network at a time, since step t's input may be step t-1's
 * output. */
static void forward_mixing(sg_worker *w)
{
    seqgen_model *m = w->model;
    const int L = m->cfg.layers, H = m->cfg.hidden, X = sg_model_layer_in(m, 0);
    const int O = w->pass->outputs;
    const size_t R0 = (size_t)w->rows_at[0], layer_stride = h_rows(w) * H;
    for (int l = 0; l < L; l++)
        memset(layer_h(w, l), 0, R0 * H * sizeof(float));
    size_t at = 0, before = 0;
    for (int t = 0; t < w->run; t++) {
        if (t > 0)
            mix_inputs(w, t, at, before);
        const float *h_prev = t == 0 ? w->h : w->h + (R0 + before) * H;
        sg_step_io io = {w->x + at * X, h_prev, w->h + (R0 + at) * H, layer_stride,
                         w->pass->backward ? w->gates + at * 4 * H : NULL, w->total * 4 * H,
                         w->logits + at * O};
        sg_model_step_forward(m, m->train.packed_layers, w->rows_at[t], &io, &w->scratch);
        before = at;
        at += (size_t)w->rows_at[t];
    }
}

/* Loss sums of the counted steps (head.c); stores the probabilities (0 for padding) and, for
 * backward, replaces the logits by dL/dlogit of the mean loss over the counted predictions. */
static void loss_and_dlogits(sg_worker *w)
{
    const sg_pass *ps = w->pass;
    const int D = ps->outputs, U = w->model->cfg.units_per_step, T = ps->steps;
    const double scale = 1.0 / ps->predictions;
    w->sums = (sg_head_sums){0.0, 0.0, 0.0};
    float *a = w->logits;
    for (int t = 0; t < w->run; t++)
        for (int r = 0; r < w->rows_at[t]; r++, a += D) {
            const size_t seq = (size_t)(w->first + w->order[r]);
            const size_t at = seq * ps->stride + (size_t)t * U;
            sg_head_target y = {ps->targets ? ps->targets + at : NULL,
                                ps->target_symbols ? ps->target_symbols[at] : 0};
            sg_head_loss(ps->kind, D, a, y, ps->loss, scale,
                         ps->probs ? ps->probs + (seq * T + t) * D : NULL,
                         ps->backward ? a : NULL, &w->sums);
        }
    if (ps->probs && ps->lengths)
        for (int r = 0; r < w->rows; r++) {
            const size_t seq = (size_t)(w->first + r);
            const int n = counted_steps(ps->lengths, ps->start_step, T, seq);
            memset(ps->probs + (seq * T + n) * D, 0, (size_t)(T - n) * D * sizeof *ps->probs);
        }
}

/* ---- The behaviour (professor forcing) ------------------------------------------------------ */

/* The behaviour's padding, steps n_b to T - 1 of each of the worker's sequences: zeros. */
static void behaviour_padding(sg_worker *w)
{
    const sg_pass *ps = w->pass;
    const size_t F = (size_t)w->model->cfg.hidden + ps->outputs, T = (size_t)ps->steps;
    for (int r = 0; r < w->rows; r++) {
        const size_t seq = (size_t)(w->first + r);
        const size_t n = (size_t)counted_steps(ps->lengths, ps->start_step, ps->steps, seq);
        memset(ps->behaviour->out + (seq * T + n) * F, 0, (T - n) * F * sizeof(float));
    }
}

/* The behaviour of each counted step: the top layer's state and the head's probabilities, from
 * the logits before the loss replaces them by their gradient. */
static void behaviour_out(sg_worker *w)
{
    const sg_pass *ps = w->pass;
    const int H = w->model->cfg.hidden, O = ps->outputs, F = H + O;
    const float *top = layer_x(w, w->model->cfg.layers);
    size_t i = 0;
    for (int t = 0; t < w->run; t++)
        for (int r = 0; r < w->rows_at[t]; r++, i++) {
            const size_t seq = (size_t)(w->first + w->order[r]);
            float *b = ps->behaviour->out + (seq * ps->steps + t) * F;
            memcpy(b, top + i * H, (size_t)H * sizeof *b);
            sg_head_probs(ps->kind, 1, O, w->logits + i * O, b + H);
        }
}

/* dL/dlogit of each counted step scaled by the loss's weight, plus the behaviour's gradient with
 * respect to the probabilities, through the head. */
static void behaviour_dlogits(sg_worker *w)
{
    const sg_pass *ps = w->pass;
    const sg_behaviour *bh = ps->behaviour;
    const int H = w->model->cfg.hidden, O = ps->outputs, F = H + O;
    const float weight = (float)bh->loss_weight;
    float *a = w->logits;
    for (int t = 0; t < w->run; t++)
        for (int r = 0; r < w->rows_at[t]; r++, a += O) {
            if (weight != 1.0f)
                for (int k = 0; k < O; k++)
                    a[k] *= weight;
            if (!bh->grad)
                continue;
            const size_t at = ((size_t)(w->first + w->order[r]) * ps->steps + t) * F + H;
            sg_head_probs_backward(ps->kind, O, bh->out + at, bh->grad + at, a);
        }
}

/* The behaviour's gradient with respect to the top layer's states, added to dL/dh of the top
 * layer (dy, packed) after the head's backward. */
static void behaviour_dh(sg_worker *w)
{
    const sg_pass *ps = w->pass;
    const int H = w->model->cfg.hidden, F = H + ps->outputs;
    float *dy = w->dy;
    for (int t = 0; t < w->run; t++)
        for (int r = 0; r < w->rows_at[t]; r++, dy += H) {
            const size_t seq = (size_t)(w->first + w->order[r]);
            sg_add((size_t)H, ps->behaviour->grad + (seq * ps->steps + t) * F, dy);
        }
}

/* The head, then each GRU layer from the top; the first layer computes an input gradient only
 * for the embedding of symbols, which then receives it. */
static void backward(sg_worker *w)
{
    seqgen_model *m = w->model;
    const int L = m->cfg.layers, H = m->cfg.hidden;
    sg_head_backward((int)w->total, H, w->pass->outputs, &m->head, layer_x(w, L), w->y,
                     w->made, w->logits, &w->grad_head, w->dy);
    if (w->pass->behaviour && w->pass->behaviour->grad)
        behaviour_dh(w);
    for (int l = L - 1; l >= 0; l--)
        sg_gru_backward(w->run, w->rows_at, sg_model_layer_in(m, l), H, &m->layer_params[l],
                        &m->train.packed_layers[l], layer_x(w, l), layer_h(w, l),
                        layer_gates(w, l), w->dy, l > 0 ? w->dy : w->dx, &w->grad_layers[l],
                        w->dh, &w->scratch);
    if (w->symbols)
        sg_embedding_backward((int)w->total, m->cfg.embedding, w->symbols, w->dx,
                              w->grad_embedding);
}

/* A worker's slice: nothing to run when none of its sequences counts a step (zero losses and
 * gradients). */
static void *run_worker(void *arg)
{
    sg_worker *w = arg;
    const seqgen_model *m = w->model;
    w->run = longest_counted(w);
    if (w->pass->backward)
        memset(w->grads, 0, m->param_count * sizeof *w->grads);
    w->sums = (sg_head_sums){0.0, 0.0, 0.0};
    lay_out_workspace(w, w->rows, w->run, w->pass->backward);
    sort_rows(w);
    if (w->pass->behaviour)
        behaviour_padding(w);
    if (w->run == 0) {
        loss_and_dlogits(w);
        return NULL;
    }
    load_inputs(w);
    if (w->pass->teacher)
        forward_mixing(w);
    else
        forward_teacher(w);
    if (w->pass->behaviour)
        behaviour_out(w);
    loss_and_dlogits(w);
    if (w->pass->behaviour && w->pass->backward)
        behaviour_dlogits(w);
    if (w->pass->backward)
        backward(w);
    return NULL;
}

/* ---- The pass ------------------------------------------------------------------------------- */

/* Draws the coins (and, for SAMPLE feedback, the uniforms) of every sequence and step, padding
 * included, in a fixed order from the mixing generator: the draws of a counted step do not
 * depend on the lengths. */
static void draw_mixing(seqgen_model *m, int batch, int steps, double p, seqgen_feedback fb)
{
    const int D = m->cfg.units_per_step;
    for (int b = 0; b < batch; b++) {
        uint8_t *coin = m->train.teacher + (size_t)b * steps;
        coin[0] = 1;
        for (int t = 1; t < steps; t++) {
            coin[t] = sg_rng_double(&m->mix_rng) < p;
            if (!coin[t] && fb == SEQGEN_FEEDBACK_SAMPLE)
                for (int d = 0; d < D; d++)
                    m->train.uniforms[((size_t)b * steps + t) * D + d] =
                        sg_rng_float(&m->mix_rng);
        }
    }
}

int sg_check_train_options(const seqgen_train_options *opts, int status, const char *prefix)
{
    if (opts->loss != SEQGEN_LOSS_MSE && opts->loss != SEQGEN_LOSS_BCE &&
        opts->loss != SEQGEN_LOSS_CE)
        return sg_error(status, "%sloss %d is not a seqgen_loss", prefix, (int)opts->loss);
    if (opts->feedback != SEQGEN_FEEDBACK_SAMPLE && opts->feedback != SEQGEN_FEEDBACK_THRESHOLD &&
        opts->feedback != SEQGEN_FEEDBACK_PROB)
        return sg_error(status, "%sfeedback %d is not a seqgen_feedback", prefix,
                        (int)opts->feedback);
    if (!(opts->teacher_prob >= 0.0 && opts->teacher_prob <= 1.0))
        return sg_error(status, "%steacher_prob is %g, not in [0, 1]", prefix,
                        opts->teacher_prob);
    return SEQGEN_OK;
}

/* A batch as the pass reads it, from either door: units (inputs, targets) or symbols. */
typedef struct sg_batch {
    const float *inputs, *targets;
    const int32_t *input_symbols, *target_symbols;
    size_t stride; /* as given: 0 means steps * D */
    int batch, steps, start_step;
    const size_t *lengths;
} sg_batch;

/* The steps of `values` (the batch's inputs or targets) that the pass reads lie in [0, 1]: each
 * of the sequences [first, end)'s counted steps, less `unread` (the start step, for inputs); NaN
 * fails the test too. */
static int check_values(const seqgen_model *m, const sg_batch *b, int first, int end,
                        const char *what, const float *values, int unread)
{
    const int D = m->cfg.units_per_step;
    const size_t stride = b->stride ? b->stride : (size_t)b->steps * D;
    for (int s = first; s < end; s++) {
        const float *v = values + (size_t)s * stride;
        const int steps = counted_steps(b->lengths, b->start_step, b->steps, s) - unread;
        for (size_t i = 0; i < (size_t)(steps > 0 ? steps : 0) * D; i++)
            if (!(v[i] >= 0.0f && v[i] <= 1.0f))
                return sg_error(SEQGEN_EINVAL, "%s: sequence %d, step %zu, unit %zu is %g, not "
                                "in [0, 1]", what, s, i / D, i % D, (double)v[i]);
    }
    return SEQGEN_OK;
}

/* The sequences [first, end) of a batch of `batch` that the pass computes: its slice. */
static void slice_range(int batch, const seqgen_train_options *opts, int *first, int *end)
{
    const long long k = opts->slices > 1 ? opts->slices : 1, i = opts->slice;
    *first = (int)(batch * i / k);
    *end = (int)(batch * (i + 1) / k);
}

/* The same for symbols: each one read is in [0, V). */
static int check_symbols(const seqgen_model *m, const sg_batch *b, int first, int end,
                         const char *what, const int32_t *values, int unread)
{
    const size_t stride = b->stride ? b->stride : (size_t)b->steps;
    for (int s = first; s < end; s++) {
        const int32_t *v = values + (size_t)s * stride;
        const int steps = counted_steps(b->lengths, b->start_step, b->steps, s) - unread;
        for (int t = 0; t < steps; t++)
            if (v[t] < 0 || v[t] >= m->cfg.vocab)
                return sg_error(SEQGEN_EINVAL, "%s: sequence %d, step %d is symbol %d, not in "
                                "[0, %d)", what, s, t, (int)v[t], m->cfg.vocab);
    }
    return SEQGEN_OK;
}

/* Each length in [1, T + 1 - start_step] (a sequence predicts at most T steps), and at least
 * one counted step: the losses are means over the counted predictions. */
static int check_lengths(const sg_batch *b)
{
    const size_t longest = (size_t)b->steps + 1 - (size_t)b->start_step;
    int counted = 0;
    for (int s = 0; s < b->batch; s++) {
        if (b->lengths[s] < 1 || b->lengths[s] > longest)
            return sg_error(SEQGEN_EINVAL, "lengths: sequence %d has length %zu, not in [1, %zu] "
                            "(%d steps%s)", s, b->lengths[s], longest, b->steps,
                            b->start_step ? " after a start step" : "");
        counted |= counted_steps(b->lengths, b->start_step, b->steps, s) > 0;
    }
    if (!counted)
        return sg_error(SEQGEN_EINVAL, "lengths: no step to predict in the batch: all %d "
                        "sequences have length 1, which without a start step predicts nothing",
                        b->batch);
    return SEQGEN_OK;
}

/* The batch's shape and values, and the options against the model's head; the pointers are
 * checked by the doors. */
static int check_pass(const seqgen_model *m, const sg_batch *b, const seqgen_train_options *opts,
                      int mixing)
{
    if (b->start_step != 0 && b->start_step != 1)
        return sg_error(SEQGEN_EINVAL, "start_step must be 0 or 1, got %d", b->start_step);
    if (b->batch < 1 || b->steps < 1)
        return sg_error(SEQGEN_EINVAL, "batch and steps must be >= 1, got %d and %d", b->batch,
                        b->steps);
    if ((size_t)b->batch * b->steps > ((size_t)1 << 40) / m->cfg.hidden)
        return sg_error(SEQGEN_EINVAL, "batch %d x steps %d is too large", b->batch, b->steps);
    const size_t step_floats = (size_t)b->steps * m->cfg.units_per_step;
    if (b->stride != 0 && b->stride < step_floats)
        return sg_error(SEQGEN_EINVAL, "stride %zu is less than the %zu %s of %d steps%s: 0 "
                        "(packed) or at least that", b->stride, step_floats,
                        m->cfg.vocab ? "symbols" : "floats", b->steps,
                        m->cfg.vocab ? "" : " of D units");
    if (opts->slices < 0 || opts->slice < 0 || opts->slice >= (opts->slices > 1 ? opts->slices : 1))
        return sg_error(SEQGEN_EINVAL, "slice %d of %d: slices must be >= 0 and slice in [0, "
                        "slices) (slice 0 of 0 or 1: the whole batch)", opts->slice, opts->slices);
    int status = sg_check_train_options(opts, SEQGEN_EINVAL, "");
    if (!status)
        status = sg_head_check_options(sg_model_head_kind(m), opts->loss, opts->feedback, mixing);
    if (!status && b->lengths)
        status = check_lengths(b);
    /* the values last: the one check that reads the whole slice */
    int first, end;
    slice_range(b->batch, opts, &first, &end);
    if (!status && m->cfg.vocab)
        status = check_symbols(m, b, first, end, "input symbols", b->input_symbols,
                               b->start_step);
    if (!status && m->cfg.vocab)
        status = check_symbols(m, b, first, end, "target symbols", b->target_symbols, 0);
    if (!status && !m->cfg.vocab)
        status = check_values(m, b, first, end, "inputs", b->inputs, b->start_step);
    if (!status && !m->cfg.vocab)
        status = check_values(m, b, first, end, "targets", b->targets, 0);
    return status;
}

/* Splits the sequences computed into one part per thread, runs them, sums the gradients and the
 * losses. A slice without a counted step has nothing to run: zero losses and gradients. */
static int run_pass(seqgen_model *m, sg_pass *ps, seqgen_train_stats *stats, uint64_t forced,
                    uint64_t mixable, uint64_t predicted)
{
    int threads = ps->run > 0 ? sg_model_thread_count(m) : 0;
    if (threads > ps->count)
        threads = ps->count;
    int status = threads > 0 ? reserve_workspace(m, threads, (ps->count + threads - 1) / threads,
                                                 ps->run, ps->backward) : SEQGEN_OK;
    if (status)
        return status;
    sg_worker *workers = m->train.workers;
    if (threads > 0)
        sg_model_pack(m, ps->backward, m->train.packed, m->train.packed_layers);
    for (int i = 0; i < threads; i++) {
        sg_worker *w = &workers[i];
        w->pass = ps;
        w->first = ps->first + (int)((long long)ps->count * i / threads);
        w->rows = ps->first + (int)((long long)ps->count * (i + 1) / threads) - w->first;
    }
    if (threads > 0)
        sg_run_parallel(run_worker, workers, sizeof *workers, threads);
    sg_head_sums sums = {0.0, 0.0, 0.0};
    for (int i = 0; i < threads; i++) {
        sums.mse += workers[i].sums.mse;
        sums.bce += workers[i].sums.bce;
        sums.ce += workers[i].sums.ce;
    }
    const int categorical = ps->kind == SG_HEAD_CATEGORICAL;
    seqgen_train_stats st = {.loss = sg_head_loss_of(&sums, ps->loss) / ps->predictions,
                             .mse = categorical ? NAN : sums.mse / ps->predictions,
                             .bce = categorical ? NAN : sums.bce / ps->predictions,
                             .nll_nats = sg_head_nll_of(ps->kind, &sums) / ps->batch,
                             .teacher_forced = forced, .mixable = mixable,
                             .predictions = predicted};
    st.teacher_fraction = st.mixable ? (double)forced / (double)st.mixable : 1.0;
    if (categorical && !isfinite(st.loss))
        return sg_error(SEQGEN_ENUMERIC, "the loss is not finite (CE %g): the parameters hold "
                        "NaN or infinity", st.loss);
    if (!categorical && (!isfinite(st.mse) || !isfinite(st.bce)))
        return sg_error(SEQGEN_ENUMERIC, "the loss is not finite (MSE %g, BCE %g): the parameters "
                        "or the inputs hold NaN or infinity", st.mse, st.bce);
    if (ps->backward && threads == 0)
        memset(m->grads, 0, m->param_count * sizeof *m->grads);
    if (ps->backward && threads > 0) {
        memcpy(m->grads, workers[0].grads, m->param_count * sizeof *m->grads);
        for (int i = 1; i < threads; i++)
            sg_add(m->param_count, workers[i].grads, m->grads);
    }
    if (stats)
        *stats = st;
    return SEQGEN_OK;
}

/* The one pass behind the public doors: teacher is NULL (draw coins if p < 1) or a fixed
 * pattern; backward says whether gradients are computed. */
static int pass(seqgen_model *m, const sg_batch *b, const seqgen_train_options *opts,
                int backward, const uint8_t *teacher, const float *uniforms, float *probs,
                const sg_behaviour *behaviour, seqgen_train_stats *stats)
{
    seqgen_train_options defaults = seqgen_train_options_default();
    if (!opts)
        opts = &defaults;
    int status = check_pass(m, b, opts, teacher || opts->teacher_prob < 1.0);
    if (status)
        return status;
    const int B = b->batch, T = b->steps;
    int first, end;
    slice_range(B, opts, &first, &end);
    sg_pass ps = {b->inputs, b->targets, b->input_symbols, b->target_symbols,
                  b->stride ? b->stride : (size_t)T * m->cfg.units_per_step, B, T, first,
                  end - first, b->start_step, b->lengths, 0, 0.0, sg_model_head_kind(m),
                  sg_model_outputs(m), opts->loss, opts->feedback, backward, teacher, uniforms,
                  probs, behaviour};
    if (!teacher && opts->teacher_prob < 1.0) {
        status = reserve_mixing(m, (size_t)B * T);
        if (status)
            return status;
        draw_mixing(m, B, T, opts->teacher_prob, opts->feedback);
        ps.teacher = m->train.teacher;
        ps.uniforms = m->train.uniforms;
    }
    /* the counted steps: the batch's are the loss's denominator; the slice's, the steps to run
     * and the inputs that could mix */
    uint64_t counted = 0, sliced = 0, forced = 0, mixable = 0;
    for (int s = 0; s < B; s++) {
        const int n = counted_steps(b->lengths, b->start_step, T, s);
        counted += n;
        if (s < first || s >= end)
            continue;
        sliced += n;
        if (n > ps.run)
            ps.run = n;
        if (n > 1) {
            mixable += n - 1;
            if (!ps.teacher)
                forced += n - 1;
            else
                for (int t = 1; t < n; t++)
                    forced += ps.teacher[(size_t)s * T + t] != 0;
        }
    }
    ps.predictions = (double)counted * m->cfg.units_per_step;
    return run_pass(m, &ps, stats, forced, mixable, sliced * (uint64_t)m->cfg.units_per_step);
}

/* The door of binary units: NULL pointers named after `function`, a categorical model refused. */
static int units_pass(const char *function, seqgen_model *m, const seqgen_batch *b,
                      const seqgen_train_options *opts, int backward, const uint8_t *teacher,
                      const float *uniforms, float *probs, const sg_behaviour *behaviour,
                      seqgen_train_stats *stats)
{
    if (!m || !b || !b->inputs || !b->targets)
        return sg_error(SEQGEN_EINVAL, "%s: NULL %s", function, !m ? "model" : !b ? "batch" :
                        !b->inputs ? "batch inputs" : "batch targets");
    if (m->cfg.vocab)
        return sg_error(SEQGEN_EINVAL, "the model is categorical (vocab %d): it reads batches of "
                        "symbols (seqgen_model_forward_backward_symbols(), "
                        "seqgen_model_evaluate_symbols())", m->cfg.vocab);
    sg_batch in = {b->inputs, b->targets, NULL, NULL, b->stride, b->batch, b->steps,
                   b->start_step, b->lengths};
    return pass(m, &in, opts, backward, teacher, uniforms, probs, behaviour, stats);
}

/* The door of symbols, likewise. */
static int symbols_pass(const char *function, seqgen_model *m, const seqgen_symbol_batch *b,
                        const seqgen_train_options *opts, int backward, float *probs,
                        const sg_behaviour *behaviour, seqgen_train_stats *stats)
{
    if (!m || !b || !b->inputs || !b->targets)
        return sg_error(SEQGEN_EINVAL, "%s: NULL %s", function, !m ? "model" : !b ? "batch" :
                        !b->inputs ? "batch inputs" : "batch targets");
    if (!m->cfg.vocab)
        return sg_error(SEQGEN_EINVAL, "the model is of binary units (vocab 0): it reads "
                        "seqgen_batch (seqgen_model_forward_backward(), seqgen_model_evaluate())");
    sg_batch in = {NULL, NULL, b->inputs, b->targets, b->stride, b->batch, b->steps,
                   b->start_step, b->lengths};
    return pass(m, &in, opts, backward, NULL, NULL, probs, behaviour, stats);
}

seqgen_batch seqgen_batch_of_sequences(const seqgen_model *model, const float *sequences,
                                       int batch, int length)
{
    const int start = model ? model->cfg.start_step : 0;
    const size_t D = model ? (size_t)model->cfg.units_per_step : 0;
    seqgen_batch b = {sequences, sequences && !start ? sequences + D : sequences,
                      length > 0 ? (size_t)length * D : 0, batch, start ? length : length - 1,
                      start, NULL};
    return b;
}

seqgen_symbol_batch seqgen_symbol_batch_of_sequences(const seqgen_model *model,
                                                     const int32_t *symbols, int batch, int length)
{
    const int start = model ? model->cfg.start_step : 0;
    seqgen_symbol_batch b = {symbols, symbols && !start ? symbols + 1 : symbols,
                             length > 0 ? (size_t)length : 0, batch, start ? length : length - 1,
                             start, NULL};
    return b;
}

int seqgen_model_forward_backward(seqgen_model *model, const seqgen_batch *batch,
                                  const seqgen_train_options *opts, float *probs,
                                  seqgen_train_stats *stats)
{
    return units_pass("seqgen_model_forward_backward", model, batch, opts, 1, NULL, NULL, probs,
                      NULL, stats);
}

int seqgen_model_evaluate(seqgen_model *model, const seqgen_batch *batch, seqgen_loss loss,
                          float *probs, seqgen_train_stats *stats)
{
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = loss;
    return units_pass("seqgen_model_evaluate", model, batch, &opts, 0, NULL, NULL, probs, NULL,
                      stats);
}

int seqgen_model_forward_backward_symbols(seqgen_model *model, const seqgen_symbol_batch *batch,
                                          const seqgen_train_options *opts, float *probs,
                                          seqgen_train_stats *stats)
{
    return symbols_pass("seqgen_model_forward_backward_symbols", model, batch, opts, 1, probs,
                        NULL, stats);
}

int seqgen_model_evaluate_symbols(seqgen_model *model, const seqgen_symbol_batch *batch,
                                  float *probs, seqgen_train_stats *stats)
{
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_CE;
    return symbols_pass("seqgen_model_evaluate_symbols", model, batch, &opts, 0, probs, NULL,
                        stats);
}

int sg_model_forward_backward_masked(seqgen_model *model, const seqgen_batch *batch,
                                     const seqgen_train_options *opts, const uint8_t *teacher,
                                     const float *uniforms, float *probs,
                                     seqgen_train_stats *stats)
{
    seqgen_train_options defaults = seqgen_train_options_default();
    if (!opts)
        opts = &defaults;
    if (!teacher)
        return sg_error(SEQGEN_EINVAL, "sg_model_forward_backward_masked: NULL mixing pattern");
    if (opts->feedback == SEQGEN_FEEDBACK_SAMPLE && !uniforms)
        return sg_error(SEQGEN_EINVAL, "sg_model_forward_backward_masked: NULL uniforms, which "
                        "SAMPLE feedback needs");
    return units_pass("sg_model_forward_backward_masked", model, batch, opts, 1, teacher,
                      uniforms, probs, NULL, stats);
}

int sg_model_pass_behaviour(seqgen_model *model, const seqgen_batch *units,
                            const seqgen_symbol_batch *symbols, const seqgen_train_options *opts,
                            int backward, const sg_behaviour *behaviour, float *probs,
                            seqgen_train_stats *stats)
{
    if (!behaviour || !behaviour->out)
        return sg_error(SEQGEN_EINVAL, "sg_model_pass_behaviour: NULL %s",
                        behaviour ? "behaviour output" : "behaviour");
    if (!units == !symbols)
        return sg_error(SEQGEN_EINVAL, "sg_model_pass_behaviour: give a batch of units or a batch "
                        "of symbols, not %s", units ? "both" : "neither");
    if (!(behaviour->loss_weight >= 0.0 && isfinite(behaviour->loss_weight)))
        return sg_error(SEQGEN_EINVAL, "sg_model_pass_behaviour: loss_weight is %g, not finite "
                        "and >= 0", behaviour->loss_weight);
    if (behaviour->grad && !backward)
        return sg_error(SEQGEN_EINVAL, "sg_model_pass_behaviour: a behaviour gradient for a pass "
                        "without backward");
    if (units)
        return units_pass("sg_model_pass_behaviour", model, units, opts, backward, NULL, NULL,
                          probs, behaviour, stats);
    return symbols_pass("sg_model_pass_behaviour", model, symbols, opts, backward, probs,
                        behaviour, stats);
}
