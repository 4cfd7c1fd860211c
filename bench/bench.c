/* The libseqgen benchmark (issue 9): in one run, (a) training throughput, (b) completion
 * throughput, (c) the cblas_sgemm ceiling for a large square product and for the GRU's own
 * product shapes, with 1 and with N threads, (d) peak resident memory, (e) the latency of the
 * single-step API at batch 1 (not with an autoregressive head, which seqgen_model_step()
 * refuses). --head chooses the output head (issue 17: its share of the training time). Every
 * figure is the median of --reps timed repetitions after a warm-up. Prints a table and, as its
 * last line, one JSON object with the keys of bench/pytorch_gru.py (and step_us, which it does
 * not measure); figures not measured are null. */

/* OpenBLAS's cblas.h declares functions taking cpu_set_t, a GNU extension: it must be visible
 * before the first system header fixes the feature set. */
#define _GNU_SOURCE

#include <cblas.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "seqgen.h"

/* OpenBLAS's thread control. Weak, so that the program still links against another CBLAS; then
 * the thread count cannot be chosen and only the library's default is measured. */
extern void openblas_set_num_threads(int threads) __attribute__((weak));

#define IMAGE_PIXELS 784
/* A timed repetition calls the product at least this long, so that small products are measured
 * over many calls rather than one clock tick. */
#define MIN_REP_SECONDS 0.05

typedef struct bench_options {
    int hidden;          /* H */
    int layers;          /* L */
    int units_per_step; /* D */
    int batch;           /* B */
    int threads;         /* N, the multi-thread count */
    int reps;
    int sgemm_size;      /* side of the large square product */
    const char *data_dir; /* the MNIST files (data/mnist10k) */
    seqgen_head_kind head;
    int head_hidden;     /* M of the MADE head; 0 with the other heads */
    int train_only;      /* measure training alone: no completion, step or sgemm */
} bench_options;

/* The --head names, indexed by seqgen_head_kind (seqgen-train's names). */
static const char *const head_names[] = {"independent", "linear-ar", "made-ar"};

/* A throughput: per second of wall-clock time, and per second of the process's CPU time (all
 * threads), which other work on a shared machine disturbs less. NAN if not measured. */
typedef struct throughput {
    double per_s, per_cpu_s;
} throughput;

/* The model's figures, each with one thread ([0]) and with N threads ([1]). */
typedef struct model_figures {
    throughput train[2];    /* images */
    throughput complete[2]; /* completions */
    double step_us;         /* one seqgen_model_step() call at batch 1, one thread; NAN with
                               an autoregressive head, which that call refuses */
} model_figures;

/* One sgemm shape as the GRU uses it: C[m x n] (+)= op(A) op(B) with inner dimension k. */
typedef struct gemm_shape {
    const char *name;
    int m, n, k;
    CBLAS_TRANSPOSE trans_a, trans_b;
    float beta;
    double gflops[2]; /* measured with 1 and with N threads; NAN if not measured */
} gemm_shape;

/* ---- Helpers ----------------------------------------------------------------------------- */

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof *values, compare_doubles);
    return count % 2 ? values[count / 2] : 0.5 * (values[count / 2 - 1] + values[count / 2]);
}

/* Times `reps` runs of run(context) after one untimed warm-up, each doing `items` items of
 * work; the median rates. NAN if a run fails (run returns nonzero). */
static throughput median_throughput(int (*run)(void *), void *context, double items, int reps)
{
    throughput result = {NAN, NAN};
    double *rates = malloc(2 * (size_t)reps * sizeof *rates);
    int ok = rates && run(context) == 0;
    for (int r = 0; ok && r < reps; r++) {
        double wall = now_seconds(), cpu = cpu_seconds();
        ok = run(context) == 0;
        rates[r] = items / (now_seconds() - wall);
        rates[reps + r] = items / (cpu_seconds() - cpu);
    }
    if (ok)
        result = (throughput){median(rates, reps), median(rates + reps, reps)};
    free(rates);
    return result;
}

static double peak_rss_mb(void)
{
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0)
        return NAN;
    return (double)usage.ru_maxrss / 1024.0; /* Linux reports KiB */
}

static void set_blas_threads(int threads)
{
    if (openblas_set_num_threads)
        openblas_set_num_threads(threads);
}

