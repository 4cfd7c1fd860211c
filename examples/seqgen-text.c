/* seqgen-text: a character-level model of a UTF-8 text file of lines (a word list, names,
 * short sentences), trained and sampled from the command line.
 *
 *   seqgen-text train --text FILE ...        trains a categorical GRU (one symbol per character,
 *                                            a start step, Adam, cross-entropy) and writes
 *                                            OUT_DIR/NAME/results.csv, model.ckpt (with the
 *                                            vocabulary) and config.txt
 *   seqgen-text train --resume ...           continues OUT_DIR/NAME/model.ckpt exactly
 *   seqgen-text generate --checkpoint FILE   writes generated lines to standard output
 *
 * Thin by design: the vocabulary, the text reader, the batches, the passes and generation are
 * the library's (docs/symbols.md). model.ckpt is a training checkpoint with the vocabulary: the
 * run's setup says the data is text (the file, the reader's options, a checksum of its lines)
 * and the symbol iterator's position is saved, so --resume continues from the file alone, and
 * refuses a text that has changed since. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include "cli.h"
#include "seqgen.h"

#define PROG "seqgen-text"

static void usage(void)
{
    printf(
        "Usage: " PROG " train --text FILE [OPTION]...\n"
        "       " PROG " train --resume [--exp-name NAME] [--out-dir DIR] [--epochs N] ...\n"
        "       " PROG " generate --checkpoint FILE [OPTION]...\n"
        "A character-level GRU on a UTF-8 text file of lines (e.g. a word list): one symbol per\n"
        "character (a Unicode code point), an end symbol after each line, a start step so that\n"
        "lines can be generated from nothing.\n"
        "\n"
        "train: trains with Adam on the cross-entropy and writes OUT_DIR/NAME/results.csv (a row\n"
        "per epoch: training loss, held-out NLL per symbol and per line, and the greedy\n"
        "completion of each held-out line from its first half: symbol error, exact lines, mean\n"
        "lengths, copies of training lines), model.ckpt (the training checkpoint with the\n"
        "vocabulary, replaced after every epoch) and config.txt.\n"
        "  --text FILE            the lines to learn (UTF-8, LF or CRLF; empty lines skipped)\n"
        "  --holdout-every K      hold out every K-th line for the test NLL, 0 = none (10)\n"
        "  --exp-name NAME        name of the run and its directory (text)\n"
        "  --out-dir DIR          parent directory of the run's directory (experiments)\n"
        "  --resume               continue OUT_DIR/NAME/model.ckpt exactly, with the settings and\n"
        "                         the text it records (only --epochs, --threads, --text, --quiet\n"
        "                         may be given; a text that changed since is refused)\n"
        "  --force                start over even if OUT_DIR/NAME/model.ckpt exists\n"
        "  --hidden H             GRU units per layer (128)\n"
        "  --embedding E          width of a character's embedding (32)\n"
        "  --layers L             stacked GRU layers (1)\n"
        "  --epochs N             epochs to train (10)\n"
        "  --batch-size B         lines per batch (64)\n"
        "  --lr X                 Adam's learning rate (0.002)\n"
        "  --clip NORM            clip the gradient's global norm, 0 = off (0)\n"
        "  --seed S               seeds initialisation and shuffling (1)\n"
        "  --threads N            threads of a training pass, 0 = all cores (0)\n"
        "  --quiet                print nothing but errors\n"
        "\n"
        "generate: writes COUNT generated lines to standard output, one per line.\n"
        "  --checkpoint FILE      a model.ckpt written by " PROG " train\n"
        "  --count N              lines to generate (10)\n"
        "  --prefix TEXT          every line starts with TEXT (its characters must be in the\n"
        "                         model's vocabulary) (none)\n"
        "  --greedy               the most probable character at each step (default: sampling)\n"
        "  --temperature T        sampling temperature, > 0 (1)\n"
        "  --top-k K              sample among the K most probable characters, 0 = all (0)\n"
        "  --top-p P              sample within the nucleus of mass P, in (0, 1] (1)\n"
        "  --seed S               seeds the sampling: the same seed gives the same lines (1)\n"
        "  --max-length M         most characters generated after the prefix (the longest\n"
        "                         training line's length)\n"
        "  --threads N            threads, 0 = all cores; the lines do not depend on it (0)\n"
        "\n"
        "  --help                 show this and exit\n"
        "  --version              show the version and exit\n"
        "Exit status: 0 done, 1 runtime error (e.g. an unreadable file, or a --prefix character\n"
        "the model's vocabulary lacks, or a changed text to resume), 2 usage error, 130\n"
        "interrupted (Ctrl-C or SIGTERM) after saving: continue with --resume.\n");
}

/* ---- Options ---------------------------------------------------------------------------------- */

typedef struct settings {
    /* train */
    const char *text, *exp_name, *out_dir;
    int hidden, embedding, layers, epochs, batch_size, threads, holdout_every, force, quiet;
    int resume, epochs_given, threads_given, text_given; /* given: with --resume, overrides */
    double lr, clip;
    /* generate */
    const char *checkpoint, *prefix;
    int count, greedy, top_k, max_length; /* max_length -1: the model's */
    double temperature, top_p;
    unsigned long long seed;
} settings;

