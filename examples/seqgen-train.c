/* seqgen-train: trains a GRU on binary sequences (MNIST digits as pixel sequences, or a user's
 * own from .npy files), from the command line.
 *
 * Thin by design: options, progress, files. The training loop is the library's (batches,
 * scheduled sampling, optimiser, checkpoints); this program writes OUT_DIR/NAME/results.csv,
 * model.ckpt (after every epoch, atomically, with the whole training state and the run's
 * setup) and config.txt (a copy of the settings for people and scripts, never read back:
 * --resume reads model.ckpt alone).
 *
 * Linked with comm_mpi.c instead of comm_local.c it is seqgen-train-mpi: every rank of an MPI job
 * runs this program on the same data and holds the whole model, computes its slice of each
 * batch and of the evaluation, and the shares are summed (comm.h); rank 0 alone writes the
 * run's files. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include "cli.h"
#include "comm.h"
#include "seqgen.h"

#ifndef PROG
#define PROG "seqgen-train"
#endif

/* ---- Settings ------------------------------------------------------------------------------ */

static const char *const loss_names[] = {"mse", "bce", NULL};
static const char *const optim_names[] = {"adam", "sgd", NULL};
static const char *const sched_names[] = {"constant", "linear", "exp", "invsigmoid", NULL};
static const char *const unit_names[] = {"batch", "epoch", NULL};
static const char *const feedback_names[] = {"sample", "threshold", "prob", NULL};
static const char *const binarize_names[] = {"threshold", "stochastic", NULL};
static const char *const head_names[] = {"independent", "linear-ar", "made-ar", NULL};

typedef struct settings {
    const char *exp_name, *out_dir, *data, *test;
    int hidden, layers, units_per_step, epochs, batch_size, threads, eval_given;
    double lr, clip;
    int loss, optim, schedule, unit, feedback, binarize, head;
    int head_hidden; /* M of --head made-ar */
    int head_hidden_given; /* --head-hidden was given (refused with another head) */
    double sched_k, sched_c, sched_eps; /* NaN: the schedule's default */
    long long sched_warmup;
    long long train_limit, test_limit; /* 0: every sequence */
    unsigned long long seed;
    int start_step, resume, force, quiet;
    int professor, pf_disc_hidden, pf_disc_layers, pf_given; /* --professor and its settings */
    double pf_lambda, pf_band_low, pf_band_high;
    int epochs_given, threads_given, data_given, test_given; /* given: with --resume, what
                                                                overrides the checkpoint */
} settings;

/* --eval-given not given: 500 pixels for images of at least 500 (the original experiment), half
 * of a sequence for other data. */
#define EVAL_GIVEN_DEFAULT (-2)
#define MNIST_GIVEN 500

static settings default_settings(void)
{
    const seqgen_professor_config pf = seqgen_professor_config_default(NULL);
    return (settings){
        .exp_name = "gru-128", .out_dir = "experiments", .data = cli_default_data_dir(), .test = "",
        .hidden = 128, .layers = 1, .units_per_step = 1, .epochs = 10, .batch_size = 64,
        .threads = 0, .eval_given = EVAL_GIVEN_DEFAULT, .lr = 1e-3, .clip = 0.0,
        .loss = SEQGEN_LOSS_MSE, .optim = SEQGEN_OPTIM_ADAM, .schedule = SEQGEN_SCHED_CONSTANT,
        .unit = SEQGEN_SCHED_PER_BATCH, .feedback = SEQGEN_FEEDBACK_SAMPLE,
        .binarize = SEQGEN_BINARIZE_THRESHOLD, .sched_k = NAN, .sched_c = NAN, .sched_eps = NAN,
        .sched_warmup = 0, .train_limit = 0, .test_limit = 0, .seed = 1,
        .head_hidden = 256, .pf_disc_hidden = pf.disc.hidden, .pf_disc_layers = pf.disc.layers,
        .pf_given = pf.given, .pf_lambda = pf.lambda, .pf_band_low = pf.band_low,
        .pf_band_high = pf.band_high,
    };
}

enum option_id {
    OPT_EXP_NAME = 256, OPT_HIDDEN, OPT_LAYERS, OPT_UNITS_PER_STEP, OPT_EPOCHS, OPT_BATCH_SIZE,
    OPT_LR, OPT_LOSS, OPT_OPTIM, OPT_CLIP, OPT_SCHEDULE, OPT_SCHED_K, OPT_SCHED_C, OPT_SCHED_EPS,
    OPT_SCHED_WARMUP, OPT_SCHED_UNIT, OPT_FEEDBACK, OPT_BINARIZE, OPT_DATA, OPT_TRAIN_LIMIT,
    OPT_TEST_LIMIT, OPT_EVAL_GIVEN, OPT_OUT_DIR, OPT_SEED, OPT_THREADS, OPT_RESUME, OPT_FORCE,
    OPT_QUIET, OPT_HELP, OPT_VERSION, OPT_START_STEP, OPT_TEST, OPT_HEAD, OPT_PROFESSOR,
    OPT_HEAD_HIDDEN, OPT_PF_LAMBDA, OPT_PF_DISC_HIDDEN, OPT_PF_DISC_LAYERS, OPT_PF_GIVEN, OPT_PF_BAND
};