/* Training FLOPs per image, the count 3 x T x (3H(H + D) + HD) x 2, summed over layers
 * (a layer above the first reads H inputs): forward, input gradient and weight gradient each
 * cost one product of the forward's size. The count is the independent head's whatever --head
 * is: an autoregressive head's extra work shows as fewer images/s at the same count. */
static double train_flops_per_image(const bench_options *opt)
{
    double h = opt->hidden, d = opt->units_per_step;
    double steps = IMAGE_PIXELS / opt->units_per_step - 1;
    double per_step = h * d;
    for (int layer = 0; layer < opt->layers; layer++)
        per_step += 3.0 * h * (h + (layer == 0 ? d : h));
    return 3.0 * steps * per_step * 2.0;
}

/* ---- (a), (b): the model's own throughput -------------------------------------------------- */

/* Training batches per timed repetition, as bench/pytorch_gru.py's --train-batches default. */
#define TRAIN_BATCHES_PER_REP 2
/* Completion: pixels given of the 784, the rest generated greedily. */
#define COMPLETE_GIVEN 500

/* Reports a failed library call on stderr (the benchmark is a program: it may print). */
static int report(int status, const char *what)
{
    if (status < 0)
        fprintf(stderr, "bench: %s: %s (%s)\n", what, seqgen_strerror(status),
                seqgen_last_error());
    return status;
}

/* The binary pixel sequences of the first `count` images of a split of opt->data_dir, in the
 * library's layout; NULL (reported) if the split cannot be read or holds fewer images. With
 * count 0, every image of the split, their number stored in *count. */
static float *load_sequences(const bench_options *opt, seqgen_split split, size_t *count)
{
    seqgen_dataset *ds = NULL;
    if (report(seqgen_dataset_open_dir(&ds, opt->data_dir, split), opt->data_dir) < 0)
        return NULL;
    size_t available = seqgen_dataset_count(ds);
    if (*count == 0)
        *count = available;
    size_t *indices = malloc(*count * sizeof *indices);
    float *sequences = malloc(*count * IMAGE_PIXELS * sizeof *sequences);
    int ok = indices && sequences && *count <= available &&
             seqgen_dataset_units(ds) == IMAGE_PIXELS;
    for (size_t i = 0; ok && i < *count; i++)
        indices[i] = i;
    if (ok)
        ok = report(seqgen_dataset_sequences(ds, indices, *count, NULL, 0, sequences),
                    "sequences") == SEQGEN_OK;
    else
        fprintf(stderr, "bench: %s: need %zu images of 784 pixels, or out of memory\n",
                opt->data_dir, *count);
    free(indices);
    seqgen_dataset_free(ds);
    if (!ok) {
        free(sequences);
        return NULL;
    }
    return sequences;
}

static seqgen_model *create_model(const bench_options *opt, int threads)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.hidden = opt->hidden;
    cfg.layers = opt->layers;
    cfg.units_per_step = opt->units_per_step;
    cfg.threads = threads;
    cfg.head = opt->head;
    cfg.head_hidden = opt->head_hidden;
    seqgen_model *model = NULL;
    report(seqgen_model_create(&model, &cfg), "seqgen_model_create");
    return model;
}

/* One timed unit of training: a training step (teacher-forced forward and backward, inputs
 * steps 0..T-1, targets 1..T, MSE, then Adam) on each of `batches` batches. Teacher forcing and
 * MSE are what every head takes (the autoregressive ones refuse scheduled sampling). */
typedef struct training_run {
    const bench_options *opt;
    seqgen_model *model;
    seqgen_optim *adam;
    const float *sequences;
    int batches;
} training_run;

static int train_batches(void *context)
{
    const training_run *run = context;
    const int length = IMAGE_PIXELS / run->opt->units_per_step;
    const seqgen_train_options train = seqgen_train_options_default(); /* MSE, p = 1 */
    for (int i = 0; i < run->batches; i++) {
        const float *batch = run->sequences + (size_t)i * run->opt->batch * IMAGE_PIXELS;
        seqgen_batch sequences = seqgen_batch_of_sequences(run->model, batch, run->opt->batch,
                                                           length);
        int status = seqgen_model_forward_backward(run->model, &sequences, &train, NULL, NULL);
        if (!status)
            status = seqgen_optim_step(run->adam, run->model);
        if (report(status, "training step") < 0)
            return status;
    }
    return SEQGEN_OK;
}

