/* libseqgen on a word list, for the side by side comparison with PyTorch (issue 22, item 6;
 * bench/pytorch_words.py is the same run in PyTorch, bench/words.sh runs both).
 *
 * One word per line, each character a symbol and the end symbol after each word, as
 * seqgen_symbol_dataset_open_text() reads it (docs/symbols.md); every k-th non-empty line held
 * out. Model: embedding E, one GRU layer of H units, linear to V, a start step (a zero input
 * before the first symbol, so every symbol is predicted, the end symbol included), cross-entropy
 * over the real symbols, Adam. A fixed number of epochs of shuffled batches (the iterator's
 * shuffle, seeded with --seed, as are the initial weights). Only the training loop is timed
 * (batching, the passes and the optimiser); the held-out NLL after each epoch is not. Prints the
 * test NLL in nats per symbol (per character, the end symbol counted as one), the training time
 * and symbols/s, and as its last line one JSON object (keys as bench/pytorch_words.py's). */

#define _GNU_SOURCE /* getopt_long, clock_gettime */

#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "seqgen.h"

typedef struct words_options {
    const char *data;
    int embedding, hidden, batch, epochs, threads, holdout, eval_batch;
    double lr;
    uint64_t seed;
} words_options;

static int fail(const char *what, int status)
{
    fprintf(stderr, "words: %s: %s (%s)\n", what, seqgen_strerror(status), seqgen_last_error());
    return 1;
}

/* Symbols counted in `ds` (the end symbols included) and a checksum of its ids, which
 * bench/pytorch_words.py computes the same way: sum over sequences i and positions t of
 * (id + 1) * (t + 1) * (i % 1000 + 1), modulo 2^61 - 1. */
static void describe(const seqgen_symbol_dataset *ds, uint64_t *symbols, uint64_t *checksum)
{
    const uint64_t mod = (UINT64_C(1) << 61) - 1;
    uint64_t total = 0, sum = 0;
    for (size_t i = 0; i < seqgen_symbol_dataset_count(ds); i++) {
        const int32_t *ids = seqgen_symbol_dataset_sequence(ds, i);
        const size_t n = seqgen_symbol_dataset_length(ds, i);
        total += n;
        for (size_t t = 0; t < n; t++)
            sum = (sum + (uint64_t)(ids[t] + 1) * (t + 1) * (i % 1000 + 1)) % mod;
    }
    *symbols = total, *checksum = sum;
}

/* The held-out NLL in nats per symbol: the sum of every sequence's cross-entropy over all
 * counted symbols, in batches of `batch` in dataset order. */
static int evaluate(seqgen_model *model, const seqgen_symbol_dataset *test, int batch,
                    double *nll)
{
    seqgen_batch_config cfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    cfg.batch_size = (size_t)batch, cfg.shuffle = 0;
    seqgen_symbol_iter *it;
    int status = seqgen_symbol_iter_create(&it, test, &cfg);
    if (status)
        return status;
    double sum = 0;
    uint64_t count = 0;
    const int32_t *symbols;
    size_t n;
    while ((status = seqgen_symbol_iter_next(it, &symbols, &n)) == SEQGEN_OK) {
        seqgen_symbol_batch b = seqgen_symbol_batch_of_sequences(
            model, symbols, (int)n, (int)seqgen_symbol_iter_steps(it));
        b.lengths = seqgen_symbol_iter_lengths(it);
        seqgen_train_stats stats;
        status = seqgen_model_evaluate_symbols(model, &b, NULL, &stats);
        if (status)
            break;
        sum += stats.loss * (double)stats.predictions;
        count += stats.predictions;
    }
    seqgen_symbol_iter_free(it);
    if (status != SEQGEN_DONE)
        return status;
    *nll = sum / (double)count;
    return SEQGEN_OK;
}

static void usage(FILE *to, const char *program)
{
    fprintf(to,
            "Usage: %s [options]\n"
            "Trains a character model of a word list with libseqgen and prints the held-out\n"
            "NLL per character and the training speed; the last line is one JSON object.\n"
            "  --data FILE      one word per line (/usr/share/dict/words)\n"
            "  --holdout K      every K-th non-empty line held out (10)\n"
            "  --embedding E    embedding width (32)\n"
            "  --hidden H       GRU units (128)\n"
            "  --batch B        training batch size (64)\n"
            "  --epochs N       training epochs (2)\n"
            "  --lr LR          Adam's learning rate (0.002)\n"
            "  --seed S         initial weights and shuffle (1)\n"
            "  --threads N      threads of the training passes (0: all cores)\n"
            "  --help\n",
            program);
}