static const struct option long_options[] = {
    {"exp-name", required_argument, NULL, OPT_EXP_NAME},
    {"hidden", required_argument, NULL, OPT_HIDDEN},
    {"layers", required_argument, NULL, OPT_LAYERS},
    {"units-per-step", required_argument, NULL, OPT_UNITS_PER_STEP},
    {"pixels-per-step", required_argument, NULL, OPT_UNITS_PER_STEP}, /* its name for images */
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"batch-size", required_argument, NULL, OPT_BATCH_SIZE},
    {"lr", required_argument, NULL, OPT_LR},
    {"loss", required_argument, NULL, OPT_LOSS},
    {"optim", required_argument, NULL, OPT_OPTIM},
    {"clip", required_argument, NULL, OPT_CLIP},
    {"schedule", required_argument, NULL, OPT_SCHEDULE},
    {"sched-k", required_argument, NULL, OPT_SCHED_K},
    {"sched-c", required_argument, NULL, OPT_SCHED_C},
    {"sched-eps", required_argument, NULL, OPT_SCHED_EPS},
    {"sched-warmup", required_argument, NULL, OPT_SCHED_WARMUP},
    {"sched-unit", required_argument, NULL, OPT_SCHED_UNIT},
    {"feedback", required_argument, NULL, OPT_FEEDBACK},
    {"binarize", required_argument, NULL, OPT_BINARIZE},
    {"data", required_argument, NULL, OPT_DATA},
    {"test", required_argument, NULL, OPT_TEST},
    {"train-limit", required_argument, NULL, OPT_TRAIN_LIMIT},
    {"test-limit", required_argument, NULL, OPT_TEST_LIMIT},
    {"eval-given", required_argument, NULL, OPT_EVAL_GIVEN},
    {"out-dir", required_argument, NULL, OPT_OUT_DIR},
    {"seed", required_argument, NULL, OPT_SEED},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"resume", no_argument, NULL, OPT_RESUME},
    {"force", no_argument, NULL, OPT_FORCE},
    {"start-step", no_argument, NULL, OPT_START_STEP},
    {"head", required_argument, NULL, OPT_HEAD},
    {"head-hidden", required_argument, NULL, OPT_HEAD_HIDDEN},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"professor", no_argument, NULL, OPT_PROFESSOR},
    {"pf-lambda", required_argument, NULL, OPT_PF_LAMBDA},
    {"pf-disc-hidden", required_argument, NULL, OPT_PF_DISC_HIDDEN},
    {"pf-disc-layers", required_argument, NULL, OPT_PF_DISC_LAYERS},
    {"pf-given", required_argument, NULL, OPT_PF_GIVEN},
    {"pf-band", required_argument, NULL, OPT_PF_BAND},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static void usage(void)
{
    printf(
        "Usage: " PROG " [OPTION]...\n"
        "Train a GRU to predict binary sequences step by step: MNIST digits pixel by pixel, or\n"
        "your own sequences from .npy files. Writes OUT_DIR/NAME/results.csv (a row per epoch),\n"
        "model.ckpt (after every epoch, with the full training state and every setting) and\n"
        "config.txt (a readable copy of the settings, never read back).\n"
        "Defaults are the original experiment (train.py --exp-name gru-128 --hidden 128).\n"
        "\n"
        "Run:\n"
        "  --exp-name NAME        name of the run and its directory (gru-128)\n"
        "  --out-dir DIR          parent directory of the run's directory (experiments)\n"
        "  --epochs N             train until N epochs are done (10)\n"
        "  --resume               continue OUT_DIR/NAME/model.ckpt exactly, with the settings saved\n"
        "                         in it (only --epochs --threads --data --test --quiet may be\n"
        "                         given)\n"
        "  --force                start over even if OUT_DIR/NAME/model.ckpt exists\n"
        "  --seed S               seeds initialisation, shuffling, sampling, binarisation (1)\n"
        "  --threads N            threads of a training pass, 0 = all cores (0)\n"
        "  --quiet                print nothing but errors\n"
        "Model:\n"
        "  --hidden H             GRU units per layer (128)\n"
        "  --layers L             stacked GRU layers (1)\n"
        "  --units-per-step D     units fed per step (--pixels-per-step for images): a multiple\n"
        "                         of the data's step dividing a sequence, e.g. 1, 28 for MNIST (1)\n"
        "  --start-step           read a step of zeros first, so the first step is predicted\n"
        "                         too and sequences can be generated from nothing (off: the\n"
        "                         original experiment, 783 predictions of 784 pixels)\n"
        "  --head independent|linear-ar|made-ar   the units of a step predicted each on its\n"
        "                         own, or each also from the step's units before it: through a\n"
        "                         strictly lower-triangular linear layer (linear-ar), or that\n"
        "                         plus a masked hidden layer conditioned on the state (made-ar,\n"
        "                         MADE); teacher forcing only (independent)\n"
        "  --head-hidden M        the made-ar head's hidden units, 1 to 4096 (256)\n"
        "Optimisation:\n"
        "  --loss mse|bce         loss on the output probabilities (mse)\n"
        "  --optim adam|sgd       optimiser (adam)\n"
        "  --lr X                 learning rate (0.001)\n"
        "  --clip NORM            clip the gradient's global norm, 0 = off (0)\n"
        "  --batch-size B         sequences per batch (64)\n"
        "Scheduled sampling (p = probability of feeding the true unit; see seqgen.h):\n"
        "  --schedule constant|linear|exp|invsigmoid   (constant: p = k = 1, teacher forcing)\n"
        "  --sched-k K --sched-c C --sched-eps EPS     the schedule's parameters (its defaults)\n"
        "  --sched-warmup W       units of pure teacher forcing before the decay (0)\n"
        "  --sched-unit batch|epoch   what the schedule's position counts (batch)\n"
        "  --feedback sample|threshold|prob   what is fed back instead of the truth (sample)\n"
        "Professor forcing (Lamb et al. 2016; docs/professor-forcing.md):\n"
        "  --professor            train the generator, besides its loss, to fool a discriminator\n"
        "                         telling its teacher-forced behaviour from its free-running\n"
        "                         one (needs teacher forcing: the constant schedule, p = 1)\n"
        "  --pf-lambda X          weight of the adversarial loss, a mean per sequence, against\n"
        "                         the loss, a mean per unit (0.001)\n"
        "  --pf-disc-hidden N     the discriminator's GRU and MLP units (64)\n"
        "  --pf-disc-layers K     its GRU layers, alternately forward and backward (3)\n"
        "  --pf-given K|0         free-run after the first K real units, 0 = from the start (0)\n"
        "  --pf-band LO,HI        pass the discriminator's gradient only while its accuracy is\n"
        "                         in [LO, HI] (0.75,0.99)\n");
    printf(
        "Data:\n"
        "  --data PATH            an MNIST directory (train-*/t10k-* IDX files, .gz or not), a\n"
        "                         directory with train.npy and test.npy, or a file X.npy of\n"
        "                         uint8/bool [N][T] or [N][T][D] (X.labels.npy, X.lengths.npy\n"
        "                         beside it are read too); default $SEQGEN_DATA, else\n"
        "                         data/mnist10k if it is there, else the installed digits\n"
        "                         %s\n"
        "  --test FILE.npy        the test sequences when --data is a .npy file\n"
        "  --binarize threshold|stochastic   images: pixel = byte > 127, or drawn with\n"
        "                         p = byte/255 (threshold)\n"
        "  --train-limit N        use the first N training sequences, 0 = all (0)\n"
        "  --test-limit N         evaluate on the first N test sequences, 0 = all (0)\n"
        "  --eval-given K|half    given units of the per-epoch completion metrics (500 for\n"
        "                         images, else half)\n"
        "\n"
        "  --help                 show this and exit\n"
        "  --version              show the version and exit\n"
        "Exit status: 0 done, 1 runtime error, 2 usage error, 130 interrupted (Ctrl-C) after saving.\n",
        cli_installed_data_dir());
}