/* (a) Training images/s at batch B, T = 784/D - 1 steps, MSE, Adam lr 1e-3, teacher forcing, on
 * the first TRAIN_BATCHES_PER_REP batches of the bundled training digits, with `threads`
 * threads: one warm-up (which also allocates the workspace), then the median of opt->reps
 * repetitions of those batches. Only the training steps are timed. NAN if anything fails
 * (reported on stderr). */
static throughput measure_training_images_per_s(const bench_options *opt, int threads)
{
    throughput result = {NAN, NAN};
    size_t count = (size_t)opt->batch * TRAIN_BATCHES_PER_REP;
    float *sequences = load_sequences(opt, SEQGEN_SPLIT_TRAIN, &count);
    seqgen_model *model = sequences ? create_model(opt, threads) : NULL;
    seqgen_optim *adam = NULL;
    const seqgen_optim_config adam_cfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    if (model && report(seqgen_optim_create(&adam, model, &adam_cfg), "seqgen_optim_create") == 0) {
        training_run run = {opt, model, adam, sequences, TRAIN_BATCHES_PER_REP};
        result = median_throughput(train_batches, &run, (double)count, opt->reps);
    }
    seqgen_optim_free(adam);
    seqgen_model_free(model);
    free(sequences);
    return result;
}

/* One timed unit of completion: one seqgen_complete() call on all the test digits. */
typedef struct completion_run {
    const seqgen_model *model;
    const float *sequences;
    float *completed;
    size_t count;
} completion_run;

static int complete_digits(void *context)
{
    const completion_run *run = context;
    const seqgen_complete_options greedy = seqgen_complete_options_default();
    const int steps = IMAGE_PIXELS / seqgen_model_get_config(run->model).units_per_step;
    return report(seqgen_complete(run->model, run->sequences, run->count, steps, NULL,
                                  COMPLETE_GIVEN, &greedy, run->completed, NULL),
                  "seqgen_complete");
}

/* (b) Completions/s for every bundled test digit (997) in one seqgen_complete() call, the first
 * COMPLETE_GIVEN pixels given, the rest generated greedily, with `threads` threads: one warm-up,
 * then the median of opt->reps calls. The model is freshly initialised: completion does the same
 * work whatever the weights. Only the calls are timed. NAN if anything fails. */
static throughput measure_completions_per_s(const bench_options *opt, int threads)
{
    throughput result = {NAN, NAN};
    size_t count = 0; /* the whole test split */
    float *sequences = load_sequences(opt, SEQGEN_SPLIT_TEST, &count);
    float *completed = sequences ? malloc(count * IMAGE_PIXELS * sizeof *completed) : NULL;
    seqgen_model *model = completed ? create_model(opt, threads) : NULL;
    if (model) {
        completion_run run = {model, sequences, completed, count};
        result = median_throughput(complete_digits, &run, (double)count, opt->reps);
    }
    seqgen_model_free(model);
    free(completed);
    free(sequences);
    return result;
}

/* ---- (e): the single-step API -------------------------------------------------------------- */

/* Sequences generated per timed repetition of the step measurement. */
#define STEP_SEQUENCES 20

/* One timed unit of stepping: STEP_SEQUENCES sequences of one image's steps, each from a reset
 * state, generated with seqgen_model_step() at batch 1, the thresholded output fed back. */
typedef struct step_run {
    const seqgen_model *model;
    seqgen_model_state *state;
    float *x, *p; /* [D] */
    int steps, units_per_step;
} step_run;

static int step_sequences(void *context)
{
    const step_run *run = context;
    for (int s = 0; s < STEP_SEQUENCES; s++) {
        seqgen_model_state_reset(run->state);
        memset(run->x, 0, (size_t)run->units_per_step * sizeof *run->x);
        for (int t = 0; t < run->steps; t++) {
            int status = seqgen_model_step(run->model, run->state, run->x, NULL, run->p);
            if (status)
                return report(status, "seqgen_model_step");
            for (int d = 0; d < run->units_per_step; d++)
                run->x[d] = run->p[d] > 0.5f;
        }
    }
    return 0;
}

/* (e) Microseconds per seqgen_model_step() call at batch 1 with one thread: the latency of
 * generating one sequence interactively. NAN if anything fails. */
