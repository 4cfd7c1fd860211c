/* The libseqgen benchmark (issue 9): in one run, (a) training throughput, (b) completion
 * throughput, (c) the cblas_sgemm ceiling for a large square product and for the GRU's own
 * product shapes, with 1 and with N threads, (d) peak resident memory. Every figure is the median
 * of --reps timed repetitions after a warm-up. Prints a table and, as its last line, one JSON
 * object with the same keys as bench/pytorch_gru.py; figures not measured are null. */

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
    int pixels_per_step; /* D */
    int batch;           /* B */
    int threads;         /* N, the multi-thread count */
    int reps;
    int sgemm_size;      /* side of the large square product */
} bench_options;

/* One sgemm shape as the GRU uses it: C[m x n] (+)= op(A) op(B) with inner dimension k. */
typedef struct gemm_shape {
    const char *name;
    int m, n, k;
    CBLAS_TRANSPOSE trans_a, trans_b;
    float beta;
    double gflops[2]; /* measured with 1 and with N threads; NAN if not measured */
} gemm_shape;

/* ---- Helpers ----------------------------------------------------------------------------- */

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

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
 * cost one product of the forward's size. */
static double train_flops_per_image(const bench_options *opt)
{
    double h = opt->hidden, d = opt->pixels_per_step;
    double steps = IMAGE_PIXELS / opt->pixels_per_step - 1;
    double per_step = h * d;
    for (int layer = 0; layer < opt->layers; layer++)
        per_step += 3.0 * h * (h + (layer == 0 ? d : h));
    return 3.0 * steps * per_step * 2.0;
}

/* ---- (a), (b): the model's own throughput -------------------------------------------------- */

/* (a) Training images/s at batch B, T = 784/D - 1 steps, MSE, Adam lr 1e-3, teacher forcing, on
 * the bundled training digits with opt->threads threads: one warm-up batch, then the median of
 * opt->reps repetitions of a few batches. To be written on the model and optimiser API (issue 9,
 * item 1a); until then it returns NAN, reported as "not measured" and null. */
static double measure_training_images_per_s(const bench_options *opt)
{
    (void)opt;
    return NAN;
}

/* (b) Completions/s for the 997 bundled test digits in one batch, 500 pixels given, 284
 * generated greedily (threshold 0.5): one warm-up, then the median of opt->reps runs. To be
 * written on the completion API (issue 7); until then it returns NAN ("not measured", null). */
static double measure_completions_per_s(const bench_options *opt)
{
    (void)opt;
    return NAN;
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
    int all_steps = (IMAGE_PIXELS / opt->pixels_per_step - 1) * b;
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

static void print_table(const bench_options *opt, const gemm_shape *shapes, int count,
                        double train, double complete, double rss)
{
    printf("libseqgen %s, H=%d, L=%d, D=%d, B=%d, %d threads; median of %d after a warm-up\n",
           seqgen_version(), opt->hidden, opt->layers, opt->pixels_per_step, opt->batch,
           opt->threads, opt->reps);
    if (isfinite(train))
        printf("  training    %10.1f images/s  %.2f GFLOP/s\n", train,
               train * train_flops_per_image(opt) / 1e9);
    else
        printf("  training    not measured (needs the model API)\n");
    if (isfinite(complete))
        printf("  completion  %10.1f digits/s\n", complete);
    else
        printf("  completion  not measured (needs the completion API)\n");
    printf("  peak RSS    %10.0f MB\n", rss);
    printf("cblas_sgemm GFLOP/s (row-major)%s\n",
           openblas_set_num_threads ? "" : "; thread count not settable: library default");
    printf("  %-22s %6s %6s %6s %10s %10s\n", "product", "M", "N", "K", "1 thread", "N threads");
    for (int i = 0; i < count; i++)
        printf("  %-22s %6d %6d %6d %10.1f %10.1f\n", shapes[i].name, shapes[i].m, shapes[i].n,
               shapes[i].k, shapes[i].gflops[0], shapes[i].gflops[1]);
}

static void print_json(const bench_options *opt, const gemm_shape *shapes, int count,
                       double train, double complete, double rss)
{
    printf("{\"implementation\": \"libseqgen\", ");
    print_number("train_images_per_s", train, ", ");
    print_number("train_gflops", train * train_flops_per_image(opt) / 1e9, ", ");
    print_number("complete_per_s", complete, ", ");
    print_number("sgemm_gflops", shapes[0].gflops[1], ", ");
    print_number("sgemm_gflops_1thread", shapes[0].gflops[0], ", ");
    printf("\"threads\": %d, \"hidden\": %d, \"layers\": %d, \"pixels_per_step\": %d, "
           "\"batch\": %d, ", opt->threads, opt->hidden, opt->layers, opt->pixels_per_step,
           opt->batch);
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

/* Returns 0 to run, 1 after --help, 2 on a usage error. */
static int parse_options(int argc, char **argv, bench_options *opt)
{
    static const struct option long_options[] = {
        {"hidden", required_argument, NULL, 'H'}, {"layers", required_argument, NULL, 'L'},
        {"pixels-per-step", required_argument, NULL, 'D'},
        {"batch", required_argument, NULL, 'B'}, {"threads", required_argument, NULL, 'N'},
        {"reps", required_argument, NULL, 'R'}, {"sgemm-size", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *opt = (bench_options){128, 1, 1, 64, cores > 0 ? (int)cores : 1, 3, 2048};
    int c, bad = 0;
    while (!bad && (c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (c) {
        case 'H': bad = parse_positive(optarg, "--hidden", &opt->hidden); break;
        case 'L': bad = parse_positive(optarg, "--layers", &opt->layers); break;
        case 'D': bad = parse_positive(optarg, "--pixels-per-step", &opt->pixels_per_step); break;
        case 'B': bad = parse_positive(optarg, "--batch", &opt->batch); break;
        case 'N': bad = parse_positive(optarg, "--threads", &opt->threads); break;
        case 'R': bad = parse_positive(optarg, "--reps", &opt->reps); break;
        case 'S': bad = parse_positive(optarg, "--sgemm-size", &opt->sgemm_size); break;
        case 'h': usage(stdout, argv[0]); return 1;
        default: bad = 1;
        }
    }
    if (!bad && (optind < argc || IMAGE_PIXELS % opt->pixels_per_step != 0)) {
        fprintf(stderr, "bench: %s\n", optind < argc ? "unexpected argument"
                                                     : "--pixels-per-step must divide 784");
        bad = 1;
    }
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
    double train = measure_training_images_per_s(&opt);
    double complete = measure_completions_per_s(&opt);
    double rss = peak_rss_mb(); /* before the sgemm operands, which the model never needs */
    if (measure_sgemm(&opt, shapes, count) != 0) {
        fprintf(stderr, "bench: out of memory for the sgemm operands\n");
        return 1;
    }
    print_table(&opt, shapes, count, train, complete, rss);
    print_json(&opt, shapes, count, train, complete, rss);
    return 0;
}