/* Applies one option to @p s; 0, or -1 after printing why the value is bad. */
static int set_option(settings *s, int id, const char *arg)
{
    const char *name = "";
    for (const struct option *o = long_options; o->name; o++)
        if (o->val == id)
            name = o->name;
    long long v;
    switch (id) {
    case OPT_EXP_NAME:
        if (!*arg || strchr(arg, '/') || strchr(arg, '\n') || strcmp(arg, ".") == 0 ||
            strcmp(arg, "..") == 0) {
            fprintf(stderr, PROG ": --exp-name must be a plain file name, got '%s'\n", arg);
            return -1;
        }
        s->exp_name = arg;
        return 0;
    case OPT_OUT_DIR: s->out_dir = arg; return 0;
    case OPT_DATA: s->data = arg; s->data_given = 1; return 0;
    case OPT_TEST: s->test = arg; return 0;
    case OPT_HIDDEN: return cli_parse_int(PROG, name, arg, 1, 65536, &s->hidden);
    case OPT_LAYERS: return cli_parse_int(PROG, name, arg, 1, 64, &s->layers);
    case OPT_UNITS_PER_STEP: return cli_parse_int(PROG, name, arg, 1, 65536, &s->units_per_step);
    case OPT_EPOCHS: return cli_parse_int(PROG, name, arg, 0, 1000000, &s->epochs);
    case OPT_BATCH_SIZE: return cli_parse_int(PROG, name, arg, 1, 1 << 20, &s->batch_size);
    case OPT_THREADS: return cli_parse_int(PROG, name, arg, 0, 1024, &s->threads);
    case OPT_EVAL_GIVEN:
        if (strcmp(arg, "half") == 0) {
            s->eval_given = SEQGEN_GIVEN_HALF;
            return 0;
        }
        return cli_parse_int(PROG, name, arg, 0, INT_MAX, &s->eval_given);
    case OPT_LR: return cli_parse_double(PROG, name, arg, 1e-12, 1e3, &s->lr);
    case OPT_CLIP: return cli_parse_double(PROG, name, arg, 0.0, 1e12, &s->clip);
    case OPT_SCHED_K: return cli_parse_double(PROG, name, arg, 0.0, 1e12, &s->sched_k);
    case OPT_SCHED_C: return cli_parse_double(PROG, name, arg, 0.0, 1.0, &s->sched_c);
    case OPT_SCHED_EPS: return cli_parse_double(PROG, name, arg, 0.0, 1.0, &s->sched_eps);
    case OPT_LOSS: return cli_parse_choice(PROG, name, arg, loss_names, &s->loss);
    case OPT_OPTIM: return cli_parse_choice(PROG, name, arg, optim_names, &s->optim);
    case OPT_SCHEDULE: return cli_parse_choice(PROG, name, arg, sched_names, &s->schedule);
    case OPT_SCHED_UNIT: return cli_parse_choice(PROG, name, arg, unit_names, &s->unit);
    case OPT_FEEDBACK: return cli_parse_choice(PROG, name, arg, feedback_names, &s->feedback);
    case OPT_BINARIZE: return cli_parse_choice(PROG, name, arg, binarize_names, &s->binarize);
    case OPT_HEAD: return cli_parse_choice(PROG, name, arg, head_names, &s->head);
    case OPT_HEAD_HIDDEN: return cli_parse_int(PROG, name, arg, 1, 4096, &s->head_hidden);
    case OPT_SCHED_WARMUP: return cli_parse_i64(PROG, name, arg, 0, LLONG_MAX, &s->sched_warmup);
    case OPT_TRAIN_LIMIT: return cli_parse_i64(PROG, name, arg, 0, LLONG_MAX, &s->train_limit);
    case OPT_TEST_LIMIT: return cli_parse_i64(PROG, name, arg, 0, LLONG_MAX, &s->test_limit);
    case OPT_SEED:
        if (cli_parse_i64(PROG, name, arg, 0, LLONG_MAX, &v) != 0)
            return -1;
        s->seed = (unsigned long long)v;
        return 0;
    case OPT_RESUME: s->resume = 1; return 0;
    case OPT_FORCE: s->force = 1; return 0;
    case OPT_START_STEP: s->start_step = 1; return 0;
    case OPT_QUIET: s->quiet = 1; return 0;
    case OPT_PROFESSOR: s->professor = 1; return 0;
    case OPT_PF_LAMBDA: return cli_parse_double(PROG, name, arg, 0.0, 1e6, &s->pf_lambda);
    case OPT_PF_DISC_HIDDEN: return cli_parse_int(PROG, name, arg, 1, 65536, &s->pf_disc_hidden);
    case OPT_PF_DISC_LAYERS: return cli_parse_int(PROG, name, arg, 1, 9, &s->pf_disc_layers);
    case OPT_PF_GIVEN: return cli_parse_int(PROG, name, arg, 0, INT_MAX, &s->pf_given);
    case OPT_PF_BAND: {
        char low[64];
        const char *comma = strchr(arg, ',');
        if (!comma || (size_t)(comma - arg) >= sizeof low) {
            fprintf(stderr, PROG ": --pf-band must be LO,HI, got '%s'\n", arg);
            return -1;
        }
        memcpy(low, arg, (size_t)(comma - arg));
        low[comma - arg] = '\0';
        if (cli_parse_double(PROG, name, low, 0.0, 1.0, &s->pf_band_low) != 0 ||
            cli_parse_double(PROG, name, comma + 1, 0.0, 1.0, &s->pf_band_high) != 0)
            return -1;
        if (s->pf_band_low > s->pf_band_high) {
            fprintf(stderr, PROG ": --pf-band %s: LO must be at most HI\n", arg);
            return -1;
        }
        return 0;
    }
    }
    return -1;
}

/* Options that may accompany --resume: they do not change what the run computes (threads only
 * changes float rounding; a warning says so). */
static int allowed_with_resume(int id)
{
    return id == OPT_EXP_NAME || id == OPT_OUT_DIR || id == OPT_RESUME || id == OPT_EPOCHS ||
           id == OPT_THREADS || id == OPT_DATA || id == OPT_TEST || id == OPT_QUIET;
}

static seqgen_sched_config sched_config(const settings *s)
{
    seqgen_sched_config c = seqgen_sched_config_default((seqgen_sched_kind)s->schedule);
    c.unit = (seqgen_sched_unit)s->unit;
    c.warmup = (uint64_t)s->sched_warmup;
    if (!isnan(s->sched_k))
        c.k = s->sched_k;
    if (!isnan(s->sched_c))
        c.c = s->sched_c;
    if (!isnan(s->sched_eps))
        c.eps = s->sched_eps;
    return c;
}

/* ---- config.txt: the command line, then every setting as "option value" -------------------- *
 * A copy for people and scripts (scripts/demo.sh, experiments-summary.py), rewritten at every
 * start and resume; the program never reads it: the checkpoint holds the settings. */

/* Writes config.txt; 0, or -1 after printing why. */
static int write_config(const char *path, const settings *s, int argc, char **argv)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = cli_text_open(PROG, &text, &size);
    if (!f)
        return -1;
    seqgen_sched_config sc = sched_config(s);
    fprintf(f, "# " PROG " %s: the command line, then every setting (a copy: --resume reads "
               "model.ckpt, never this file)\n#", seqgen_version());
    for (int i = 0; i < argc; i++)
        fprintf(f, " %s", argv[i]);
    char given[16];
    snprintf(given, sizeof given, s->eval_given == SEQGEN_GIVEN_HALF ? "half" : "%d",
             s->eval_given);
    fprintf(f, "\nhidden %d\nlayers %d\nunits-per-step %d\nepochs %d\nbatch-size %d\n"
               "lr %.17g\nloss %s\noptim %s\nclip %.17g\nschedule %s\nsched-k %.17g\n"
               "sched-c %.17g\nsched-eps %.17g\nsched-warmup %llu\nsched-unit %s\nfeedback %s\n"
               "binarize %s\ndata %s\ntest %s\ntrain-limit %lld\ntest-limit %lld\n"
               "eval-given %s\nseed %llu\nthreads %d\nstart-step %d\nhead %s\n"
               "head-hidden %d\nprofessor %d\npf-lambda %.17g\npf-disc-hidden %d\npf-disc-layers %d\n"
               "pf-given %d\npf-band %.17g,%.17g\n",
            s->hidden, s->layers, s->units_per_step, s->epochs, s->batch_size, s->lr,
            loss_names[s->loss], optim_names[s->optim], s->clip, sched_names[s->schedule], sc.k,
            sc.c, sc.eps, (unsigned long long)sc.warmup, unit_names[s->unit],
            feedback_names[s->feedback], binarize_names[s->binarize], s->data, s->test,
            s->train_limit, s->test_limit, given, s->seed, s->threads, s->start_step,
            head_names[s->head], s->head == SEQGEN_HEAD_MADE_AR ? s->head_hidden : 0,
            s->professor, s->pf_lambda, s->pf_disc_hidden, s->pf_disc_layers, s->pf_given,
            s->pf_band_low, s->pf_band_high);
    return cli_text_write(PROG, path, f, &text, &size);
}