static double measure_step_us(const bench_options *opt)
{
    const int D = opt->units_per_step;
    seqgen_model *model = create_model(opt, 1);
    seqgen_model_state *state = NULL;
    float *x = malloc((size_t)D * sizeof *x), *p = malloc((size_t)D * sizeof *p);
    throughput steps = {NAN, NAN};
    if (model && x && p &&
        report(seqgen_model_state_create(&state, model, 1), "seqgen_model_state_create") == 0) {
        step_run run = {model, state, x, p, IMAGE_PIXELS / D, D};
        steps = median_throughput(step_sequences, &run,
                                  (double)STEP_SEQUENCES * (IMAGE_PIXELS / D), opt->reps);
    }
    seqgen_model_state_free(state);
    seqgen_model_free(model);
    free(x);
    free(p);
    return 1e6 / steps.per_s;
}

/* ---- (c): the sgemm ceiling ---------------------------------------------------------------- */

static void run_gemm(const gemm_shape *s, const float *a, const float *b, float *c)
{
    int lda = s->trans_a == CblasNoTrans ? s->k : s->m;
    int ldb = s->trans_b == CblasNoTrans ? s->n : s->k;
    cblas_sgemm(CblasRowMajor, s->trans_a, s->trans_b, s->m, s->n, s->k, 1.0f, a, lda, b, ldb,
                s->beta, c, s->n);
}

/* GFLOP/s of one shape: a warm-up that also finds how many calls last MIN_REP_SECONDS, then the
 * median over `reps` repetitions of that many calls. */
static double time_gemm(const gemm_shape *s, const float *a, const float *b, float *c, int reps)
{
    int calls = 1;
    for (;;) {
        double start = now_seconds();
        for (int i = 0; i < calls; i++)
            run_gemm(s, a, b, c);
        if (now_seconds() - start >= MIN_REP_SECONDS)
            break;
        calls *= 2;
    }
    double *rates = malloc((size_t)reps * sizeof *rates);
    if (!rates)
        return NAN;
    double flops = 2.0 * s->m * (double)s->n * s->k * calls;
    for (int r = 0; r < reps; r++) {
        double start = now_seconds();
        for (int i = 0; i < calls; i++)
            run_gemm(s, a, b, c);
        rates[r] = flops / (now_seconds() - start) / 1e9;
    }
    double result = median(rates, reps);
    free(rates);
    return result;
}

