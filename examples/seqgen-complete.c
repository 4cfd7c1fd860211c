/* seqgen-complete: completes test sequences (masked digits, or a user's own sequences) with a
 * trained model and draws them as GIFs; optionally measures completion over the whole test set.
 *
 * Thin by design: the completion and the evaluation are library calls, the pictures gif.c's. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <signal.h>

#include "cli.h"
#include "gif.h"
#include "seqgen.h"

#define PROG "seqgen-complete"
#define MAX_DIGITS 10000
/* The sequences drawn by default: the first of each label, or the first ones without labels. */
#define DEFAULT_DIGITS 10
/* --given not given: 500 pixels for images of at least 500 (the original experiment), half of a
 * sequence for other data. */
#define GIVEN_DEFAULT (-2)
#define MNIST_GIVEN 500

static const char *const decode_names[] = {"greedy", "sample", NULL};
static const char *const binarize_names[] = {"threshold", "stochastic", NULL};

typedef struct settings {
    const char *checkpoint, *data, *test, *out_dir, *indices, *metrics_csv;
    int given, count, decode, scale, columns, gif, metrics, threads, binarize, quiet, data_given;
    double temperature;
    long long seed, binarize_seed, test_limit;
    const char *picture_option; /* the first option given that only the pictures use */
} settings;

enum option_id {
    OPT_CHECKPOINT = 256, OPT_DATA, OPT_TEST, OPT_GIVEN, OPT_COUNT, OPT_INDICES, OPT_DECODE,
    OPT_TEMPERATURE, OPT_SEED, OPT_OUT_DIR, OPT_SCALE, OPT_COLUMNS, OPT_NO_GIF, OPT_METRICS,
    OPT_METRICS_CSV, OPT_TEST_LIMIT, OPT_BINARIZE, OPT_BINARIZE_SEED, OPT_THREADS, OPT_QUIET,
    OPT_HELP, OPT_VERSION
};