/* A schedule the library refuses (e.g. --schedule exp --sched-k 2), or one that is not pure
 * teacher forcing with the autoregressive head (which the pass refuses), is a usage error. */
static int check_schedule(const settings *s)
{
    seqgen_sched_config c = sched_config(s);
    if (s->head != SEQGEN_HEAD_INDEPENDENT && (c.kind != SEQGEN_SCHED_CONSTANT || c.k != 1.0)) {
        fprintf(stderr, PROG ": --head %s trains by teacher forcing only: scheduled "
                        "sampling is not implemented for it (use --schedule constant, --sched-k "
                        "1)\n", head_names[s->head]);
        return -1;
    }
    seqgen_sched *sched = NULL;
    if (seqgen_sched_create(&sched, &c) == SEQGEN_OK) {
        seqgen_sched_free(sched);
        return 0;
    }
    fprintf(stderr, PROG ": --schedule %s: %s\n", sched_names[s->schedule], seqgen_last_error());
    return -1;
}

/* Parses argv into @p s. 0 to go on, or an exit code + 1000 when the program should stop now
 * (help, version, usage error). With --resume the settings are the checkpoint's (see
 * settings_from_checkpoint): only the options that may accompany it are allowed. */
static int parse_command_line(int argc, char **argv, settings *s)
{
    int ids[argc], given = 0, id;
    *s = default_settings();
    while ((id = cli_getopt(argc, argv, PROG, long_options)) != -1) {
        if (id == OPT_HELP) {
            usage();
            return 1000;
        }
        if (id == OPT_VERSION) {
            printf(PROG " (libseqgen) %s\n", seqgen_version());
            return 1000;
        }
        if (id == '?' || set_option(s, id, optarg) != 0) {
            return 1000 + cli_usage_error(PROG);
        }
        ids[given++] = id;
        s->threads_given |= id == OPT_THREADS;
        s->head_hidden_given |= id == OPT_HEAD_HIDDEN;
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
        return 1000 + cli_usage_error(PROG);
    }
    if (!s->resume && s->professor && (s->schedule != SEQGEN_SCHED_CONSTANT ||
                                       sched_config(s).k != 1.0)) {
        fprintf(stderr, PROG ": --professor trains by teacher forcing: the schedule must be "
                        "constant with p = 1\n");
        return 1000 + cli_usage_error(PROG);
    }
    if (!s->resume && s->head_hidden_given && s->head != SEQGEN_HEAD_MADE_AR) {
        fprintf(stderr, PROG ": --head-hidden sets the made-ar head's hidden units; this run's "
                        "head is %s\n", head_names[s->head]);
        return 1000 + cli_usage_error(PROG);
    }
    if (!s->resume && s->professor && comm_size() > 1) {
        fprintf(stderr, PROG ": --professor runs in one process, not in an MPI job\n");
        return 1000 + cli_usage_error(PROG);
    }
    if (!s->resume)
        return check_schedule(s) == 0 ? 0 : 1000 + cli_usage_error(PROG);
    for (int i = 0; i < given; i++) {
        if (!allowed_with_resume(ids[i])) {
            fprintf(stderr, PROG ": with --resume the settings come from the run's model.ckpt; "
                            "only --epochs, --threads, --data, --test, --quiet may be given\n");
            return 1000 + cli_usage_error(PROG);
        }
        s->epochs_given |= ids[i] == OPT_EPOCHS;
        s->data_given |= ids[i] == OPT_DATA;
        s->test_given |= ids[i] == OPT_TEST;
    }
    return 0;
}

/* ---- The run ------------------------------------------------------------------------------- */

typedef struct run {
    settings s;
    char dir[PATH_MAX], ckpt[PATH_MAX], csv[PATH_MAX], config[PATH_MAX];
    seqgen_dataset *train, *test;
    seqgen_model *model;
    seqgen_train_state state; /* handles, counters and state.run: what the checkpoint holds */
    seqgen_train_options opts;
    seqgen_checkpoint_info info; /* with --resume: what model.ckpt holds (settings point into it) */
    int lock_fd; /* the run directory, locked while the program runs (lock_run) */
    int created; /* directories of the run's path this program created */
    size_t steps; /* T: steps per sequence (the longest) */
    int tty;
    int stop; /* an interruption every rank has agreed on (comm_agree) */
} run;

/* Whether this process writes the run's files and prints its progress: the only process, or
 * rank 0 of an MPI job. */
static int leader(void)
{
    return comm_rank() == 0;
}

/* Opens a split of the run's data. */
static int open_data(const run *r, seqgen_split split, seqgen_dataset **out)
{
    return cli_open_data(PROG, r->s.data, r->s.test, !r->s.resume && !r->s.data_given, split,
                         out);
}

/* The sequences of the data that the run uses: the first @p count of the training set. */
static int use_sequences(const run *r, uint64_t count)
{
    size_t have = seqgen_dataset_count(r->train);
    if (count > have) {
        fprintf(stderr, PROG ": the run used %llu training sequences but %s has only %zu\n",
                (unsigned long long)count, r->s.data, have);
        return CLI_EXIT_RUNTIME;
    }
    return seqgen_dataset_limit(r->train, (size_t)count) == SEQGEN_OK
               ? 0
               : cli_fail(PROG, "limit", SEQGEN_EINVAL);
}

/* Whether the run can measure how often completions keep their sequence's label. */
static int labelled(const run *r)
{
    return seqgen_dataset_has_labels(r->train) && seqgen_dataset_has_labels(r->test);
}

/* The run's setup from the settings of a new run, for a training set of @p count sequences. */
static seqgen_run_config run_config(const run *r, size_t count)
{
    const settings *s = &r->s;
    seqgen_run_config setup = seqgen_run_config_default();
    setup.train.loss = (seqgen_loss)s->loss;
    setup.train.feedback = (seqgen_feedback)s->feedback;
    setup.batches.batch_size = (size_t)s->batch_size;
    setup.batches.units_per_step = (size_t)s->units_per_step;
    setup.batches.seed = s->seed;
    setup.batches.binarize.mode = (seqgen_binarize_mode)s->binarize;
    setup.batches.binarize.seed = s->seed;
    setup.train_sequences = count;
    setup.eval.metrics = labelled(r) ? SEQGEN_EVAL_ALL : SEQGEN_EVAL_LOSS | SEQGEN_EVAL_COMPLETION;
    setup.eval.given = s->eval_given;
    setup.eval.batch_size = (size_t)s->batch_size;
    setup.eval.limit = (size_t)s->test_limit;
    setup.eval.binarize = setup.batches.binarize;
    setup.epochs = (uint64_t)s->epochs;
    snprintf(setup.data_source, sizeof setup.data_source, "%s", s->data);
    snprintf(setup.test_source, sizeof setup.test_source, "%s", s->test);
    return setup;
}

/* The settings a checkpoint records, as the options that would make them (for config.txt and
 * the messages); --epochs, --threads, --data and --test given with --resume override them. */
