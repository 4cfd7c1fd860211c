/* seqgen-convert: a model between libseqgen's checkpoints and safetensors files (PyTorch).
 *
 * Thin by design: the direction comes from the input's first bytes (a checkpoint's magic, else
 * safetensors), the conversion is two library calls (seqgen_safetensors.h, seqgen.h). */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>

#include "cli.h"
#include "seqgen.h"
#include "seqgen_safetensors.h"

#define PROG "seqgen-convert"

/* The first bytes of every checkpoint (docs/checkpoint-format.md). */
static const unsigned char checkpoint_magic[8] = {0x89, 'S', 'G', 'C', 'K', 0x0d, 0x0a, 0x1a};

enum option_id {
    OPT_PREFIX = 256, OPT_GRU, OPT_LINEAR, OPT_EMBEDDING, OPT_START_STEP, OPT_STEPS, OPT_HELP,
    OPT_VERSION
};

static const struct option long_options[] = {
    {"prefix", required_argument, NULL, OPT_PREFIX},
    {"gru", required_argument, NULL, OPT_GRU},
    {"linear", required_argument, NULL, OPT_LINEAR},
    {"embedding", required_argument, NULL, OPT_EMBEDDING},
    {"start-step", no_argument, NULL, OPT_START_STEP},
    {"steps", required_argument, NULL, OPT_STEPS},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static void usage(void)
{
    printf("Usage: " PROG " [OPTION]... INPUT OUTPUT\n"
           "Convert a model between a libseqgen checkpoint and a safetensors file, the format\n"
           "PyTorch models are shared in. The direction comes from INPUT's content, not its name:\n"
           "a checkpoint (model or training; the model is taken) becomes a safetensors file of\n"
           "F32 tensors; a safetensors file (F32, F16 or BF16) becomes a model checkpoint.\n"
           "Tensor names are PyTorch's: PREFIX GRU.weight_ih_l0 ... PREFIX LINEAR.weight,\n"
           "PREFIX LINEAR.bias, and for a model of symbols PREFIX EMBEDDING.weight. The original\n"
           "project's model is --gru rnn --linear linear.\n"
           "\n"
           "  --prefix P         put in front of every name, as it is, e.g. 'model.' ('')\n"
           "  --gru NAME         the GRU module's name; '' for none: weight_ih_l0 ('')\n"
           "  --linear NAME      the output layer's name; '' for none: weight, bias (out)\n"
           "  --embedding NAME   a model of symbols: the embedding's name (embedding)\n"
           "  --start-step       safetensors input without libseqgen's metadata: the model reads\n"
           "                     a step of zeros first (off: the original project)\n"
           "  --steps T          safetensors input without libseqgen's metadata: the model is for\n"
           "                     sequences of T steps, 0 = any length (0)\n"
           "  --help             show this and exit\n"
           "  --version          show the version and exit\n"
           "Exit status: 0 done, 1 runtime error, 2 usage error.\n");
}

/* 1 if the file starts with a checkpoint's magic, 0 if not, -1 if it cannot be read. */
static int is_checkpoint(const char *path)
{
    unsigned char head[sizeof checkpoint_magic];
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, head, sizeof head);
    close(fd);
    return n == (ssize_t)sizeof head && memcmp(head, checkpoint_magic, sizeof head) == 0;
}

int main(int argc, char **argv)
{
    seqgen_safetensors_options opts = seqgen_safetensors_options_default();
    int id, only_safetensors = 0;
    while ((id = cli_getopt(argc, argv, PROG, long_options)) != -1) {
        switch (id) {
        case OPT_PREFIX: opts.prefix = optarg; break;
        case OPT_GRU: opts.gru_module = optarg; break;
        case OPT_LINEAR: opts.linear_module = optarg; break;
        case OPT_EMBEDDING: opts.embedding_module = optarg; break;
        case OPT_START_STEP: opts.start_step = 1, only_safetensors = 1; break;
        case OPT_STEPS:
            if (cli_parse_int(PROG, "steps", optarg, 0, INT_MAX, &opts.steps) != 0)
                return cli_usage_error(PROG);
            only_safetensors = 1;
            break;
        case OPT_HELP: usage(); return 0;
        case OPT_VERSION: printf(PROG " (libseqgen) %s\n", seqgen_version()); return 0;
        default: return cli_usage_error(PROG);
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, PROG ": expected INPUT and OUTPUT, got %d argument%s\n", argc - optind,
                argc - optind == 1 ? "" : "s");
        return cli_usage_error(PROG);
    }
    const char *input = argv[optind], *output = argv[optind + 1];
    seqgen_model *model = NULL;
    int status, checkpoint = is_checkpoint(input);
    if (checkpoint == 1) {
        if (only_safetensors) {
            fprintf(stderr, PROG ": --start-step and --steps apply to safetensors input; %s is a "
                    "checkpoint, whose model has its own\n", input);
            return cli_usage_error(PROG);
        }
        if ((status = seqgen_checkpoint_load_model(&model, input)) != SEQGEN_OK)
            return cli_fail(PROG, "cannot read the checkpoint", status);
        status = seqgen_model_save_safetensors(output, model, &opts);
    } else {
        /* not a checkpoint (or unreadable): the safetensors loader says what is wrong */
        if ((status = seqgen_model_load_safetensors(&model, input, &opts)) != SEQGEN_OK)
            return cli_fail(PROG, "cannot read the safetensors file", status);
        status = seqgen_checkpoint_save(output, model, NULL);
    }
    if (status != SEQGEN_OK) {
        seqgen_model_free(model);
        return cli_fail(PROG, "cannot write the output", status);
    }
    seqgen_model_config cfg = seqgen_model_get_config(model);
    char kind[64] = "";
    if (cfg.vocab > 0)
        snprintf(kind, sizeof kind, ", %d symbols embedded in %d", cfg.vocab, cfg.embedding);
    else if (cfg.head == SEQGEN_HEAD_LINEAR_AR)
        snprintf(kind, sizeof kind, ", linear autoregressive head");
    else if (cfg.head == SEQGEN_HEAD_MADE_AR)
        snprintf(kind, sizeof kind, ", MADE autoregressive head of %d hidden units",
                 cfg.head_hidden);
    printf("%s -> %s: %s, D %d, H %d, L %d%s, start step %d, steps %d\n", input, output,
           checkpoint == 1 ? "checkpoint to safetensors" : "safetensors to model checkpoint",
           cfg.units_per_step, cfg.hidden, cfg.layers, kind, cfg.start_step, cfg.steps);
    seqgen_model_free(model);
    return 0;
}