static const struct option long_options[] = {
    {"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
    {"data", required_argument, NULL, OPT_DATA},
    {"test", required_argument, NULL, OPT_TEST},
    {"given", required_argument, NULL, OPT_GIVEN},
    {"count", required_argument, NULL, OPT_COUNT},
    {"indices", required_argument, NULL, OPT_INDICES},
    {"decode", required_argument, NULL, OPT_DECODE},
    {"temperature", required_argument, NULL, OPT_TEMPERATURE},
    {"seed", required_argument, NULL, OPT_SEED},
    {"out-dir", required_argument, NULL, OPT_OUT_DIR},
    {"scale", required_argument, NULL, OPT_SCALE},
    {"columns", required_argument, NULL, OPT_COLUMNS},
    {"no-gif", no_argument, NULL, OPT_NO_GIF},
    {"metrics", no_argument, NULL, OPT_METRICS},
    {"metrics-csv", required_argument, NULL, OPT_METRICS_CSV},
    {"test-limit", required_argument, NULL, OPT_TEST_LIMIT},
    {"binarize", required_argument, NULL, OPT_BINARIZE},
    {"binarize-seed", required_argument, NULL, OPT_BINARIZE_SEED},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static void usage(void)
{
    printf(
        "Usage: " PROG " --checkpoint FILE [OPTION]...\n"
        "Give a trained model the first K units of test sequences (for MNIST, pixels of digits)\n"
        "and let it write the rest. For each sequence it writes OUT_DIR/LABEL-INDEX.gif (or\n"
        "INDEX.gif without labels: masked input | completion as it is generated | truth; a\n"
        "sequence is drawn as its image, else as T rows of its D units, a sequence of single\n"
        "units wrapped into a near-square) and OUT_DIR/overview.gif (all of them, final frames).\n"
        "\n"
        "  --checkpoint FILE      a model.ckpt written by seqgen-train (required)\n"
        "  --data PATH            as seqgen-train's: an MNIST directory, a directory with\n"
        "                         train.npy and test.npy, or a .npy file of training sequences;\n"
        "                         default $SEQGEN_DATA, else data/mnist10k if it is there,\n"
        "                         else the installed digits %s\n"
        "  --test FILE.npy        the test sequences when --data is a .npy file\n"
        "  --given K|half         units given (500 for images, else half of a sequence)\n"
        "  --count N              complete the first N test sequences\n"
        "  --indices I,J,...      complete these test sequences (0-based)\n"
        "                         (default: the first of each label, at most 10; without\n"
        "                         labels the first 10)\n"
        "  --decode greedy|sample unit = p > 0.5, or a sample of p (greedy)\n"
        "  --temperature T        sampling temperature on the logits (1)\n"
        "  --seed S               sampling seed; test sequence i uses stream i (0)\n"
        "  --out-dir DIR          where the GIFs go (the checkpoint's directory/completions)\n"
        "  --scale S              GIF pixels per unit, 1-64 (8)\n"
        "  --columns C            sequences per row of overview.gif (2)\n"
        "  --no-gif               write no pictures (then --metrics is needed)\n"
        "  --metrics              evaluate over the test set: test loss, completion unit error,\n"
        "                         and with labels, label kept (1-NN on the training set; for\n"
        "                         MNIST, the digit kept) with its bounds\n"
        "  --metrics-csv FILE     also append the metrics as a CSV row to FILE\n"
        "  --test-limit N         --metrics on the first N test sequences only, 0 = all (0)\n"
        "  --binarize threshold|stochastic   how test pixels of images are made (threshold:\n"
        "                         byte > 127)\n"
        "  --binarize-seed S      seed of stochastic binarisation (1, as seqgen-train's default)\n"
        "  --threads N            threads, 0 = all cores (as saved in the checkpoint)\n"
        "  --quiet                print only the metrics and errors\n"
        "  --help                 show this and exit\n"
        "  --version              show the version and exit\n"
        "Exit status: 0 done, 1 runtime error, 2 usage error.\n", cli_installed_data_dir());
}

static int set_option(settings *s, int id, const char *arg)
{
    const char *name = "";
    for (const struct option *o = long_options; o->name; o++)
        if (o->val == id)
            name = o->name;
    if (!s->picture_option && (id == OPT_OUT_DIR || id == OPT_INDICES || id == OPT_COUNT ||
                               id == OPT_SCALE || id == OPT_COLUMNS))
        s->picture_option = name;
    switch (id) {
    case OPT_CHECKPOINT: s->checkpoint = arg; return 0;
    case OPT_DATA: s->data = arg; s->data_given = 1; return 0;
    case OPT_TEST: s->test = arg; return 0;
    case OPT_OUT_DIR: s->out_dir = arg; return 0;
    case OPT_INDICES: s->indices = arg; return 0;
    case OPT_METRICS_CSV: s->metrics_csv = arg; s->metrics = 1; return 0;
    case OPT_GIVEN:
        if (strcmp(arg, "half") == 0) {
            s->given = SEQGEN_GIVEN_HALF;
            return 0;
        }
        return cli_parse_int(PROG, name, arg, 0, INT_MAX, &s->given);
    case OPT_COUNT: return cli_parse_int(PROG, name, arg, 1, MAX_DIGITS, &s->count);
    case OPT_SCALE: return cli_parse_int(PROG, name, arg, 1, 64, &s->scale);
    case OPT_COLUMNS: return cli_parse_int(PROG, name, arg, 1, MAX_DIGITS, &s->columns);
    case OPT_THREADS: return cli_parse_int(PROG, name, arg, 0, 1024, &s->threads);
    case OPT_TEMPERATURE: return cli_parse_double(PROG, name, arg, 1e-6, 1e6, &s->temperature);
    case OPT_SEED: return cli_parse_i64(PROG, name, arg, 0, LLONG_MAX, &s->seed);
    case OPT_BINARIZE_SEED: return cli_parse_i64(PROG, name, arg, 0, LLONG_MAX, &s->binarize_seed);
    case OPT_TEST_LIMIT: return cli_parse_i64(PROG, name, arg, 0, LLONG_MAX, &s->test_limit);
    case OPT_DECODE: return cli_parse_choice(PROG, name, arg, decode_names, &s->decode);
    case OPT_BINARIZE: return cli_parse_choice(PROG, name, arg, binarize_names, &s->binarize);
    case OPT_NO_GIF: s->gif = 0; return 0;
    case OPT_METRICS: s->metrics = 1; return 0;
    case OPT_QUIET: s->quiet = 1; return 0;
    }
    return -1;
}

/* Parses --indices: 1 to MAX_DIGITS numbers separated by single commas, each only digits. Gives
 * how many (written to @p out unless it is NULL), or -1. */
static int parse_indices(const char *text, size_t *out)
{
    int n = 0;
    for (const char *p = text;; p++) {
        char *end;
        errno = 0;
        unsigned long long v = *p >= '0' && *p <= '9' ? strtoull(p, &end, 10) : 0;
        if (!(*p >= '0' && *p <= '9') || errno || (*end && *end != ',') || n == MAX_DIGITS ||
            (size_t)v != v)
            return -1;
        if (out)
            out[n] = (size_t)v;
        n++;
        if (!*end)
            return n;
        p = end;
    }
}

/* 0 to go on, or an exit code + 1000 (help, version, usage error). */
static int parse_command_line(int argc, char **argv, settings *s)
{
    *s = (settings){.data = cli_default_data_dir(), .given = GIVEN_DEFAULT, .scale = 8, .columns = 2,
                    .gif = 1, .threads = -1, .temperature = 1.0, .binarize_seed = 1};
    int id;
    while ((id = cli_getopt(argc, argv, PROG, long_options)) != -1) {
        if (id == OPT_HELP) {
            usage();
            return 1000;
        }
        if (id == OPT_VERSION) {
            printf(PROG " (libseqgen) %s\n", seqgen_version());
            return 1000;
        }
        if (id == '?' || set_option(s, id, optarg) != 0)
            return 1000 + cli_usage_error(PROG);
    }
    if (optind < argc)
        fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
    else if (!s->checkpoint)
        fprintf(stderr, PROG ": --checkpoint is required\n");
    else if (s->count && s->indices)
        fprintf(stderr, PROG ": give --count or --indices, not both\n");
    else if (!s->gif && !s->metrics)
        fprintf(stderr, PROG ": --no-gif without --metrics asks for nothing: add --metrics, or "
                        "leave out --no-gif\n");
    else if (!s->gif && s->picture_option)
        fprintf(stderr, PROG ": --%s is about the pictures, which --no-gif leaves out\n",
                s->picture_option);
    else if (s->indices && parse_indices(s->indices, NULL) < 0)
        fprintf(stderr, PROG ": --indices expects 1 to %d comma-separated numbers (0-based), got "
                        "'%s'\n", MAX_DIGITS, s->indices);
    else
        return 0;
    return 1000 + cli_usage_error(PROG);
}

/* The test sequences to complete: --indices (already checked by parse_indices()), --count, or
 * the first of each label. Gives the number chosen, or -1 after printing why. */
static int choose_digits(const settings *s, const seqgen_dataset *test, size_t *out)
{
    size_t total = seqgen_dataset_count(test);
    int n = 0;
    if (s->indices) {
        n = parse_indices(s->indices, out);
        for (int i = 0; i < n; i++) {
            if (out[i] >= total) {
                fprintf(stderr, PROG ": --indices: test %s %zu does not exist (the test set has "
                                "%zu, numbered from 0)\n",
                        seqgen_dataset_is_binary(test) ? "sequence" : "digit", out[i], total);
                return -1;
            }
        }
        return n;
    }
    if (s->count) {
        for (; (size_t)n < total && n < s->count; n++)
            out[n] = (size_t)n;
        return n;
    }
    if (!seqgen_dataset_has_labels(test)) {
        for (; (size_t)n < total && n < DEFAULT_DIGITS; n++)
            out[n] = (size_t)n;
        return n;
    }
    /* the first sequence of each of the smallest DEFAULT_DIGITS labels, in label order */
    int64_t labels[DEFAULT_DIGITS];
    for (size_t i = 0; i < total; i++) {
        int64_t label;
        if (seqgen_dataset_label(test, i, &label) != SEQGEN_OK)
            return -1;
        int at = n;
        while (at > 0 && labels[at - 1] > label)
            at--;
        if ((at > 0 && labels[at - 1] == label) || at == DEFAULT_DIGITS)
            continue;
        n -= n == DEFAULT_DIGITS; /* the largest label gives way */
        memmove(labels + at + 1, labels + at, (size_t)(n - at) * sizeof *labels);
        memmove(out + at + 1, out + at, (size_t)(n - at) * sizeof *out);
        labels[at] = label, out[at] = i, n++;
    }
    return n;
}

static seqgen_complete_options complete_options(const settings *s)
{
    seqgen_complete_options o = seqgen_complete_options_default();
    o.decode = (seqgen_decode)s->decode;
    o.temperature = s->temperature;
    o.seed = (uint64_t)s->seed;
    return o;
}

static seqgen_binarize_config binarize_config(const settings *s)
{
    seqgen_binarize_config b = SEQGEN_BINARIZE_CONFIG_DEFAULT;
    b.mode = (seqgen_binarize_mode)s->binarize;
    b.seed = (uint64_t)s->binarize_seed;
    return b;
}

/* The words of the output: images have pixels, other data units. */
typedef struct words {
    const char *item, *items, *unit, *units;
} words;

static words words_for(const seqgen_dataset *data)
{
    return seqgen_dataset_is_binary(data) ? (words){"sequence", "sequences", "unit", "units"}
                                          : (words){"image", "images", "pixel", "pixels"};
}

/* The file name of sequence @p index's animation: LABEL-INDEX.gif, a negative label written nN
 * (no name starts with '-', which commands would take for an option), or INDEX.gif without
 * labels. */
static void animation_name(const seqgen_dataset *test, size_t index, char *name, size_t size)
{
    int64_t label;
    if (!seqgen_dataset_has_labels(test) || seqgen_dataset_label(test, index, &label) != SEQGEN_OK)
        snprintf(name, size, "%04zu.gif", index);
    else if (label < 0)
        snprintf(name, size, "n%llu-%04zu.gif", 0ull - (unsigned long long)label, index);
    else
        snprintf(name, size, "%lld-%04zu.gif", (long long)label, index);
}

/* The look of the pictures. */
static gif_options picture_options(const settings *s)
{
    gif_options go = GIF_OPTIONS_DEFAULT;
    go.scale = s->scale;
    return go;
}

/* The shape a sequence is drawn in: an image's rows and columns; T rows of D0 units for other
 * data, except that a sequence of single units (D0 = 1) is wrapped into a near-square of rows
 * read left to right, top to bottom, the last row padded: a 1-unit-wide strip of T rows shows
 * nothing. */
static void picture_shape(const seqgen_dataset *data, size_t *rows, size_t *cols)
{
    *rows = seqgen_dataset_rows(data), *cols = seqgen_dataset_cols(data);
    if (seqgen_dataset_is_binary(data) && *cols == 1 && *rows > 1) {
        size_t side = 1;
        while (side * side < *rows)
            side++;
        *cols = side;
        *rows = (*rows + side - 1) / side;
    }
}

/* Whether the pictures of @p n sequences can be drawn (a GIF is at most 65535 pixels a side);
 * 0, or exit code 2 after printing why. */
static int check_pictures(const settings *s, const seqgen_dataset *test, int n)
{
    size_t rows, cols;
    picture_shape(test, &rows, &cols);
    const gif_options go = picture_options(s);
    char why[256];
    if (gif_check_size(rows > INT_MAX ? INT_MAX : (int)rows, cols > INT_MAX ? INT_MAX : (int)cols,
                       n, s->columns, &go, why, sizeof why) == GIF_STATUS_OK)
        return 0;
    fprintf(stderr, PROG ": cannot draw %d %s of %zu x %zu at --scale %d in --columns %d: %s\n",
            n, words_for(test).items, rows, cols, s->scale, s->columns, why);
    return cli_usage_error(PROG);
}

/* Completes the @p n chosen sequences and writes a GIF of each, then the overview. */
static int complete_digits(const settings *s, const seqgen_model *model,
                           const seqgen_dataset *test, const size_t *chosen, int n)
{
    int rc = 0;
    size_t rows, cols;
    picture_shape(test, &rows, &cols);
    /* Q >= P units per picture: a wrapped sequence's last row is padded with zeros */
    const size_t P = seqgen_dataset_units(test), Q = rows * cols, K = (size_t)s->given;
    const size_t D = (size_t)seqgen_model_get_config(model).units_per_step;
    float *truth = calloc((size_t)n * Q, sizeof *truth);
    float *done = calloc((size_t)n * Q, sizeof *done);
    float *probs = calloc((size_t)n * (Q - K + 1), sizeof *probs);
    gif_digit *digits = malloc((size_t)n * sizeof *digits);
    seqgen_binarize_config bin = binarize_config(s);
    seqgen_complete_options co = complete_options(s);
    const gif_options go = picture_options(s);
    int status = truth && done && probs && digits ? SEQGEN_OK : SEQGEN_ENOMEM;
    /* One call per sequence, so that sequence i's sample is the one --metrics draws for it. */
    for (int i = 0; status == SEQGEN_OK && i < n; i++) {
        float *t = truth + i * Q, *d = done + i * Q, *p = probs + i * (Q - K);
        status = seqgen_dataset_sequences(test, chosen + i, 1, &bin, 0, t);
        co.first_stream = chosen[i];
        /* lengths are in the data's steps, which are the model's when they vary */
        size_t length = seqgen_dataset_has_lengths(test) ? seqgen_dataset_length(test, chosen[i])
                                                         : P / D;
        if (status == SEQGEN_OK)
            status = seqgen_complete(model, t, 1, (int)(P / D), &length, (int)K, &co, d, p);
        digits[i] = (gif_digit){(int)rows, (int)cols, (int)K, t, d + K, p};
    }
    if (status != SEQGEN_OK)
        rc = cli_fail(PROG, "completion", status);
    char path[PATH_MAX], why[PATH_MAX + 256];
    for (int i = 0; rc == 0 && i < n; i++) {
        char name[64];
        animation_name(test, chosen[i], name, sizeof name);
        size_t wrong = 0;
        for (size_t p = K; p < P; p++)
            wrong += done[i * Q + p] != truth[i * Q + p];
        if (cli_path(path, s->out_dir, name) != 0)
            rc = cli_error(PROG, "path too long", s->out_dir);
        else if (gif_write_completion(path, &digits[i], &go, why, sizeof why) != GIF_STATUS_OK)
            rc = cli_error(PROG, "cannot write the animation", why);
        else if (!s->quiet)
            printf("%s  %s error %.3f\n", path, words_for(test).unit,
                   P > K ? (double)wrong / (double)(P - K) : 0.0);
    }
    if (rc == 0 && n > 0) {
        if (cli_path(path, s->out_dir, "overview.gif") != 0)
            rc = cli_error(PROG, "path too long", s->out_dir);
        else if (gif_write_overview(path, digits, n, s->columns, &go, why, sizeof why) !=
                 GIF_STATUS_OK)
            rc = cli_error(PROG, "cannot write the overview", why);
        else if (!s->quiet)
            printf("%s  %d %s, %zu of %zu %s given, %s decoding\n", path, n,
                   words_for(test).items, K, P, words_for(test).units, decode_names[s->decode]);
    }
    free(digits);
    free(probs);
    free(done);
    free(truth);
    return rc;
}

/* Appends the metrics to --metrics-csv as a row, after a header if the file is new; a failed
 * write leaves the file as it was (no empty file, no half row). */
static int append_metrics_csv(const settings *s, const seqgen_eval_results *m)
{
    char row[PATH_MAX + 512], why[PATH_MAX + 256];
    int n = snprintf(row, sizeof row, "%s,%zu,%d,%s,%g,%lld,%s,%.6f,%.4f,%.6f,%.6f,%.6f,%.6f,"
                     "%.2f,%.2f\n", s->checkpoint, m->sequences, m->given,
                     decode_names[s->decode], s->temperature, s->seed,
                     binarize_names[s->binarize], m->mse, m->nll_nats, m->unit_error,
                     m->label_kept, m->label_kept_truth, m->label_kept_blank, m->nearest_distance,
                     m->nearest_distance_truth);
    if (n < 0 || (size_t)n >= sizeof row)
        return cli_error(PROG, "path too long", s->checkpoint);
    if (cli_append_row(s->metrics_csv,
                       "checkpoint,sequences,given,decode,temperature,seed,binarize,test_mse,"
                       "test_nll_nats,unit_error,label_kept,label_kept_truth,label_kept_blank,"
                       "nearest_distance,nearest_distance_truth\n",
                       row, why, sizeof why) != 0)
        return cli_error(PROG, why, NULL);
    return 0;
}

/* Test loss, completion unit error and (with labels) label kept over the test set. */
static int metrics(const settings *s, seqgen_model *model, const seqgen_dataset *test,
                   seqgen_dataset *train)
{
    const int labelled = seqgen_dataset_has_labels(test) && seqgen_dataset_has_labels(train);
    seqgen_eval_options o = seqgen_eval_options_default();
    o.metrics = labelled ? SEQGEN_EVAL_ALL : SEQGEN_EVAL_LOSS | SEQGEN_EVAL_COMPLETION;
    o.given = s->given;
    o.complete = complete_options(s);
    o.binarize = binarize_config(s);
    o.limit = (size_t)s->test_limit;
    seqgen_eval_results m;
    int status = seqgen_evaluate_dataset(model, test, train, &o, &m);
    if (status != SEQGEN_OK)
        return cli_fail(PROG, "evaluation", status);
    const words w = words_for(test);
    printf("metrics over %zu test %s, %d of %zu %s given, %s decoding", m.sequences, w.items,
           m.given, seqgen_dataset_units(test), w.units, decode_names[s->decode]);
    if (s->decode == SEQGEN_DECODE_SAMPLE)
        printf(" (temperature %g, seed %lld)", s->temperature, s->seed);
    printf(":\n  test NLL     %8.2f nats/%s", m.nll_nats, w.item);
    if (!seqgen_dataset_is_binary(test))
        printf(" (%s-binarised test images)", binarize_names[s->binarize]);
    char error[16];
    snprintf(error, sizeof error, "%s error", w.unit);
    printf("\n  test MSE     %8.5f per %s\n"
           "  %-13s%8.4f of the generated %s\n", m.mse, w.unit, error, m.unit_error, w.units);
    if (labelled)
        printf("  label kept   %8.4f (true %s %.4f, blank completion %.4f)\n"
               "  nearest training %s: %.1f %s away (true %s: %.1f)\n", m.label_kept, w.items,
               m.label_kept_truth, m.label_kept_blank, w.item, m.nearest_distance, w.units,
               w.items, m.nearest_distance_truth);
    return s->metrics_csv ? append_metrics_csv(s, &m) : 0;
}

/* The default output directory: the checkpoint's directory + "/completions". */
static int default_out_dir(const char *checkpoint, char *out)
{
    const char *slash = strrchr(checkpoint, '/');
    int n = slash ? snprintf(out, PATH_MAX, "%.*s/completions", (int)(slash - checkpoint),
                             checkpoint)
                  : snprintf(out, PATH_MAX, "completions");
    return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* The model reads the test sequences as it was trained to: its units per step a multiple of the
 * data's (the data's own when lengths vary) that divides a sequence into the model's number of
 * steps. 0, or exit code 1 after printing why. */
static int check_model_fits(const settings *s, const seqgen_model *model,
                            const seqgen_dataset *test)
{
    const seqgen_model_config mc = seqgen_model_get_config(model);
    const size_t P = seqgen_dataset_units(test), D0 = seqgen_dataset_units_per_step(test);
    const size_t D = (size_t)mc.units_per_step;
    if (D % D0 != 0 || P % D != 0 || (seqgen_dataset_has_lengths(test) && D != D0))
        fprintf(stderr, PROG ": %s: the model reads %zu units per step, which does not fit the "
                        "test sequences of %zu steps of %zu units%s\n", s->checkpoint, D,
                P / D0, D0, seqgen_dataset_has_lengths(test) ? " (of varying lengths)" : "");
    else if (mc.steps != 0 && (size_t)mc.steps != P / D)
        fprintf(stderr, PROG ": %s: the model is for sequences of %d steps, these have %zu\n",
                s->checkpoint, mc.steps, P / D);
    else
        return 0;
    return CLI_EXIT_RUNTIME;
}

/* Opens and checks everything the run was asked for, so that nothing is computed or written
 * before a mistake is found: the checkpoint, the data, --given, the model against the data, the
 * sequences chosen and the size of their pictures, the --metrics-csv file. Chooses the
 * sequences to draw (@p n of them into @p chosen). 0, or an exit code after printing why. */
static int prepare(settings *s, seqgen_model **model, seqgen_dataset **test,
                   seqgen_dataset **train, size_t *chosen, int *n)
{
    static char out_dir[PATH_MAX];
    int status = seqgen_checkpoint_load_model(model, s->checkpoint);
    if (status != SEQGEN_OK)
        return cli_fail(PROG, "cannot load the checkpoint", status);
    if (s->threads >= 0 && (status = seqgen_model_set_threads(*model, s->threads)) != SEQGEN_OK)
        return cli_fail(PROG, "threads", status);
    int rc = cli_open_data(PROG, s->data, s->test, !s->data_given, SEQGEN_SPLIT_TEST, test);
    if (rc == 0 && s->metrics)
        rc = cli_open_data(PROG, s->data, s->test, !s->data_given, SEQGEN_SPLIT_TRAIN, train);
    if (rc != 0)
        return rc;
    const size_t P = seqgen_dataset_units(*test);
    const size_t D = (size_t)seqgen_model_get_config(*model).units_per_step;
    if (s->given == GIVEN_DEFAULT)
        s->given = !seqgen_dataset_is_binary(*test) && P >= MNIST_GIVEN ? MNIST_GIVEN
                                                                         : SEQGEN_GIVEN_HALF;
    if (s->given == SEQGEN_GIVEN_HALF)
        s->given = (int)(P / D / 2 * D);
    if ((size_t)s->given > P) {
        fprintf(stderr, PROG ": --given %d must be at most the %zu units of a sequence\n",
                s->given, P);
        return cli_usage_error(PROG);
    }
    if ((rc = check_model_fits(s, *model, *test)) != 0)
        return rc;
    if (s->gif) {
        if ((*n = choose_digits(s, *test, chosen)) < 0)
            return CLI_EXIT_RUNTIME;
        if ((rc = check_pictures(s, *test, *n)) != 0)
            return rc;
        if (!s->out_dir) {
            if (default_out_dir(s->checkpoint, out_dir) != 0)
                return cli_error(PROG, "path too long", s->checkpoint);
            s->out_dir = out_dir;
        }
    }
    if (s->metrics_csv && cli_check_writable(s->metrics_csv) != 0) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", s->metrics_csv, strerror(errno));
        return CLI_EXIT_RUNTIME;
    }
    return 0;
}

static int run(settings *s, seqgen_model **model, seqgen_dataset **test, seqgen_dataset **train,
               size_t *chosen)
{
    int n = 0, rc = prepare(s, model, test, train, chosen, &n);
    if (rc != 0)
        return rc;
    if (s->gif) {
        int created = 0;
        if (cli_mkdir_p(s->out_dir, &created) != 0) {
            fprintf(stderr, PROG ": cannot create %s: %s\n", s->out_dir, strerror(errno));
            rc = CLI_EXIT_RUNTIME;
        } else {
            rc = complete_digits(s, *model, *test, chosen, n);
        }
        if (rc != 0) {
            cli_remove_created(s->out_dir, created); /* those it made, if still empty */
            return rc;
        }
    }
    return s->metrics ? metrics(s, *model, *test, *train) : 0;
}

int main(int argc, char **argv)
{
    settings s;
    int rc = parse_command_line(argc, argv, &s);
    if (rc >= 1000)
        return rc - 1000;
    /* A write beyond the file-size limit then fails with EFBIG, which the writers report and
     * clean up after, instead of killing the program in the middle of a file. */
    signal(SIGXFSZ, SIG_IGN);
    seqgen_model *model = NULL;
    seqgen_dataset *test = NULL, *train = NULL;
    size_t *chosen = malloc(MAX_DIGITS * sizeof *chosen);
    rc = chosen ? run(&s, &model, &test, &train, chosen) : cli_error(PROG, "out of memory", NULL);
    free(chosen);
    seqgen_dataset_free(train);
    seqgen_dataset_free(test);
    seqgen_model_free(model);
    return rc;
}