static float *random_matrix(size_t count)
{
    float *m = malloc(count * sizeof *m);
    if (m)
        for (size_t i = 0; i < count; i++)
            m[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    return m;
}

/* Fills shapes[] with the products worth knowing the ceiling of; returns how many. */
static int gru_shapes(const bench_options *opt, gemm_shape shapes[6])
{
    int h = opt->hidden, b = opt->batch, n = opt->sgemm_size;
    int all_steps = (IMAGE_PIXELS / opt->units_per_step - 1) * b;
    gemm_shape list[] = {
        {"large square", n, n, n, CblasNoTrans, CblasNoTrans, 0.0f, {NAN, NAN}},
        /* Forward, one step: the three gates' recurrent products, h[B x H] Whh^T[H x 3H]. */
        {"fwd h Whh^T (step)", b, 3 * h, h, CblasNoTrans, CblasTrans, 0.0f, {NAN, NAN}},
        /* Backward, one step: dh[B x H] = dG[B x 3H] Whh[3H x H]. */
        {"bwd dG Whh (step)", b, h, 3 * h, CblasNoTrans, CblasNoTrans, 0.0f, {NAN, NAN}},
        /* Backward, one step: dWhh^T[H x 3H] += h^T[H x B] dG[B x 3H]. */
        {"bwd h^T dG (step)", h, 3 * h, b, CblasTrans, CblasNoTrans, 1.0f, {NAN, NAN}},
        /* The same weight gradient for all T steps at once, K = T B. */
        {"bwd h^T dG (all T)", h, 3 * h, all_steps, CblasTrans, CblasNoTrans, 1.0f, {NAN, NAN}},
        /* Layers above the first: the input projection of all steps in one product. */
        {"fwd x Wih^T (all T)", all_steps, 3 * h, h, CblasNoTrans, CblasTrans, 0.0f, {NAN, NAN}},
    };
    int count = opt->layers > 1 ? 6 : 5;
    memcpy(shapes, list, (size_t)count * sizeof *shapes);
    return count;
}

/* Measures every shape with 1 and with opt->threads threads. Returns 0, or -1 if memory ran
 * out. */
static int measure_sgemm(const bench_options *opt, gemm_shape *shapes, int count)
{
    for (int i = 0; i < count; i++) {
        gemm_shape *s = &shapes[i];
        size_t size_a = (size_t)s->m * (size_t)s->k, size_b = (size_t)s->k * (size_t)s->n;
        float *a = random_matrix(size_a), *b = random_matrix(size_b);
        float *c = calloc((size_t)s->m * (size_t)s->n, sizeof *c);
        int ok = a && b && c;
        for (int t = 0; t < 2 && ok; t++) {
            if (t == 1 && !openblas_set_num_threads)
                break; /* cannot choose: the one-thread figure is the library default */
            set_blas_threads(t == 0 ? 1 : opt->threads);
            s->gflops[t] = time_gemm(s, a, b, c, opt->reps);
        }
        free(a);
        free(b);
        free(c);
        if (!ok)
            return -1;
    }
    set_blas_threads(opt->threads);
    return 0;
}

/* ---- Output -------------------------------------------------------------------------------- */

static void print_number(const char *key, double value, const char *separator)
{
    if (isfinite(value))
        printf("\"%s\": %.6g%s", key, value, separator);
    else
        printf("\"%s\": null%s", key, separator);
}

/* One row of the model's table: the figure with 1 and with N threads, and the speed-up. */
static void print_model_row(const char *name, const double figure[2], const char *unit)
{
    if (!isfinite(figure[0]) && !isfinite(figure[1]) && name[0] == '\0')
        return; /* a derived row of a figure not measured */
    printf("  %-11s", name);
    for (int t = 0; t < 2; t++)
        if (isfinite(figure[t]))
            printf(" %10.1f %-9s", figure[t], unit);
        else
            printf(" %20s", "not measured");
    if (isfinite(figure[0]) && isfinite(figure[1]))
        printf(" %6.2fx", figure[1] / figure[0]);
    printf("\n");
}

static void print_table(const bench_options *opt, const gemm_shape *shapes, int count,
                        const model_figures *fig, double rss)
{
    const double flops = train_flops_per_image(opt);
    const double train[2] = {fig->train[0].per_s, fig->train[1].per_s};
    const double train_cpu[2] = {fig->train[0].per_cpu_s, fig->train[1].per_cpu_s};
    const double gflops[2] = {train[0] * flops / 1e9, train[1] * flops / 1e9};
    const double complete[2] = {fig->complete[0].per_s, fig->complete[1].per_s};
    const double complete_cpu[2] = {fig->complete[0].per_cpu_s, fig->complete[1].per_cpu_s};
    printf("libseqgen %s, H=%d, L=%d, D=%d, B=%d, T=%d, head %s", seqgen_version(), opt->hidden,
           opt->layers, opt->units_per_step, opt->batch, IMAGE_PIXELS / opt->units_per_step - 1,
           head_names[opt->head]);
    if (opt->head == SEQGEN_HEAD_MADE_AR)
        printf(" (M=%d)", opt->head_hidden);
    printf("; median of %d after a warm-up\n", opt->reps);
    printf("  %-11s %20s %20s %7s\n", "", "1 thread", (opt->threads > 1 ? "N threads" : "-"),
           "N / 1");
    print_model_row("training", train, "images/s");
    print_model_row("", gflops, "GFLOP/s");
    print_model_row("", train_cpu, "/CPU-s");
    print_model_row("completion", complete, "digits/s");
    print_model_row("", complete_cpu, "/CPU-s");
    if (isfinite(fig->step_us))
        printf("  step        %10.2f us per seqgen_model_step() call at batch 1, 1 thread\n",
               fig->step_us);
    else if (opt->head != SEQGEN_HEAD_INDEPENDENT && !opt->train_only)
        printf("  step        %20s (seqgen_model_step() refuses the %s head)\n", "skipped",
               head_names[opt->head]);
    else
        printf("  step        %20s\n", "not measured");
    printf("  peak RSS    %10.0f MB (training at B=%d%s)\n", rss, opt->batch,
           opt->train_only ? "" : " and completion of the test digits");
    if (opt->train_only)
        return; /* --train-only: no sgemm figures */
    printf("cblas_sgemm GFLOP/s (row-major)%s\n",
           openblas_set_num_threads ? "" : "; thread count not settable: library default");
    printf("  %-22s %6s %6s %6s %10s %10s\n", "product", "M", "N", "K", "1 thread", "N threads");
    for (int i = 0; i < count; i++)
        printf("  %-22s %6d %6d %6d %10.1f %10.1f\n", shapes[i].name, shapes[i].m, shapes[i].n,
               shapes[i].k, shapes[i].gflops[0], shapes[i].gflops[1]);
}

static void print_json(const bench_options *opt, const gemm_shape *shapes, int count,
                       const model_figures *fig, double rss)
{
    const double flops = train_flops_per_image(opt);
    printf("{\"implementation\": \"libseqgen\", ");
    print_number("train_images_per_s", fig->train[1].per_s, ", ");
    print_number("train_gflops", fig->train[1].per_s * flops / 1e9, ", ");
    print_number("complete_per_s", fig->complete[1].per_s, ", ");
    print_number("train_images_per_s_1thread", fig->train[0].per_s, ", ");
    print_number("train_gflops_1thread", fig->train[0].per_s * flops / 1e9, ", ");
    print_number("complete_per_s_1thread", fig->complete[0].per_s, ", ");
    print_number("train_images_per_cpu_s", fig->train[1].per_cpu_s, ", ");
    print_number("train_images_per_cpu_s_1thread", fig->train[0].per_cpu_s, ", ");
    print_number("complete_per_cpu_s", fig->complete[1].per_cpu_s, ", ");
    print_number("complete_per_cpu_s_1thread", fig->complete[0].per_cpu_s, ", ");
    print_number("step_us", fig->step_us, ", ");
    print_number("sgemm_gflops", shapes[0].gflops[1], ", ");
    print_number("sgemm_gflops_1thread", shapes[0].gflops[0], ", ");
    printf("\"threads\": %d, \"hidden\": %d, \"layers\": %d, \"units_per_step\": %d, "
           "\"batch\": %d, \"head\": \"%s\", \"head_hidden\": %d, ", opt->threads, opt->hidden,
           opt->layers, opt->units_per_step, opt->batch, head_names[opt->head],
           opt->head_hidden);
    if (opt->head != SEQGEN_HEAD_INDEPENDENT && !opt->train_only)
        printf("\"step_note\": \"skipped: seqgen_model_step() refuses the %s head\", ",
               head_names[opt->head]);
    print_number("peak_rss_mb", rss, ", ");
    printf("\"sgemm_shapes\": [");
    for (int i = 0; i < count; i++) {
        printf("{\"name\": \"%s\", \"m\": %d, \"n\": %d, \"k\": %d, ", shapes[i].name,
               shapes[i].m, shapes[i].n, shapes[i].k);
        print_number("gflops_1thread", shapes[i].gflops[0], ", ");
        print_number("gflops_nthreads", shapes[i].gflops[1], i + 1 < count ? "}, " : "}");
    }
    printf("]}\n");
}

/* ---- Options ------------------------------------------------------------------------------- */

static void usage(FILE *to, const char *program)
{
    fprintf(to,
            "Usage: %s [options]\n"
            "Measures libseqgen's training and completion throughput, the cblas_sgemm ceiling\n"
            "and peak memory; the last line of output is one JSON object.\n"
            "  --hidden H           GRU units per layer (128)\n"
            "  --layers L           GRU layers (1)\n"
            "  --pixels-per-step D  pixels per sequence step, dividing 784 (1)\n"
            "  --batch B            training batch size (64)\n"
            "  --threads N          the multi-thread count (all online cores)\n"
            "  --reps R             timed repetitions, median reported (3)\n"
            "  --sgemm-size S       side of the large square product (2048)\n"
            "  --data DIR           the MNIST files: training and test digits (data/mnist10k)\n"
            "  --head KIND          the output head: independent, linear-ar or made-ar\n"
            "                       (independent); with an autoregressive head the step\n"
            "                       latency is skipped (seqgen_model_step() refuses it)\n"
            "  --head-hidden M      the MADE head's hidden units, made-ar only (256)\n"
            "  --train-only         measure training alone (no completion, step or sgemm)\n"
            "  --help\n",
            program);
}

static int parse_positive(const char *text, const char *name, int *value)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < 1 || v > 1000000) {
        fprintf(stderr, "bench: %s must be an integer in 1..1000000, got '%s'\n", name, text);
        return -1;
    }
    *value = (int)v;
    return 0;
}