static int parse_int(const char *text, const char *name, int low, int *value)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < low || v > 1000000) {
        fprintf(stderr, "words: %s must be an integer in %d..1000000, got '%s'\n", name, low,
                text);
        return -1;
    }
    *value = (int)v;
    return 0;
}

static int parse_options(int argc, char **argv, words_options *opt)
{
    static const struct option longs[] = {
        {"data", required_argument, NULL, 'd'},   {"holdout", required_argument, NULL, 'k'},
        {"embedding", required_argument, NULL, 'e'}, {"hidden", required_argument, NULL, 'H'},
        {"batch", required_argument, NULL, 'b'},  {"epochs", required_argument, NULL, 'n'},
        {"lr", required_argument, NULL, 'l'},     {"seed", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    *opt = (words_options){"/usr/share/dict/words", 32, 128, 64, 2, 0, 10, 256, 2e-3, 1};
    int c, seed;
    char *end;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'd': opt->data = optarg; break;
        case 'k': bad = parse_int(optarg, "--holdout", 2, &opt->holdout); break;
        case 'e': bad = parse_int(optarg, "--embedding", 1, &opt->embedding); break;
        case 'H': bad = parse_int(optarg, "--hidden", 1, &opt->hidden); break;
        case 'b': bad = parse_int(optarg, "--batch", 1, &opt->batch); break;
        case 'n': bad = parse_int(optarg, "--epochs", 1, &opt->epochs); break;
        case 't': bad = parse_int(optarg, "--threads", 0, &opt->threads); break;
        case 's':
            bad = parse_int(optarg, "--seed", 0, &seed);
            opt->seed = (uint64_t)seed;
            break;
        case 'l':
            opt->lr = strtod(optarg, &end);
            bad = *optarg == '\0' || *end != '\0' || !(opt->lr > 0 && opt->lr < 1);
            if (bad)
                fprintf(stderr, "words: --lr must be in (0, 1), got '%s'\n", optarg);
            break;
        case 'h': usage(stdout, argv[0]); exit(0);
        default: bad = 1;
        }
        if (bad) {
            usage(stderr, argv[0]);
            return -1;
        }
    }
    return optind == argc ? 0 : -1;
}