static void settings_from_checkpoint(settings *s, const seqgen_checkpoint_info *info)
{
    const seqgen_run_config *saved = &info->run;
    s->hidden = info->model.hidden, s->layers = info->model.layers;
    s->units_per_step = info->model.units_per_step;
    s->seed = info->model.seed;
    s->start_step = info->model.start_step;
    s->head = info->model.head;
    if (info->model.head == SEQGEN_HEAD_MADE_AR)
        s->head_hidden = info->model.head_hidden;
    if (!s->threads_given)
        s->threads = info->model.threads;
    if (!s->epochs_given)
        s->epochs = saved->epochs > 1000000 ? 1000000 : (int)saved->epochs;
    if (!s->data_given)
        s->data = saved->data_source;
    if (!s->test_given)
        s->test = saved->test_source;
    s->optim = info->optim.kind, s->lr = info->optim.lr, s->clip = info->optim.clip_norm;
    seqgen_sched_config sc = info->sched;
    s->schedule = sc.kind, s->unit = sc.unit, s->sched_k = sc.k, s->sched_c = sc.c;
    s->sched_eps = sc.eps, s->sched_warmup = (long long)sc.warmup;
    s->loss = saved->train.loss, s->feedback = saved->train.feedback;
    s->batch_size = (int)saved->batches.batch_size;
    s->binarize = saved->batches.binarize.mode;
    s->train_limit = (long long)saved->train_sequences;
    s->test_limit = (long long)saved->eval.limit;
    s->eval_given = saved->eval.given;
    s->professor = info->has_professor;
    if (info->has_professor) {
        const seqgen_professor_config *pf = &info->professor;
        s->pf_lambda = pf->lambda, s->pf_given = pf->given;
        s->pf_band_low = pf->band_low, s->pf_band_high = pf->band_high;
        s->pf_disc_hidden = pf->disc.hidden, s->pf_disc_layers = pf->disc.layers;
    }
}

/* Creates the model, optimiser and schedule of a new run. */
static int start_new(run *r)
{
    const settings *s = &r->s;
    seqgen_model_config mc = seqgen_model_config_default();
    mc.units_per_step = s->units_per_step, mc.hidden = s->hidden, mc.layers = s->layers;
    mc.seed = s->seed, mc.threads = s->threads, mc.start_step = s->start_step;
    mc.head = (seqgen_head_kind)s->head;
    mc.head_hidden = s->head == SEQGEN_HEAD_MADE_AR ? s->head_hidden : 0;
    mc.steps = (int)seqgen_batch_iter_steps(r->state.batches); /* the data's shape, recorded */
    int status = seqgen_model_create(&r->model, &mc);
    if (status != SEQGEN_OK)
        return cli_fail(PROG, "cannot create the model", status);
    seqgen_optim_config oc = seqgen_optim_config_default((seqgen_optim_kind)s->optim);
    oc.lr = s->lr, oc.clip_norm = s->clip;
    if ((status = seqgen_optim_create(&r->state.optim, r->model, &oc)) != SEQGEN_OK)
        return cli_fail(PROG, "cannot create the optimiser", status);
    seqgen_sched_config sc = sched_config(s);
    if ((status = seqgen_sched_create(&r->state.sched, &sc)) != SEQGEN_OK)
        return cli_fail(PROG, "bad schedule", status);
    if (!s->professor)
        return 0;
    seqgen_professor_config pc = seqgen_professor_config_default(r->model);
    pc.lambda = s->pf_lambda, pc.given = s->pf_given, pc.seed = s->seed;
    pc.band_low = s->pf_band_low, pc.band_high = s->pf_band_high;
    pc.disc.hidden = pc.disc.mlp_hidden = s->pf_disc_hidden;
    pc.disc.layers = s->pf_disc_layers, pc.disc.seed = s->seed;
    pc.disc_optim = oc; /* the model's optimiser settings */
    if ((status = seqgen_professor_create(&r->state.professor, r->model, &pc)) != SEQGEN_OK)
        return cli_fail(PROG, "cannot create professor forcing's discriminator", status);
    return 0;
}

/* p of the next batch: the schedule's position is the training state's counters. */
static double current_p(const run *r)
{
    return seqgen_sched_p(r->state.sched, r->state.iteration, r->state.epoch);
}

/* Reads what the checkpoint says about the run, before any data is opened. */
static int inspect_run(run *r, seqgen_checkpoint_info *info)
{
    int status = seqgen_checkpoint_inspect(r->ckpt, info);
    if (status != SEQGEN_OK)
        return cli_fail(PROG, "cannot resume", status);
    if (!info->has_training || !info->has_optim || !info->has_sched || !info->has_batches) {
        fprintf(stderr, PROG ": cannot resume: %s is not a training checkpoint of " PROG "\n",
                r->ckpt);
        return CLI_EXIT_RUNTIME;
    }
    settings_from_checkpoint(&r->s, info);
    return 0;
}

/* Restores the run from its checkpoint alone: the data as saved (or --data), the batch
 * iterator from the saved configuration, then the model, optimiser, schedule and position. */
static int resume(run *r, const seqgen_checkpoint_info *info)
{
    int rc = use_sequences(r, info->run.train_sequences);
    if (rc != 0)
        return rc;
    int status = seqgen_batch_iter_create(&r->state.batches, r->train, &info->run.batches);
    if (status == SEQGEN_OK)
        status = seqgen_checkpoint_load_training(r->ckpt, &r->model, &r->state);
    if (status != SEQGEN_OK)
        return cli_fail(PROG, "cannot resume", status);
    r->state.run.epochs = (uint64_t)r->s.epochs; /* what this invocation trains to */
    snprintf(r->state.run.data_source, sizeof r->state.run.data_source, "%s", r->s.data);
    snprintf(r->state.run.test_source, sizeof r->state.run.test_source, "%s", r->s.test);
    seqgen_model_config mc = seqgen_model_get_config(r->model);
    if (mc.threads != r->s.threads) {
        if (!r->s.quiet)
            fprintf(stderr, PROG ": note: %d threads instead of %d: results differ by float "
                            "rounding from an uninterrupted run\n", r->s.threads, mc.threads);
        if ((status = seqgen_model_set_threads(r->model, r->s.threads)) != SEQGEN_OK)
            return cli_fail(PROG, "threads", status);
    }
    return 0;
}

/* Saves the whole training state. The library refuses non-finite parameters, so a good
 * checkpoint is never replaced by a broken one. */
static int save(const run *r)
{
    if (!leader())
        return 0;
    int status = seqgen_checkpoint_save(r->ckpt, r->model, &r->state);
    if (status == SEQGEN_OK)
        return 0;
    char what[PATH_MAX + 96];
    snprintf(what, sizeof what, "epoch %llu, iteration %llu: cannot save %s",
             (unsigned long long)r->state.epoch, (unsigned long long)r->state.iteration, r->ckpt);
    return cli_fail(PROG, what, status);
}

/* What an epoch measured: training (from each batch's seqgen_train_stats) and evaluation. */
typedef struct epoch_result {
    double seconds, loss_sum, sequences, eval_seconds;
    double p_weighted;        /* sum over batches of p times the batch's mixable inputs */
    uint64_t mixable, forced; /* inputs that could be fed back, and those teacher-forced */
    double p_mean;            /* p_weighted / mixable: the expected teacher-forced fraction */
    double forced_fraction;   /* forced / mixable: the fraction actually teacher-forced */
    seqgen_eval_results eval;
    double disc_loss, disc_accuracy, adv_loss, passed; /* professor forcing: sums over batches */
    uint64_t batches;
} epoch_result;