enum option_id {
    OPT_TEXT = 256, OPT_HOLDOUT, OPT_EXP_NAME, OPT_OUT_DIR, OPT_FORCE, OPT_HIDDEN, OPT_EMBEDDING,
    OPT_LAYERS, OPT_EPOCHS, OPT_BATCH_SIZE, OPT_LR, OPT_CLIP, OPT_SEED, OPT_THREADS, OPT_QUIET,
    OPT_CHECKPOINT, OPT_COUNT, OPT_PREFIX, OPT_GREEDY, OPT_TEMPERATURE, OPT_TOP_K, OPT_TOP_P,
    OPT_MAX_LENGTH, OPT_HELP, OPT_VERSION, OPT_RESUME
};

static const struct option train_options[] = {
    {"text", required_argument, NULL, OPT_TEXT},
    {"holdout-every", required_argument, NULL, OPT_HOLDOUT},
    {"exp-name", required_argument, NULL, OPT_EXP_NAME},
    {"out-dir", required_argument, NULL, OPT_OUT_DIR},
    {"force", no_argument, NULL, OPT_FORCE},
    {"resume", no_argument, NULL, OPT_RESUME},
    {"hidden", required_argument, NULL, OPT_HIDDEN},
    {"embedding", required_argument, NULL, OPT_EMBEDDING},
    {"layers", required_argument, NULL, OPT_LAYERS},
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"batch-size", required_argument, NULL, OPT_BATCH_SIZE},
    {"lr", required_argument, NULL, OPT_LR},
    {"clip", required_argument, NULL, OPT_CLIP},
    {"seed", required_argument, NULL, OPT_SEED},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static const struct option generate_options[] = {
    {"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
    {"count", required_argument, NULL, OPT_COUNT},
    {"prefix", required_argument, NULL, OPT_PREFIX},
    {"greedy", no_argument, NULL, OPT_GREEDY},
    {"temperature", required_argument, NULL, OPT_TEMPERATURE},
    {"top-k", required_argument, NULL, OPT_TOP_K},
    {"top-p", required_argument, NULL, OPT_TOP_P},
    {"seed", required_argument, NULL, OPT_SEED},
    {"max-length", required_argument, NULL, OPT_MAX_LENGTH},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static settings default_settings(void)
{
    return (settings){
        .text = NULL, .exp_name = "text", .out_dir = "experiments", .hidden = 128,
        .embedding = 32, .layers = 1, .epochs = 10, .batch_size = 64, .threads = 0,
        .holdout_every = 10, .lr = 2e-3, .clip = 0.0, .checkpoint = NULL, .prefix = "",
        .count = 10, .max_length = -1, .temperature = 1.0, .top_p = 1.0, .seed = 1,
    };
}

/* Applies one option; 0, or -1 after printing why its value is bad. */
static int set_option(settings *s, const struct option *options, int id, const char *arg)
{
    const char *name = "";
    for (const struct option *o = options; o->name; o++)
        if (o->val == id)
            name = o->name;
    long long v;
    switch (id) {
    case OPT_TEXT: s->text = arg, s->text_given = 1; return 0;
    case OPT_CHECKPOINT: s->checkpoint = arg; return 0;
    case OPT_PREFIX: s->prefix = arg; return 0;
    case OPT_OUT_DIR: s->out_dir = arg; return 0;
    case OPT_EXP_NAME:
        if (!*arg || strchr(arg, '/') || strchr(arg, '\n') || strcmp(arg, ".") == 0 ||
            strcmp(arg, "..") == 0) {
            fprintf(stderr, PROG ": --exp-name must be a plain file name, got '%s'\n", arg);
            return -1;
        }
        s->exp_name = arg;
        return 0;
    case OPT_HOLDOUT:
        if (cli_parse_int(PROG, name, arg, 0, 1000000000, &s->holdout_every) != 0)
            return -1;
        if (s->holdout_every == 1) {
            fprintf(stderr, PROG ": --holdout-every must be 0 (none) or at least 2, got 1\n");
            return -1;
        }
        return 0;
    case OPT_HIDDEN: return cli_parse_int(PROG, name, arg, 1, 65536, &s->hidden);
    case OPT_EMBEDDING: return cli_parse_int(PROG, name, arg, 1, 65536, &s->embedding);
    case OPT_LAYERS: return cli_parse_int(PROG, name, arg, 1, 64, &s->layers);
    case OPT_EPOCHS:
        s->epochs_given = 1;
        return cli_parse_int(PROG, name, arg, 0, 1000000, &s->epochs);
    case OPT_BATCH_SIZE: return cli_parse_int(PROG, name, arg, 1, 1 << 20, &s->batch_size);
    case OPT_THREADS:
        s->threads_given = 1;
        return cli_parse_int(PROG, name, arg, 0, 1024, &s->threads);
    case OPT_COUNT: return cli_parse_int(PROG, name, arg, 1, 100000000, &s->count);
    case OPT_TOP_K: return cli_parse_int(PROG, name, arg, 0, SEQGEN_VOCAB_MAX, &s->top_k);
    case OPT_MAX_LENGTH: return cli_parse_int(PROG, name, arg, 1, 1 << 20, &s->max_length);
    case OPT_LR: return cli_parse_double(PROG, name, arg, 1e-12, 1e3, &s->lr);
    case OPT_CLIP: return cli_parse_double(PROG, name, arg, 0.0, 1e12, &s->clip);
    case OPT_TEMPERATURE:
        if (cli_parse_double(PROG, name, arg, 0.0, 1e6, &s->temperature) != 0)
            return -1;
        if (s->temperature > 0.0)
            return 0;
        fprintf(stderr, PROG ": --temperature must be above 0, got '%s'\n", arg);
        return -1;
    case OPT_TOP_P:
        if (cli_parse_double(PROG, name, arg, 0.0, 1.0, &s->top_p) != 0)
            return -1;
        if (s->top_p > 0.0)
            return 0;
        fprintf(stderr, PROG ": --top-p must be in (0, 1], got '%s'\n", arg);
        return -1;
    case OPT_SEED:
        if (cli_parse_i64(PROG, name, arg, 0, LLONG_MAX, &v) != 0)
            return -1;
        s->seed = (unsigned long long)v;
        return 0;
    case OPT_FORCE: s->force = 1; return 0;
    case OPT_RESUME: s->resume = 1; return 0;
    case OPT_QUIET: s->quiet = 1; return 0;
    case OPT_GREEDY: s->greedy = 1; return 0;
    }
    return -1;
}

/* Options that may accompany --resume: they do not change what the run computes (threads only
 * changes float rounding; a note says so; --text names the same text where it now is). */
static int allowed_with_resume(int id)
{
    return id == OPT_EXP_NAME || id == OPT_OUT_DIR || id == OPT_RESUME || id == OPT_EPOCHS ||
           id == OPT_THREADS || id == OPT_TEXT || id == OPT_QUIET;
}

/* Parses the options after the command (argv[0] is the command). 0 to go on, or an exit code
 * + 1000 when the program should stop now (help, version, usage error). */
static int parse_options(int argc, char **argv, const struct option *options, settings *s)
{
    int id, refused = 0;
    optind = 1;
    while ((id = cli_getopt(argc, argv, PROG, options)) != -1) {
        if (id == OPT_HELP) {
            usage();
            return 1000;
        }
        if (id == OPT_VERSION) {
            printf(PROG " (libseqgen) %s\n", seqgen_version());
            return 1000;
        }
        if (id == '?' || set_option(s, options, id, optarg) != 0)
            return 1000 + cli_usage_error(PROG);
        refused |= !allowed_with_resume(id);
    }
    if (s->resume && refused) {
        fprintf(stderr, PROG ": with --resume the settings come from the run's model.ckpt; only "
                        "--epochs, --threads, --text, --quiet may be given\n");
        return 1000 + cli_usage_error(PROG);
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
        return 1000 + cli_usage_error(PROG);
    }
    return 0;
}

/* ---- train ------------------------------------------------------------------------------------ */

typedef struct run {
    settings s;
    char dir[PATH_MAX], ckpt[PATH_MAX], csv[PATH_MAX], config[PATH_MAX];
    seqgen_symbol_dataset *train, *test;
    seqgen_vocab *vocab;
    seqgen_model *model;
    seqgen_train_state state; /* the optimiser, the symbol batches, the counters and the run:
                                 what the checkpoint holds */
    seqgen_checkpoint_info info; /* with --resume: what model.ckpt holds */
    int lock_fd, created, tty;
} run;

/* What an epoch measured. */
typedef struct epoch_result {
    double seconds, eval_seconds;
    double train_nats, train_symbols;       /* summed over the epoch's batches */
    seqgen_symbol_eval_results test;        /* NaN without a held-out set */
} epoch_result;

/* Writes config.txt: the command line as a comment, then every setting; 0, or -1 after
 * printing why. */
static int write_config(const run *r, int argc, char **argv)
{
    const settings *s = &r->s;
    char *text = NULL;
    size_t size = 0;
    FILE *f = cli_text_open(PROG, &text, &size);
    if (!f)
        return -1;
    fprintf(f, "# " PROG " %s: the command line, then every setting (a copy: --resume reads "
               "model.ckpt, never this file)\n#", seqgen_version());
    for (int i = 0; i < argc; i++)
        fprintf(f, " %s", argv[i]);
    fprintf(f, "\ntext %s\nholdout-every %d\nvocab %zu\nsteps %zu\nhidden %d\nembedding %d\n"
               "layers %d\nepochs %d\nbatch-size %d\nlr %.17g\nclip %.17g\nseed %llu\n"
               "threads %d\nstart-step 1\n",
            s->text, s->holdout_every, seqgen_vocab_size(r->vocab),
            seqgen_symbol_dataset_steps(r->train), s->hidden, s->embedding, s->layers, s->epochs,
            s->batch_size, s->lr, s->clip, s->seed, s->threads);
    return cli_text_write(PROG, r->config, f, &text, &size);
}

/* The checksum of the text's lines, both parts: what a resumed run must find again. */
static uint64_t text_checksum(const run *r)
{
    return seqgen_symbol_dataset_checksum(r->test, seqgen_symbol_dataset_checksum(r->train, 0));
}

/* The run's setup of a new run: everything --resume needs to open the text again and check it. */
static seqgen_run_config run_config(const run *r, const seqgen_text_options *to)
{
    const settings *s = &r->s;
    seqgen_run_config setup = seqgen_run_config_default();
    setup.train.loss = SEQGEN_LOSS_CE;
    setup.batches.batch_size = (size_t)s->batch_size;
    setup.batches.seed = s->seed;
    setup.train_sequences = seqgen_symbol_dataset_count(r->train);
    setup.eval.metrics = SEQGEN_EVAL_LOSS;
    setup.eval.batch_size = (size_t)s->batch_size;
    setup.epochs = (uint64_t)s->epochs;
    setup.data = SEQGEN_RUN_DATA_TEXT;
    setup.text = *to;
    setup.data_checksum = text_checksum(r);
    snprintf(setup.data_source, sizeof setup.data_source, "%s", s->text);
    return setup;
}

/* The settings a checkpoint records, as the options that would make them (for config.txt and
 * the messages); --epochs, --threads and --text given with --resume override them. 0, or exit
 * code 1 after printing why the checkpoint is not a text run's. */
static int settings_from_checkpoint(run *r)
{
    settings *s = &r->s;
    const seqgen_checkpoint_info *info = &r->info;
    const seqgen_run_config *saved = &info->run;
    if (!info->has_training || !info->has_optim || !info->has_symbol_batches ||
        saved->data != SEQGEN_RUN_DATA_TEXT || saved->text.holdout_every > 1000000000 ||
        saved->batches.batch_size > (1 << 20)) {
        fprintf(stderr, PROG ": cannot resume: %s is not a training checkpoint of " PROG "\n",
                r->ckpt);
        return CLI_EXIT_RUNTIME;
    }
    s->hidden = info->model.hidden, s->embedding = info->model.embedding;
    s->layers = info->model.layers, s->seed = info->model.seed;
    if (!s->threads_given)
        s->threads = info->model.threads;
    if (!s->epochs_given)
        s->epochs = saved->epochs > 1000000 ? 1000000 : (int)saved->epochs;
    if (!s->text_given)
        s->text = saved->data_source;
    s->holdout_every = (int)saved->text.holdout_every;
    s->batch_size = (int)saved->batches.batch_size;
    s->lr = info->optim.lr, s->clip = info->optim.clip_norm;
    return 0;
}

/* Whether the text just read is the one the run was trained on: the same vocabulary (the
 * checkpoint's), lines (their count, the longest) and checksum of every line's ids. 0, or exit
 * code 1 after one line saying what differs. */
static int check_same_text(const run *r)
{
    const seqgen_run_config *saved = &r->info.run;
    seqgen_vocab *vocab = NULL;
    int status = seqgen_checkpoint_load_vocab(&vocab, r->ckpt);
    if (status != SEQGEN_OK)
        return cli_fail(PROG, "cannot resume", status);
    const size_t V = seqgen_vocab_size(vocab);
    int same = vocab && V == seqgen_vocab_size(r->vocab);
    for (size_t id = 1; same && id < V; id++)
        same = seqgen_vocab_code_point(vocab, id) == seqgen_vocab_code_point(r->vocab, id);
    seqgen_vocab_free(vocab);
    const char *what = !same ? "its characters differ from the run's vocabulary"
                       : seqgen_symbol_dataset_count(r->train) != saved->train_sequences
                           ? "its number of training lines differs"
                       : seqgen_symbol_dataset_steps(r->train) != (size_t)r->info.model.steps
                           ? "its longest line differs"
                       : text_checksum(r) != saved->data_checksum ? "its lines differ" : NULL;
    if (!what)
        return 0;
    fprintf(stderr, PROG ": cannot resume: %s is not the text the run was trained on (%s); "
                    "start over with --force\n", r->s.text, what);
    return CLI_EXIT_RUNTIME;
}

/* A new run: the model, its optimiser, the run's setup and the symbol batches. */
static int start_new(run *r, const seqgen_text_options *to)
{
    const settings *s = &r->s;
    size_t T = seqgen_symbol_dataset_steps(r->train);
    if (T > INT_MAX)
        return cli_error(PROG, "lines too long", s->text);
    seqgen_model_config mc = seqgen_model_config_default();
    mc.vocab = (int)seqgen_vocab_size(r->vocab), mc.embedding = s->embedding;
    mc.hidden = s->hidden, mc.layers = s->layers, mc.seed = s->seed, mc.threads = s->threads;
    mc.start_step = 1, mc.steps = (int)T; /* T recorded: generate's default length */
    int status = seqgen_model_create(&r->model, &mc);
    if (status != SEQGEN_OK)
        return cli_fail(PROG, "cannot create the model", status);
    seqgen_optim_config oc = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    oc.lr = s->lr, oc.clip_norm = s->clip;
    if ((status = seqgen_optim_create(&r->state.optim, r->model, &oc)) != SEQGEN_OK)
        return cli_fail(PROG, "cannot create the optimiser", status);
    r->state.run = run_config(r, to);
    status = seqgen_symbol_iter_create(&r->state.symbol_batches, r->train, &r->state.run.batches);
    return status == SEQGEN_OK ? 0 : cli_fail(PROG, "batches", status);
}

/* A resumed run: the text checked, the symbol batches from the saved setup, then the model,
 * optimiser, counters and the batches' position from the checkpoint. */
static int resume(run *r)
{
    int rc = check_same_text(r);
    if (rc != 0)
        return rc;
    int status = seqgen_symbol_iter_create(&r->state.symbol_batches, r->train,
                                           &r->info.run.batches);
    if (status == SEQGEN_OK)
        status = seqgen_checkpoint_load_training(r->ckpt, &r->model, &r->state);
    if (status != SEQGEN_OK)
        return cli_fail(PROG, "cannot resume", status);
    r->state.run.epochs = (uint64_t)r->s.epochs; /* what this invocation trains to */
    snprintf(r->state.run.data_source, sizeof r->state.run.data_source, "%s", r->s.text);
    int threads = seqgen_model_get_config(r->model).threads;
    if (threads != r->s.threads) {
        if (!r->s.quiet)
            fprintf(stderr, PROG ": note: %d threads instead of %d: results differ by float "
                            "rounding from an uninterrupted run\n", r->s.threads, threads);
        if ((status = seqgen_model_set_threads(r->model, r->s.threads)) != SEQGEN_OK)
            return cli_fail(PROG, "threads", status);
    }
    return 0;
}

/* Opens the text (as the checkpoint says, with --resume), then starts or resumes the run. */
static int prepare(run *r)
{
    settings *s = &r->s;
    if (cli_run_paths(PROG, s->out_dir, s->exp_name, r->dir, r->ckpt, r->csv, r->config) != 0)
        return CLI_EXIT_RUNTIME;
    int status, rc;
    seqgen_text_options to = seqgen_text_options_default();
    to.holdout_every = (size_t)s->holdout_every;
    if (s->resume) {
        if ((status = seqgen_checkpoint_inspect(r->ckpt, &r->info)) != SEQGEN_OK)
            return cli_fail(PROG, "cannot resume", status);
        if ((rc = settings_from_checkpoint(r)) != 0)
            return rc;
        to = r->info.run.text; /* the reader's options, as the run's */
    }
    if (cli_check_source(PROG, "text", s->text) != 0)
        return cli_usage_error(PROG);
    status = seqgen_symbol_dataset_open_text(&r->train, to.holdout_every ? &r->test : NULL,
                                             &r->vocab, s->text, &to);
    if (status != SEQGEN_OK)
        return cli_fail(PROG, "cannot read the text", status);
    if ((rc = s->resume ? resume(r) : start_new(r, &to)) != 0)
        return rc;
    return 0;
}

/* Locks the run's directory (as seqgen-train does: no two programs on one run) and removes the
 * temporary files a killed run left; for a new run, refuses an existing model.ckpt without
 * --force and removes the old results.csv; for a resumed one, cuts results.csv back to the
 * checkpoint's epoch. Then writes config.txt. */
static int settle(run *r, int argc, char **argv)
{
    if (!r->s.resume && cli_mkdir_p(r->dir, &r->created) != 0) {
        fprintf(stderr, PROG ": cannot create %s: %s\n", r->dir, strerror(errno));
        return CLI_EXIT_RUNTIME;
    }
    int rc = cli_lock_run(PROG, r->dir, r->s.quiet, &r->lock_fd);
    if (rc == 0 && r->s.resume) {
        rc = cli_trim_results(PROG, r->csv, r->state.epoch);
    } else if (rc == 0) {
        if (access(r->ckpt, F_OK) == 0 && !r->s.force) { /* checked under the lock */
            fprintf(stderr, PROG ": %s exists: continue it with --resume, or start over with "
                            "--force\n", r->ckpt);
            rc = CLI_EXIT_RUNTIME;
        } else if (remove(r->csv) != 0 && errno != ENOENT) {
            fprintf(stderr, PROG ": cannot replace %s: %s\n", r->csv, strerror(errno));
            rc = CLI_EXIT_RUNTIME;
        }
    }
    if (rc == 0 && write_config(r, argc, argv) != 0)
        rc = CLI_EXIT_RUNTIME;
    if (rc != 0)
        cli_remove_created(r->dir, r->created);
    return rc;
}

/* Saves the training state with the vocabulary, atomically (the library refuses non-finite
 * parameters, so a good checkpoint is never replaced by a broken one). */
static int save(const run *r)
{
    int status = seqgen_checkpoint_save_with_vocab(r->ckpt, r->model, &r->state, r->vocab);
    if (status == SEQGEN_OK)
        return 0;
    char what[PATH_MAX + 96];
    snprintf(what, sizeof what, "epoch %llu, iteration %llu: cannot save %s",
             (unsigned long long)r->state.epoch, (unsigned long long)r->state.iteration, r->ckpt);
    return cli_fail(PROG, what, status);
}

/* The held-out NLL (teacher forcing, in batches of the training batch size) and the greedy
 * completion of each held-out line from its first half, with copies of training lines. */
static int evaluate(run *r, epoch_result *e)
{
    double t0 = cli_now();
    e->test.nats_per_symbol = e->test.nats_per_sequence = NAN;
    e->test.symbol_error = e->test.exact_match = e->test.copies = NAN;
    e->test.mean_generated = e->test.mean_true = NAN;
    if (!r->test)
        return 0;
    seqgen_symbol_eval_options o = seqgen_symbol_eval_options_default();
    o.batch_size = (size_t)r->s.batch_size;
    int status = seqgen_evaluate_symbols(r->model, r->test, r->train, &o, &e->test);
    if (status != SEQGEN_OK) {
        char what[80];
        snprintf(what, sizeof what, "evaluation after epoch %llu",
                 (unsigned long long)r->state.epoch);
        return cli_fail(PROG, what, status);
    }
    e->eval_seconds = cli_now() - t0;
    return 0;
}

/* Appends the epoch's row to results.csv. */
static int append_row(const run *r, const epoch_result *e)
{
    char row[1024], why[PATH_MAX + 256];
    const seqgen_symbol_eval_results *t = &e->test;
    snprintf(row, sizeof row, "%llu,%llu,%.3f,%.6f,%.6f,%.6f,%.4f,%.0f,%.3f,%.6f,%.6f,%.4f,%.4f,"
             "%.6f\n", (unsigned long long)r->state.epoch,
             (unsigned long long)r->state.iteration, e->seconds,
             e->train_nats / (e->train_symbols + 1e-300), t->nats_per_symbol, t->bits_per_symbol,
             t->nats_per_sequence, e->train_symbols / (e->seconds + 1e-9), e->eval_seconds,
             t->symbol_error, t->exact_match, t->mean_generated, t->mean_true, t->copies);
    if (cli_append_row(r->csv, "epoch,iterations,seconds,train_loss,test_nll_nats_per_symbol,"
                               "test_nll_bits_per_symbol,test_nll_nats_per_line,symbols_per_s,"
                               "eval_seconds,completion_symbol_error,completion_exact,"
                               "completion_mean_generated,completion_mean_true,"
                               "completion_copies\n",
                       row, why, sizeof why) != 0) {
        fprintf(stderr, PROG ": %s\n", why);
        return CLI_EXIT_RUNTIME;
    }
    return 0;
}

static void print_epoch(const run *r, const epoch_result *e)
{
    if (r->s.quiet)
        return;
    const seqgen_symbol_eval_results *t = &e->test;
    printf("%sepoch %llu/%d  iter %llu  loss %.4f  test nll %.4f nats/symbol (%.4f bits)  "
           "%.2f nats/line  completion error %.3f exact %.3f copies %.3f  %.0f symbols/s  "
           "%.1f s\n", r->tty ? "\r\033[K" : "",
           (unsigned long long)r->state.epoch, r->s.epochs, (unsigned long long)r->state.iteration,
           e->train_nats / (e->train_symbols + 1e-300), t->nats_per_symbol, t->bits_per_symbol,
           t->nats_per_sequence, t->symbol_error, t->exact_match, t->copies,
           e->train_symbols / (e->seconds + 1e-9), e->seconds + e->eval_seconds);
    fflush(stdout);
}

/* Redraws the terminal's progress line, at most ten times a second. */
static void progress(const run *r, const epoch_result *e, double t0, double *last_draw)
{
    double now = cli_now();
    if (!r->tty || r->s.quiet || now - *last_draw < 0.1)
        return;
    *last_draw = now;
    size_t total = seqgen_symbol_dataset_count(r->train);
    size_t done = seqgen_symbol_iter_position(r->state.symbol_batches);
    printf("\repoch %llu/%d %3.0f%% loss %.4f %.0f symbols/s\033[K",
           (unsigned long long)r->state.epoch + 1, r->s.epochs,
           100.0 * (double)done / (double)total, e->train_nats / (e->train_symbols + 1e-300),
           e->train_symbols / (now - t0 + 1e-9));
    fflush(stdout);
}

static int train_loop(run *r)
{
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_CE;
    const int T = (int)seqgen_symbol_iter_steps(r->state.symbol_batches);
    while (r->state.epoch < (uint64_t)r->s.epochs) {
        epoch_result e = {0};
        double t0 = cli_now(), last_draw = 0.0;
        const int32_t *symbols;
        size_t n;
        int status;
        seqgen_symbol_iter *batches = r->state.symbol_batches;
        while ((status = seqgen_symbol_iter_next(batches, &symbols, &n)) == SEQGEN_OK) {
            seqgen_symbol_batch b = seqgen_symbol_batch_of_sequences(r->model, symbols, (int)n, T);
            b.lengths = seqgen_symbol_iter_lengths(batches);
            seqgen_train_stats st;
            status = seqgen_model_forward_backward_symbols(r->model, &b, &opts, NULL, &st);
            if (status == SEQGEN_OK)
                status = seqgen_optim_step(r->state.optim, r->model);
            if (status != SEQGEN_OK) {
                char what[160];
                snprintf(what, sizeof what, "epoch %llu, iteration %llu%s",
                         (unsigned long long)r->state.epoch + 1,
                         (unsigned long long)r->state.iteration + 1,
                         status == SEQGEN_ENUMERIC ? " (the last checkpoint is kept)" : "");
                return cli_fail(PROG, what, status);
            }
            r->state.iteration++;
            e.train_nats += st.loss * (double)st.predictions;
            e.train_symbols += (double)st.predictions;
            progress(r, &e, t0, &last_draw);
            if (cli_interrupted) {
                int rc = save(r);
                if (rc != 0)
                    return rc;
                fprintf(stderr, "%s" PROG ": interrupted in epoch %llu at iteration %llu: saved "
                                "%s; continue with --resume\n",
                        r->tty ? "\r\033[K" : "", (unsigned long long)r->state.epoch + 1,
                        (unsigned long long)r->state.iteration, r->ckpt);
                return 130;
            }
        }
        if (status != SEQGEN_DONE)
            return cli_fail(PROG, "batch", status);
        e.seconds = cli_now() - t0;
        r->state.epoch++;
        int rc = evaluate(r, &e);
        if (rc == 0)
            rc = append_row(r, &e);
        if (rc == 0)
            rc = save(r);
        if (rc != 0)
            return rc;
        print_epoch(r, &e);
        if (cli_interrupted) {
            fprintf(stderr, PROG ": interrupted after epoch %llu: saved %s; continue with "
                            "--resume\n",
                    (unsigned long long)r->state.epoch, r->ckpt);
            return 130;
        }
    }
    return 0;
}

static int command_train(int argc, char **argv)
{
    static run r; /* large path buffers: not on the stack */
    r.s = default_settings();
    int rc = parse_options(argc, argv, train_options, &r.s);
    if (rc >= 1000)
        return rc - 1000;
    if (!r.s.text && !r.s.resume) {
        fprintf(stderr, PROG ": train needs --text FILE (or --resume)\n");
        return cli_usage_error(PROG);
    }
    r.lock_fd = -1;
    r.tty = isatty(STDOUT_FILENO);
    cli_catch_interrupts(1); /* SIGTERM too: a text run saves, and --resume continues it */

    rc = prepare(&r);
    if (rc == 0)
        rc = settle(&r, argc + 1, argv - 1);
    if (rc == 0) {
        if (!r.s.quiet)
            printf("%s: %zu training and %zu held-out lines from %s, V %zu (the end symbol "
                   "included), T %zu; H %d, E %d, L %d; epoch %llu of %d done\n", r.dir,
                   seqgen_symbol_dataset_count(r.train), seqgen_symbol_dataset_count(r.test),
                   r.s.text, seqgen_vocab_size(r.vocab), seqgen_symbol_dataset_steps(r.train),
                   r.s.hidden, r.s.embedding, r.s.layers, (unsigned long long)r.state.epoch,
                   r.s.epochs);
        rc = train_loop(&r);
    }
    seqgen_symbol_iter_free(r.state.symbol_batches);
    seqgen_optim_free(r.state.optim);
    seqgen_model_free(r.model);
    seqgen_symbol_dataset_free(r.test);
    seqgen_symbol_dataset_free(r.train);
    seqgen_vocab_free(r.vocab);
    if (r.lock_fd >= 0)
        close(r.lock_fd);
    return rc;
}

/* ---- generate --------------------------------------------------------------------------------- */

/* Sequences generated per call: bounded memory; a multiple of 64, so that cutting the set into
 * calls (each given its first stream) gives the same lines as one call. */
#define GENERATE_CHUNK 4096

/* Generates and prints s->count lines; 0 or exit code 1 after printing why. */
static int generate_lines(const settings *s, const seqgen_model *model, const seqgen_vocab *vocab,
                          const int32_t *prefix, size_t prefix_length, int max_steps)
{
    size_t chunk = (size_t)s->count < GENERATE_CHUNK ? (size_t)s->count : GENERATE_CHUNK;
    int32_t *ids = malloc(chunk * (size_t)max_steps * sizeof *ids);
    size_t *lengths = malloc(chunk * sizeof *lengths);
    char *text = malloc(4 * (size_t)max_steps + 2);
    int rc = ids && lengths && text ? 0 : cli_error(PROG, "out of memory", NULL);
    seqgen_generate_options o = seqgen_generate_options_default();
    o.decode = s->greedy ? SEQGEN_DECODE_GREEDY : SEQGEN_DECODE_SAMPLE;
    o.temperature = s->temperature, o.top_k = s->top_k, o.top_p = s->top_p;
    o.end_symbol = SEQGEN_VOCAB_END, o.seed = s->seed;
    for (size_t done = 0; rc == 0 && done < (size_t)s->count; done += chunk) {
        size_t n = (size_t)s->count - done < chunk ? (size_t)s->count - done : chunk;
        for (size_t b = 0; b < n; b++) {
            memcpy(ids + b * (size_t)max_steps, prefix, prefix_length * sizeof *ids);
            lengths[b] = prefix_length;
        }
        o.first_stream = done;
        int status = seqgen_generate(model, ids, prefix_length ? lengths : NULL, n, max_steps, &o,
                                     ids, lengths, NULL);
        if (status != SEQGEN_OK) {
            rc = cli_fail(PROG, "cannot generate", status);
            break;
        }
        for (size_t b = 0; rc == 0 && b < n; b++) {
            /* The last place is the end symbol's: a character there is one too many. */
            const int32_t *row = ids + b * (size_t)max_steps;
            size_t used = lengths[b] == (size_t)max_steps && row[max_steps - 1] != SEQGEN_VOCAB_END
                              ? lengths[b] - 1 : lengths[b];
            size_t bytes;
            status = seqgen_vocab_decode(vocab, row, used, text, 4 * (size_t)max_steps + 1,
                                         &bytes);
            if (status != SEQGEN_OK)
                rc = cli_fail(PROG, "cannot decode", status);
            else {
                text[bytes] = '\n';
                if (fwrite(text, 1, bytes + 1, stdout) != bytes + 1)
                    rc = cli_error(PROG, "cannot write the standard output", strerror(errno));
            }
        }
    }
    if (rc == 0 && fflush(stdout) != 0)
        rc = cli_error(PROG, "cannot write the standard output", strerror(errno));
    free(text);
    free(lengths);
    free(ids);
    return rc;
}

static int command_generate(int argc, char **argv)
{
    settings s = default_settings();
    int rc = parse_options(argc, argv, generate_options, &s);
    if (rc >= 1000)
        return rc - 1000;
    if (!s.checkpoint) {
        fprintf(stderr, PROG ": generate needs --checkpoint FILE\n");
        return cli_usage_error(PROG);
    }
    signal(SIGXFSZ, SIG_IGN);
    seqgen_vocab *vocab = NULL;
    seqgen_model *model = NULL;
    int32_t *prefix = NULL;
    int status = seqgen_checkpoint_load_vocab(&vocab, s.checkpoint);
    if (status != SEQGEN_OK)
        return cli_fail(PROG, "cannot load the checkpoint", status);
    if (!vocab) {
        fprintf(stderr, PROG ": %s: no vocabulary in this checkpoint: not a model of text (write "
                        "one with '" PROG " train')\n", s.checkpoint);
        return CLI_EXIT_RUNTIME;
    }
    size_t plen = strlen(s.prefix), count = 0;
    rc = 0;
    if ((status = seqgen_checkpoint_load_model(&model, s.checkpoint)) != SEQGEN_OK)
        rc = cli_fail(PROG, "cannot load the checkpoint", status);
    else if (s.threads != seqgen_model_get_config(model).threads &&
             (status = seqgen_model_set_threads(model, s.threads)) != SEQGEN_OK)
        rc = cli_fail(PROG, "threads", status);
    else if (!(prefix = malloc((plen + 1) * sizeof *prefix)))
        rc = cli_error(PROG, "out of memory", NULL);
    else if ((status = seqgen_vocab_encode(vocab, s.prefix, plen, prefix, plen + 1, &count)) !=
             SEQGEN_OK) {
        char what[PATH_MAX + 64];
        snprintf(what, sizeof what, "--prefix (the vocabulary of %s)", s.checkpoint);
        rc = cli_fail(PROG, what, status);
    }
    if (rc == 0) {
        int steps = seqgen_model_get_config(model).steps;
        long long generated = s.max_length > 0 ? s.max_length : steps > 1 ? steps - 1 : 256;
        long long max_steps = (long long)count + generated + 1; /* prefix, characters, end */
        if (max_steps > INT_MAX)
            rc = cli_error(PROG, "--prefix too long", NULL);
        else
            rc = generate_lines(&s, model, vocab, prefix, count, (int)max_steps);
    }
    free(prefix);
    seqgen_model_free(model);
    seqgen_vocab_free(vocab);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
        usage();
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf(PROG " (libseqgen) %s\n", seqgen_version());
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "train") == 0)
        return command_train(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "generate") == 0)
        return command_generate(argc - 1, argv + 1);
    if (argc < 2)
        fprintf(stderr, PROG ": missing command: train or generate\n");
    else
        fprintf(stderr, PROG ": unknown command '%s': train or generate\n", argv[1]);
    return cli_usage_error(PROG);
}