static int parse_head(const char *text, seqgen_head_kind *head)
{
    for (int k = 0; k < (int)(sizeof head_names / sizeof *head_names); k++)
        if (strcmp(text, head_names[k]) == 0) {
            *head = (seqgen_head_kind)k;
            return 0;
        }
    fprintf(stderr, "bench: --head must be independent, linear-ar or made-ar, got '%s'\n", text);
    return -1;
}

/* Returns 0 to run, 1 after --help, 2 on a usage error. */
static int parse_options(int argc, char **argv, bench_options *opt)
{
    static const struct option long_options[] = {
        {"hidden", required_argument, NULL, 'H'}, {"layers", required_argument, NULL, 'L'},
        {"pixels-per-step", required_argument, NULL, 'D'},
        {"batch", required_argument, NULL, 'B'}, {"threads", required_argument, NULL, 'N'},
        {"reps", required_argument, NULL, 'R'}, {"sgemm-size", required_argument, NULL, 'S'},
        {"data", required_argument, NULL, 'd'}, {"head", required_argument, NULL, 'k'},
        {"head-hidden", required_argument, NULL, 'M'},
        {"train-only", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *opt = (bench_options){128, 1, 1, 64, cores > 0 ? (int)cores : 1, 3, 2048, "data/mnist10k",
                           SEQGEN_HEAD_INDEPENDENT, 0, 0};
    int c, bad = 0, head_hidden = 0;
    while (!bad && (c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (c) {
        case 'H': bad = parse_positive(optarg, "--hidden", &opt->hidden); break;
        case 'L': bad = parse_positive(optarg, "--layers", &opt->layers); break;
        case 'D': bad = parse_positive(optarg, "--pixels-per-step", &opt->units_per_step); break;
        case 'B': bad = parse_positive(optarg, "--batch", &opt->batch); break;
        case 'N': bad = parse_positive(optarg, "--threads", &opt->threads); break;
        case 'R': bad = parse_positive(optarg, "--reps", &opt->reps); break;
        case 'S': bad = parse_positive(optarg, "--sgemm-size", &opt->sgemm_size); break;
        case 'd': opt->data_dir = optarg; break;
        case 'k': bad = parse_head(optarg, &opt->head); break;
        case 'M': bad = parse_positive(optarg, "--head-hidden", &head_hidden); break;
        case 't': opt->train_only = 1; break;
        case 'h': usage(stdout, argv[0]); return 1;
        default: bad = 1;
        }
    }
    if (!bad && (optind < argc || IMAGE_PIXELS % opt->units_per_step != 0)) {
        fprintf(stderr, "bench: %s\n", optind < argc ? "unexpected argument"
                                                     : "--pixels-per-step must divide 784");
        bad = 1;
    }
    if (!bad && head_hidden && opt->head != SEQGEN_HEAD_MADE_AR) {
        fprintf(stderr, "bench: --head-hidden goes with --head made-ar only\n");
        bad = 1;
    }
    if (opt->head == SEQGEN_HEAD_MADE_AR)
        opt->head_hidden = head_hidden ? head_hidden : 256;
    if (bad)
        usage(stderr, argv[0]);
    return bad ? 2 : 0;
}

int main(int argc, char **argv)
{
    bench_options opt;
    int parsed = parse_options(argc, argv, &opt);
    if (parsed != 0)
        return parsed == 1 ? 0 : 2;

    gemm_shape shapes[6];
    int count = gru_shapes(&opt, shapes);
    set_blas_threads(opt.threads);
    model_figures fig = {{{NAN, NAN}, {NAN, NAN}}, {{NAN, NAN}, {NAN, NAN}}, NAN};
    for (int t = 0; t < 2; t++) { /* one thread, then N (measured once if N is 1) */
        int threads = t == 0 ? 1 : opt.threads;
        fig.train[t] = t == 1 && threads == 1 ? fig.train[0]
                                              : measure_training_images_per_s(&opt, threads);
        if (!opt.train_only)
            fig.complete[t] = t == 1 && threads == 1 ? fig.complete[0]
                                                     : measure_completions_per_s(&opt, threads);
    }
    /* seqgen_model_step() refuses the autoregressive heads: their units depend on each other
     * within a step, which its logits of a whole step cannot express. */
    if (opt.head == SEQGEN_HEAD_INDEPENDENT && !opt.train_only)
        fig.step_us = measure_step_us(&opt);
    double rss = peak_rss_mb(); /* before the sgemm operands, which the model never needs */
    if (!opt.train_only && measure_sgemm(&opt, shapes, count) != 0) {
        fprintf(stderr, "bench: out of memory for the sgemm operands\n");
        return 1;
    }
    print_table(&opt, shapes, count, &fig, rss);
    print_json(&opt, shapes, count, &fig, rss);
    return 0;
}