/* The epoch's teacher-forcing summary, before the epoch counter moves: with no mixable input
 * (no batch run since a resume), p is the current one and the fraction 0. */
static void summarise_teacher_forcing(const run *r, epoch_result *e)
{
    e->p_mean = e->mixable ? e->p_weighted / (double)e->mixable : current_p(r);
    e->forced_fraction = e->mixable ? (double)e->forced / (double)e->mixable : 0.0;
}

/* The means of the ranks' evaluations, each weighted by its count (the sequences, predicted
 * or generated units it is over): the whole test set's. A mean no rank measured stays NaN. */
static void combine_evaluations(seqgen_eval_results *res, int measured)
{
    double *means[] = {&res->mse, &res->bce, &res->nll_nats, &res->unit_error, &res->label_kept,
                       &res->label_kept_truth, &res->label_kept_blank, &res->nearest_distance,
                       &res->nearest_distance_truth};
    enum { MEANS = sizeof means / sizeof means[0] };
    const double weight[MEANS] = {
        (double)res->predicted_units, (double)res->predicted_units, (double)res->sequences,
        (double)res->generated_units, (double)res->sequences, (double)res->sequences,
        (double)res->sequences, (double)res->sequences, (double)res->sequences};
    double sums[2 * MEANS + 3];
    for (int i = 0; i < MEANS; i++) {
        int have = measured && !isnan(*means[i]) && weight[i] > 0.0;
        sums[i] = have ? *means[i] * weight[i] : 0.0;
        sums[MEANS + i] = have ? weight[i] : 0.0;
    }
    sums[2 * MEANS] = measured ? (double)res->sequences : 0.0;
    sums[2 * MEANS + 1] = measured ? (double)res->predicted_units : 0.0;
    sums[2 * MEANS + 2] = measured ? (double)res->generated_units : 0.0;
    comm_sum_doubles(sums, sizeof sums / sizeof sums[0]);
    for (int i = 0; i < MEANS; i++)
        *means[i] = sums[MEANS + i] > 0.0 ? sums[i] / sums[MEANS + i] : NAN;
    res->sequences = (size_t)sums[2 * MEANS];
    res->predicted_units = (uint64_t)sums[2 * MEANS + 1];
    res->generated_units = (uint64_t)sums[2 * MEANS + 2];
}

/* Test loss and completion metrics of the model, with evaluation's own generator; each rank
 * evaluates its share of the test sequences, and the shares are combined. */
static int evaluate(run *r, epoch_result *e)
{
    double t0 = cli_now();
    seqgen_eval_options opts = r->state.run.eval;
    size_t total = seqgen_dataset_count(r->test), first, n;
    if (opts.limit > 0 && opts.limit < total)
        total = opts.limit;
    comm_share(total, &first, &n);
    opts.first = first, opts.limit = n;
    int status = SEQGEN_OK, rc = 0;
    if (n > 0)
        status = seqgen_evaluate_dataset(r->model, r->test, r->train, &opts, &e->eval);
    if (status != SEQGEN_OK) {
        char what[80];
        snprintf(what, sizeof what, "evaluation after epoch %llu",
                 (unsigned long long)r->state.epoch);
        rc = cli_fail(PROG, what, status);
    }
    int stop = 0;
    if ((rc = comm_agree(rc, &stop)) != 0)
        return rc;
    if (comm_size() > 1)
        combine_evaluations(&e->eval, n > 0);
    e->eval_seconds = cli_now() - t0;
    return 0;
}

static void format_duration(char *out, size_t size, double seconds)
{
    long s = seconds > 0 && seconds < 1e9 ? (long)(seconds + 0.5) : 0;
    if (s >= 3600)
        snprintf(out, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, size, "%ld:%02ld", s / 60, s % 60);
}