int main(int argc, char **argv)
{
    words_options opt;
    if (parse_options(argc, argv, &opt))
        return 2;

    seqgen_text_options topts = seqgen_text_options_default();
    topts.holdout_every = (size_t)opt.holdout;
    seqgen_symbol_dataset *train = NULL, *test = NULL;
    seqgen_vocab *vocab = NULL;
    int status = seqgen_symbol_dataset_open_text(&train, &test, &vocab, opt.data, &topts);
    if (status)
        return fail(opt.data, status);
    const size_t V = seqgen_vocab_size(vocab);
    uint64_t train_symbols, train_sum, test_symbols, test_sum;
    describe(train, &train_symbols, &train_sum);
    describe(test, &test_symbols, &test_sum);
    printf("data %s: V %zu, T %zu; training %zu words, %llu symbols (checksum %llu); held out "
           "%zu words, %llu symbols (checksum %llu)\n",
           opt.data, V, seqgen_symbol_dataset_steps(train), seqgen_symbol_dataset_count(train),
           (unsigned long long)train_symbols, (unsigned long long)train_sum,
           seqgen_symbol_dataset_count(test), (unsigned long long)test_symbols,
           (unsigned long long)test_sum);

    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.vocab = (int)V, cfg.embedding = opt.embedding, cfg.hidden = opt.hidden, cfg.layers = 1;
    cfg.start_step = 1, cfg.seed = opt.seed, cfg.threads = opt.threads;
    seqgen_model *model = NULL;
    seqgen_optim *optim = NULL;
    seqgen_symbol_iter *it = NULL;
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    ocfg.lr = opt.lr;
    seqgen_batch_config bcfg = SEQGEN_BATCH_CONFIG_DEFAULT;
    bcfg.batch_size = (size_t)opt.batch, bcfg.shuffle = 1, bcfg.seed = opt.seed;
    const char *what = "seqgen_model_create";
    status = seqgen_model_create(&model, &cfg);
    if (!status)
        what = "seqgen_optim_create", status = seqgen_optim_create(&optim, model, &ocfg);
    if (!status)
        what = "seqgen_symbol_iter_create", status = seqgen_symbol_iter_create(&it, train, &bcfg);
    const int threads = seqgen_model_get_config(model).threads;
    printf("libseqgen: E %d, H %d, V %zu, batch %d, Adam lr %g, %d epochs, seed %llu, "
           "%d threads\n",
           opt.embedding, opt.hidden, V, opt.batch, opt.lr, opt.epochs,
           (unsigned long long)opt.seed, threads);

    seqgen_train_options tro = seqgen_train_options_default();
    tro.loss = SEQGEN_LOSS_CE;
    double train_seconds = 0, train_cpu = 0, test_nll = NAN, last_loss = NAN;
    uint64_t trained_symbols = 0, steps = 0;
    for (int epoch = 0; !status && epoch < opt.epochs; epoch++) {
        double loss_sum = 0;
        uint64_t loss_count = 0;
        const double wall = now_seconds(), cpu = cpu_seconds();
        const int32_t *symbols;
        size_t n;
        while ((status = seqgen_symbol_iter_next(it, &symbols, &n)) == SEQGEN_OK) {
            seqgen_symbol_batch b = seqgen_symbol_batch_of_sequences(
                model, symbols, (int)n, (int)seqgen_symbol_iter_steps(it));
            b.lengths = seqgen_symbol_iter_lengths(it);
            seqgen_train_stats stats;
            what = "seqgen_model_forward_backward_symbols";
            status = seqgen_model_forward_backward_symbols(model, &b, &tro, NULL, &stats);
            if (!status)
                what = "seqgen_optim_step", status = seqgen_optim_step(optim, model);
            if (status)
                break;
            loss_sum += stats.loss * (double)stats.predictions;
            loss_count += stats.predictions;
            steps++;
        }
        train_seconds += now_seconds() - wall;
        train_cpu += cpu_seconds() - cpu;
        if (status != SEQGEN_DONE)
            break;
        trained_symbols += loss_count;
        last_loss = loss_sum / (double)loss_count;
        what = "evaluate", status = evaluate(model, test, opt.eval_batch, &test_nll);
        printf("epoch %d: training loss %.4f nats/symbol, held-out NLL %.4f nats/symbol "
               "(%.4f bits), %.1f s of training so far\n",
               epoch + 1, last_loss, test_nll, test_nll / log(2.0), train_seconds);
    }
    if (status)
        fail(what, status);
    else {
        printf("test NLL %.4f nats per character (the end symbol counted as one character)\n"
               "training %.2f s (%.2f s CPU), %llu steps, %.0f symbols/s\n",
               test_nll, train_seconds, train_cpu, (unsigned long long)steps,
               (double)trained_symbols / train_seconds);
        printf("{\"implementation\": \"libseqgen\", \"test_nll\": %.6f, \"train_loss\": %.6f, "
               "\"train_seconds\": %.3f, \"train_cpu_seconds\": %.3f, \"symbols_per_s\": %.1f, "
               "\"steps\": %llu, \"threads\": %d, \"seed\": %llu, \"embedding\": %d, "
               "\"hidden\": %d, \"batch\": %d, \"epochs\": %d, \"lr\": %g, \"vocab\": %zu, "
               "\"steps_T\": %zu, \"train_words\": %zu, \"test_words\": %zu, "
               "\"train_symbols\": %llu, \"test_symbols\": %llu, \"train_checksum\": %llu, "
               "\"test_checksum\": %llu}\n",
               test_nll, last_loss, train_seconds, train_cpu,
               (double)trained_symbols / train_seconds, (unsigned long long)steps, threads,
               (unsigned long long)opt.seed, opt.embedding, opt.hidden, opt.batch, opt.epochs,
               opt.lr, V, seqgen_symbol_dataset_steps(train), seqgen_symbol_dataset_count(train),
               seqgen_symbol_dataset_count(test), (unsigned long long)train_symbols,
               (unsigned long long)test_symbols, (unsigned long long)train_sum,
               (unsigned long long)test_sum);
    }
    seqgen_symbol_iter_free(it);
    seqgen_optim_free(optim);
    seqgen_model_free(model);
    seqgen_vocab_free(vocab);
    seqgen_symbol_dataset_free(test);
    seqgen_symbol_dataset_free(train);
    return status ? 1 : 0;
}