/* Redraws the terminal progress bar (at most about ten times a second). */
static void progress(const run *r, const epoch_result *e, double t0, double *last_draw)
{
    double now = cli_now();
    if (!r->tty || r->s.quiet || now - *last_draw < 0.1)
        return;
    *last_draw = now;
    size_t total = seqgen_dataset_count(r->train);
    size_t done = seqgen_batch_iter_position(r->state.batches);
    double rate = e->sequences / (now - t0 + 1e-9);
    char eta[32], bar[31];
    format_duration(eta, sizeof eta, (double)(total - done) / (rate + 1e-9));
    int filled = (int)(30.0 * (double)done / (double)total);
    for (int i = 0; i < 30; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[30] = '\0';
    printf("\repoch %llu/%d [%s] %3.0f%% loss %.4f p %.3f %.0f seq/s ETA %s\033[K",
           (unsigned long long)r->state.epoch + 1, r->s.epochs, bar, 100.0 * done / total,
           e->loss_sum / (e->sequences + 1e-300), current_p(r), rate, eta);
    fflush(stdout);
}

/* Appends the epoch's row to results.csv (after the header if the file is new); a failed write
 * leaves the file as it was. */
static int append_row(const run *r, const epoch_result *e)
{
    if (!leader())
        return 0;
    char row[8192], why[PATH_MAX + 256], header[1024];
    int at = snprintf(row, sizeof row,
             "%llu,%llu,%.3f,%.6f,%.6f,%.6f,%.6f,%.4f,%.6f,%.6f,%.1f,%.3f,%.6f,%.6f\n",
             (unsigned long long)r->state.epoch, (unsigned long long)r->state.iteration,
             e->seconds, e->p_mean, e->forced_fraction,
             e->loss_sum / (e->sequences + 1e-300), e->eval.mse, e->eval.nll_nats,
             e->eval.unit_error, e->eval.label_kept, e->sequences / (e->seconds + 1e-9),
             e->eval_seconds, e->eval.label_kept_truth, e->eval.label_kept_blank);
    snprintf(header, sizeof header, "epoch,iterations,seconds,teacher_p,teacher_fraction,"
             "train_loss,test_mse,test_nll_nats,unit_error,label_kept,sequences_per_s,"
             "eval_seconds,label_kept_truth,label_kept_blank%s\n",
             r->s.professor ? ",disc_loss,disc_accuracy,adv_loss,adv_passed" : "");
    if (r->s.professor) { /* the means over the epoch's batches (NaN: none since a resume) */
        const double n = e->batches ? (double)e->batches : NAN;
        snprintf(row + at - 1, sizeof row - (size_t)at + 1, ",%.6f,%.6f,%.6f,%.6f\n",
                 e->disc_loss / n, e->disc_accuracy / n, e->adv_loss / n, e->passed / n);
    }
    if (cli_append_row(r->csv, header, row, why, sizeof why) != 0) {
        fprintf(stderr, PROG ": %s\n", why);
        return CLI_EXIT_RUNTIME;
    }
    return 0;
}

/* The exit code of a failed batch, after printing why. */
static int batch_failed(const run *r, int status)
{
    char what[160];
    snprintf(what, sizeof what, "epoch %llu, iteration %llu%s",
             (unsigned long long)r->state.epoch + 1, (unsigned long long)r->state.iteration + 1,
             status == SEQGEN_ENUMERIC ? " (the last checkpoint is kept)" : "");
    return cli_fail(PROG, what, status);
}

/* One training batch: each rank computes its slice's share of the gradient, the shares are
 * summed, every rank takes the same optimiser step. A non-finite loss or gradient on any rank
 * stops the run before anything is saved; so does an interruption, after the batch. */
static int train_batch(run *r, const float *x, size_t n, epoch_result *e)
{
    r->opts.teacher_prob = current_p(r);
    r->opts.slice = comm_rank(), r->opts.slices = comm_size();
    seqgen_train_stats st;
    seqgen_batch batch = seqgen_batch_of_sequences(r->model, x, (int)n, (int)r->steps);
    batch.lengths = seqgen_batch_iter_lengths(r->state.batches);
    int status;
    if (r->state.professor) {
        seqgen_professor_stats ps;
        status = seqgen_professor_step(r->state.professor, r->model, x, (int)n, (int)r->steps,
                                       batch.lengths, &r->opts, &ps);
        st = ps.train;
        e->disc_loss += ps.disc_loss, e->disc_accuracy += ps.disc_accuracy;
        e->adv_loss += ps.adv_loss, e->passed += ps.passed, e->batches++;
    } else {
        status = seqgen_model_forward_backward(r->model, &batch, &r->opts, NULL, &st);
    }
    int rc = status == SEQGEN_OK ? 0 : batch_failed(r, status);
    r->stop = cli_interrupted;
    if ((rc = comm_agree(rc, &r->stop)) != 0)
        return rc;
    if (comm_size() > 1) {
        double sums[3] = {st.loss, (double)st.teacher_forced, (double)st.mixable};
        comm_sum_floats(seqgen_model_gradients(r->model), seqgen_model_param_count(r->model));
        comm_sum_doubles(sums, 3);
        st.loss = sums[0];
        st.teacher_forced = (uint64_t)sums[1], st.mixable = (uint64_t)sums[2];
    }
    status = seqgen_optim_step(r->state.optim, r->model);
    rc = status == SEQGEN_OK ? 0 : batch_failed(r, status);
    if ((rc = comm_agree(rc, &r->stop)) != 0)
        return rc;
    r->state.iteration++;
    e->p_weighted += r->opts.teacher_prob * (double)st.mixable;
    e->mixable += st.mixable;
    e->forced += st.teacher_forced;
    e->loss_sum += st.loss * (double)n;
    e->sequences += (double)n;
    return 0;
}

static void print_epoch(const run *r, const epoch_result *e)
{
    if (r->s.quiet)
        return;
    printf("%sepoch %llu/%d  iter %llu  loss %.5f  p %.3f  test mse %.5f  nll %.2f  "
           "unit err %.4f  kept %.3f  %.0f seq/s  %.1f s", r->tty ? "\r\033[K" : "",
           (unsigned long long)r->state.epoch, r->s.epochs, (unsigned long long)r->state.iteration,
           e->loss_sum / (e->sequences + 1e-300), e->p_mean, e->eval.mse, e->eval.nll_nats,
           e->eval.unit_error, e->eval.label_kept, e->sequences / (e->seconds + 1e-9),
           e->seconds + e->eval_seconds);
    if (r->s.professor && e->batches)
        printf("  D loss %.4f acc %.3f  adv %.4f", e->disc_loss / (double)e->batches,
               e->disc_accuracy / (double)e->batches, e->adv_loss / (double)e->batches);
    printf("\n");
    fflush(stdout);
}

/* 64-bit FNV-1a of the parameters' bytes: the ranks' copies of the model must stay identical. */
static uint64_t parameters_hash(const seqgen_model *model)
{
    const unsigned char *p = (const unsigned char *)seqgen_model_parameters(model);
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < seqgen_model_param_count(model) * sizeof(float); i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* Saves mid-epoch after an interruption every rank agreed on, and gives 130. */
static int save_interrupted(run *r)
{
    int rc = comm_agree(save(r), &r->stop);
    if (rc != 0)
        return rc;
    if (leader())
        fprintf(stderr, "%s" PROG ": interrupted in epoch %llu at iteration %llu: saved %s; "
                        "continue with --resume\n", r->tty ? "\r\033[K" : "",
                (unsigned long long)r->state.epoch + 1, (unsigned long long)r->state.iteration,
                r->ckpt);
    return 130;
}

/* The end of an epoch: evaluation, the check that every rank holds the same parameters, the
 * row of results.csv and the checkpoint. */
static int end_epoch(run *r, epoch_result *e)
{
    int rc = evaluate(r, e);
    if (rc != 0)
        return rc;
    if (!comm_same(parameters_hash(r->model))) {
        if (leader())
            fprintf(stderr, PROG ": the ranks' parameters differ after epoch %llu: stopping "
                            "without saving (the last checkpoint is kept)\n",
                    (unsigned long long)r->state.epoch);
        return CLI_EXIT_RUNTIME;
    }
    rc = append_row(r, e);
    if (rc == 0)
        rc = save(r);
    r->stop = cli_interrupted;
    return comm_agree(rc, &r->stop);
}

/* Trains up to the requested epoch count; an interruption saves mid-epoch and gives 130. */
static int train(run *r)
{
    while (r->state.epoch < (uint64_t)r->s.epochs) {
        epoch_result e = {0};
        double t0 = cli_now(), last_draw = 0.0;
        const float *x;
        size_t n;
        int status, rc;
        while ((status = seqgen_batch_iter_next(r->state.batches, &x, &n)) == SEQGEN_OK) {
            if ((rc = train_batch(r, x, n, &e)) != 0)
                return rc;
            progress(r, &e, t0, &last_draw);
            if (r->stop)
                return save_interrupted(r);
        }
        if (status != SEQGEN_DONE) /* the other ranks learn it where they agree next */
            return comm_agree(cli_fail(PROG, "batch", status), &r->stop);
        e.seconds = cli_now() - t0;
        summarise_teacher_forcing(r, &e);
        r->state.epoch++;
        if ((rc = end_epoch(r, &e)) != 0)
            return rc;
        print_epoch(r, &e);
        if (r->stop) {
            if (leader())
                fprintf(stderr, PROG ": interrupted after epoch %llu: saved %s; continue with "
                                "--resume\n", (unsigned long long)r->state.epoch, r->ckpt);
            return 130;
        }
    }
    return 0;
}

/* The run's shape against the data: D a multiple of the data's step (the step itself when
 * lengths vary) dividing a sequence into at least 3 steps, the training and test sequences of
 * one shape, the batches holding the model's D, K within a sequence, and when resuming, the
 * model's sequences the data's. A new run's bad options are usage errors; a checkpoint that
 * does not fit the data is a runtime error. */
static int check_shape(run *r, size_t batch_units_per_step)
{
    settings *s = &r->s;
    const size_t units = seqgen_dataset_units(r->train), D = (size_t)s->units_per_step;
    const size_t D0 = seqgen_dataset_units_per_step(r->train);
    const int varying = seqgen_dataset_has_lengths(r->train) || seqgen_dataset_has_lengths(r->test);
    if (s->eval_given == EVAL_GIVEN_DEFAULT)
        s->eval_given = !seqgen_dataset_is_binary(r->train) && units >= MNIST_GIVEN
                            ? MNIST_GIVEN : SEQGEN_GIVEN_HALF;
    if (D % D0 != 0 || units % D != 0 || units / D < 3 || (varying && D != D0))
        fprintf(stderr, PROG ": --units-per-step %d must be %s the data's %zu units per step "
                        "and divide its %zu units into at least 3 steps\n", s->units_per_step,
                varying ? "(as its lengths vary)" : "a multiple of", D0, units);
    else if (seqgen_dataset_units(r->test) != units ||
             seqgen_dataset_units_per_step(r->test) != D0)
        fprintf(stderr, PROG ": the test sequences (%zu steps of %zu units) are not of the "
                        "training sequences' shape (%zu of %zu)\n", seqgen_dataset_steps(r->test),
                seqgen_dataset_units_per_step(r->test), seqgen_dataset_steps(r->train), D0);
    else if (batch_units_per_step != D)
        fprintf(stderr, PROG ": %s: its batches hold %zu units per step but its model reads "
                        "%zu\n", r->ckpt, batch_units_per_step, D);
    else if (s->resume && r->info.model.steps != 0 && (size_t)r->info.model.steps != units / D)
        fprintf(stderr, PROG ": %s: its model is for sequences of %d steps, %s has %zu\n",
                r->ckpt, r->info.model.steps, s->data, units / D);
    else if (s->professor && (size_t)s->pf_given > units)
        fprintf(stderr, PROG ": --pf-given %d must be at most the %zu units of a sequence\n",
                s->pf_given, units);
    else if (s->eval_given > 0 && (size_t)s->eval_given > units)
        fprintf(stderr, PROG ": --eval-given %d must be at most the %zu units of a sequence\n",
                s->eval_given, units);
    else
        return 0;
    if (s->resume)
        return CLI_EXIT_RUNTIME;
    return cli_usage_error(PROG);
}

/* Locks the run's directory and removes the stale temporaries under the lock (cli_lock_run):
 * only seqgen-train writes the run's files, so no live writer can own them. */
static int lock_run(run *r)
{
    return cli_lock_run(PROG, r->dir, r->s.quiet, &r->lock_fd);
}

/* The directory of a new run, locked, without a checkpoint (unless --force) or results.csv. */
static int create_run_directory(run *r)
{
    if (cli_mkdir_p(r->dir, &r->created) != 0) {
        fprintf(stderr, PROG ": cannot create %s: %s\n", r->dir, strerror(errno));
        return CLI_EXIT_RUNTIME;
    }
    int rc = lock_run(r);
    if (rc != 0)
        return rc;
    if (access(r->ckpt, F_OK) == 0 && !r->s.force) { /* checked under the lock */
        fprintf(stderr, PROG ": %s exists: continue it with --resume, or start over with "
                        "--force\n", r->ckpt);
        return CLI_EXIT_RUNTIME;
    }
    if (remove(r->csv) != 0 && errno != ENOENT) {
        fprintf(stderr, PROG ": cannot replace %s: %s\n", r->csv, strerror(errno));
        return CLI_EXIT_RUNTIME;
    }
    return 0;
}

/* A new run: its setup from the options, the batch iterator, the model, optimiser, schedule. */
static int prepare_new(run *r)
{
    const settings *s = &r->s;
    if (s->train_limit > 0 && seqgen_dataset_limit(r->train, (size_t)s->train_limit) != SEQGEN_OK)
        return cli_fail(PROG, "limit", SEQGEN_EINVAL);
    int rc = check_shape(r, (size_t)s->units_per_step);
    if (rc != 0)
        return rc;
    r->state.run = run_config(r, seqgen_dataset_count(r->train));
    int status = seqgen_batch_iter_create(&r->state.batches, r->train, &r->state.run.batches);
    if (status != SEQGEN_OK)
        return cli_fail(PROG, "batches", status);
    return start_new(r);
}

static int prepare(run *r)
{
    settings *s = &r->s;
    if (cli_run_paths(PROG, s->out_dir, s->exp_name, r->dir, r->ckpt, r->csv, r->config) != 0)
        return CLI_EXIT_RUNTIME;
    int rc;
    if (s->resume && (rc = inspect_run(r, &r->info)) != 0)
        return rc;
    if (cli_check_source(PROG, "data", s->data) != 0 ||
        cli_check_source(PROG, "test", s->test) != 0)
        return cli_usage_error(PROG);
    if ((rc = open_data(r, SEQGEN_SPLIT_TRAIN, &r->train)) != 0 ||
        (rc = open_data(r, SEQGEN_SPLIT_TEST, &r->test)) != 0)
        return rc;
    if (!s->resume)
        rc = prepare_new(r);
    else if ((rc = check_shape(r, r->info.run.batches.units_per_step)) == 0)
        rc = resume(r, &r->info);
    if (rc == 0) {
        r->steps = seqgen_batch_iter_steps(r->state.batches);
        r->opts = r->state.run.train; /* loss and feedback; p comes from the schedule */
    }
    return rc;
}

/* The run's directory, once every process is ready to train: created and locked for a new run
 * (without an old checkpoint, unless --force), locked and its results.csv cut back to the
 * checkpoint for a resumed one; config.txt written. Only the leader writes files. */
static int settle(run *r, int argc, char **argv)
{
    int rc = r->s.resume ? lock_run(r) : create_run_directory(r);
    if (rc == 0 && r->s.resume)
        rc = cli_trim_results(PROG, r->csv, r->state.epoch);
    if (rc == 0 && write_config(r->config, &r->s, argc, argv) != 0)
        rc = CLI_EXIT_RUNTIME;
    if (rc != 0)
        cli_remove_created(r->dir, r->created); /* those it made, if still empty */
    return rc;
}

/* Under MPI, with several ranks on this machine and no --threads: its cores shared out among
 * them, so that ranks x threads fill the machine without oversubscribing it. */
static void share_cores(settings *s)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (s->threads_given || comm_local_size() <= 1 || cores < 1)
        return;
    s->threads = cores / comm_local_size() > 1 ? (int)(cores / comm_local_size()) : 1;
    s->threads_given = 1;
}

int main(int argc, char **argv)
{
    static run r; /* large path buffers: not on the stack */
    int rc = comm_start(&argc, &argv);
    if (rc != 0)
        return rc;
    rc = parse_command_line(argc, argv, &r.s);
    if (rc >= 1000)
        return comm_end(comm_agree(rc - 1000, &r.stop));
    share_cores(&r.s);
    r.tty = isatty(STDOUT_FILENO) && !comm_launched(); /* mpirun relays output through a pty */
    r.lock_fd = -1;
    cli_catch_interrupts(comm_launched());

    rc = comm_agree(prepare(&r), &r.stop);
    if (rc == 0)
        rc = comm_agree(leader() ? settle(&r, argc, argv) : 0, &r.stop);
    if (rc == 0) {
        size_t tests = seqgen_dataset_count(r.test), limit = r.state.run.eval.limit;
        if (!r.s.quiet && leader())
            printf("%s: %zu training and %zu test %s of %zu steps from %s; H %d, L %d, D %d; "
                   "epoch %llu of %d done\n", r.dir, seqgen_dataset_count(r.train),
                   limit && limit < tests ? limit : tests,
                   seqgen_dataset_is_binary(r.train) ? "sequences" : "images", r.steps, r.s.data,
                   r.s.hidden, r.s.layers, r.s.units_per_step, (unsigned long long)r.state.epoch,
                   r.s.epochs);
        rc = train(&r);
    }
    seqgen_batch_iter_free(r.state.batches);
    seqgen_optim_free(r.state.optim);
    seqgen_sched_free(r.state.sched);
    seqgen_professor_free(r.state.professor);
    seqgen_model_free(r.model);
    seqgen_dataset_free(r.test);
    seqgen_dataset_free(r.train);
    if (r.lock_fd >= 0)
        close(r.lock_fd);
    return comm_end(rc);
}
