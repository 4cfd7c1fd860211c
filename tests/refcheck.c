/* The PyTorch reference checker (`make refcheck`): for each fixture file named on the command
 * line (format in tests/fixtures/README.md), loads the parameters by name into a model and
 * compares the probabilities, both losses, the gradients of both losses and the parameters
 * after one and two Adam steps with PyTorch's; for a fixture of the categorical model (one with
 * an `embedding.weight`), the probabilities, the cross-entropy and its gradients; for a fixture
 * of the linear autoregressive head (one with an `out.ar_weight`), the probabilities, both
 * losses, their gradients and two Adam steps, with lengths; the same for the MADE head (one with
 * an `out.made_in.weight` too, M from `out.made_cond.bias`); for both autoregressive heads also the
 * probabilities scored step by step with seqgen_model_step_units(). Prints the worst relative error of each record
 * (max |ours - theirs| / max |theirs|) and exits with 1 if any exceeds its tolerance or any
 * record is missing. Nothing here assumes a size: H, L, B, T come from `config`, D from
 * `weight_ih_l0`. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqgen.h"

#define TOL_FORWARD 1e-5 /* probabilities and losses */
#define TOL_GRAD 1e-4    /* gradients and Adam steps */

typedef struct record {
    char name[64];
    size_t count;
    double *values;
} record;

typedef struct fixture {
    const char *path;
    record *records;
    size_t n;
} fixture;

static void free_fixture(fixture *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->records[i].values);
    free(f->records);
}

/* Reads the next line that is not a comment or blank; 0 at end of file. */
static int next_line(FILE *fp, char **line, size_t *cap)
{
    while (getline(line, cap, fp) >= 0) {
        const char *p = *line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '#' && *p != '\n' && *p != '\r' && *p != '\0')
            return 1;
    }
    return 0;
}

/* Parses one record's value line into rec->values. */
static int parse_values(const fixture *f, record *rec, const char *line)
{
    rec->values = malloc((rec->count ? rec->count : 1) * sizeof *rec->values);
    if (!rec->values)
        return fprintf(stderr, "%s: out of memory for %s\n", f->path, rec->name), -1;
    const char *p = line;
    for (size_t i = 0; i < rec->count; i++) {
        char *end;
        rec->values[i] = strtod(p, &end);
        if (end == p)
            return fprintf(stderr, "%s: record %s: value %zu of %zu missing or not a number\n",
                           f->path, rec->name, i + 1, rec->count), -1;
        p = end;
    }
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    if (*p)
        return fprintf(stderr, "%s: record %s: more than %zu values\n", f->path, rec->name,
                       rec->count), -1;
    return 0;
}

static int load_fixture(fixture *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    FILE *fp = fopen(path, "r");
    if (!fp)
        return fprintf(stderr, "%s: cannot open\n", path), -1;
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    int status = 0;
    while (status == 0 && next_line(fp, &line, &cap)) {
        if (f->n == alloc) {
            alloc = alloc ? 2 * alloc : 64;
            record *grown = realloc(f->records, alloc * sizeof *grown);
            if (!grown) {
                status = -1;
                break;
            }
            f->records = grown;
        }
        record *rec = &f->records[f->n];
        memset(rec, 0, sizeof *rec);
        unsigned long long count;
        if (sscanf(line, "%63s %llu", rec->name, &count) != 2 || count > 100000000ULL) {
            fprintf(stderr, "%s: expected \"NAME COUNT\", got: %.60s\n", path, line);
            status = -1;
            break;
        }
        rec->count = count;
        f->n++;
        if (!next_line(fp, &line, &cap)) {
            fprintf(stderr, "%s: record %s has no value line\n", path, rec->name);
            status = -1;
            break;
        }
        status = parse_values(f, rec, line);
    }
    free(line);
    fclose(fp);
    if (status)
        free_fixture(f);
    return status;
}

static const record *find(const fixture *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->records[i].name, name) == 0)
            return &f->records[i];
    return NULL;
}

static const record *require(const fixture *f, const char *name, size_t count)
{
    const record *r = find(f, name);
    if (!r)
        fprintf(stderr, "%s: record %s missing\n", f->path, name);
    else if (count && r->count != count) {
        fprintf(stderr, "%s: record %s has %zu values, expected %zu\n", f->path, name, r->count,
                count);
        r = NULL;
    }
    return r;
}

/* Compares `ours` with the record `name`; prints and returns 0 if within tol, 1 if not. */
static int compare(const fixture *f, const char *name, const float *ours, size_t count, double tol)
{
    const record *r = require(f, name, count);
    if (!r)
        return 1;
    double max_err = 0.0, max_ref = 0.0;
    for (size_t i = 0; i < count; i++) {
        double err = fabs((double)ours[i] - r->values[i]);
        if (!(err <= max_err))
            max_err = err; /* NaN propagates as a failure */
        if (fabs(r->values[i]) > max_ref)
            max_ref = fabs(r->values[i]);
    }
    double rel = max_ref > 0.0 ? max_err / max_ref : max_err;
    int bad = !(rel <= tol);
    printf("  %-22s %8zu values  worst rel. error %.3e  (tol %.0e)%s\n", name, count, rel, tol,
           bad ? "  FAIL" : "");
    return bad;
}

static int report(int status, const char *what)
{
    if (status)
        fprintf(stderr, "  %s: %s: %s\n", what, seqgen_strerror(status), seqgen_last_error());
    return status != 0;
}

/* Sets every model tensor from the record of the same name. */
static int load_params(const fixture *f, seqgen_model *m)
{
    int failures = 0;
    for (int i = 0; i < seqgen_model_tensor_count(m); i++) {
        const char *name;
        int rows, cols;
        failures += report(seqgen_model_tensor_info(m, i, &name, &rows, &cols), "tensor info");
        const record *r = require(f, name, (size_t)rows * cols);
        if (!r) {
            failures++;
            continue;
        }
        float *v = malloc(r->count * sizeof *v);
        for (size_t k = 0; v && k < r->count; k++)
            v[k] = (float)r->values[k];
        failures += !v || report(seqgen_model_set_tensor(m, name, v, r->count), name);
        free(v);
    }
    return failures;
}

/* Compares every tensor of `m` (parameters or gradients) with records "prefix.NAME". */
static int compare_tensors(const fixture *f, seqgen_model *m, const char *prefix, int grads,
                           double tol)
{
    int failures = 0;
    for (int i = 0; i < seqgen_model_tensor_count(m); i++) {
        const char *name;
        int rows, cols;
        if (report(seqgen_model_tensor_info(m, i, &name, &rows, &cols), "tensor info"))
            return failures + 1;
        size_t count = (size_t)rows * cols;
        float *v = malloc(count * sizeof *v);
        char full[96];
        snprintf(full, sizeof full, "%s.%s", prefix, name);
        if (!v)
            return failures + 1;
        int status = grads ? seqgen_model_get_grad(m, name, v, count)
                           : seqgen_model_get_tensor(m, name, v, count);
        failures += report(status, name) || compare(f, full, v, count, tol);
        free(v);
    }
    return failures;
}

static float *to_float(const record *r)
{
    float *v = malloc(r->count * sizeof *v);
    for (size_t i = 0; v && i < r->count; i++)
        v[i] = (float)r->values[i];
    return v;
}

/* Loss of one pass against the record `loss_name`, gradients against "grad_prefix.NAME". */
static int check_loss(const fixture *f, seqgen_model *m, const float *in, const float *tgt, int B,
                      int T, seqgen_loss loss, const char *loss_name, const char *grad_prefix,
                      float *probs)
{
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = loss;
    seqgen_train_stats st;
    if (report(seqgen_model_forward_backward(m, &(seqgen_batch){in, tgt, 0, B, T, 0, NULL}, &opts, probs,
                                             &st),
               "forward_backward"))
        return 1;
    float loss_value = (float)st.loss;
    return compare(f, loss_name, &loss_value, 1, TOL_FORWARD) +
           compare_tensors(f, m, grad_prefix, 1, TOL_GRAD);
}

static int check_adam(const fixture *f, seqgen_model *m, const float *in, const float *tgt, int B,
                      int T)
{
    int failures = load_params(f, m);
    seqgen_optim_config cfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    seqgen_optim *opt = NULL;
    if (report(seqgen_optim_create(&opt, m, &cfg), "optim_create"))
        return failures + 1;
    const char *names[2] = {"adam1", "adam2"};
    for (int k = 0; k < 2; k++) {
        failures +=
            report(seqgen_model_forward_backward(m, &(seqgen_batch){in, tgt, 0, B, T, 0, NULL}, NULL, NULL,
                                                 NULL), "pass");
        failures += report(seqgen_optim_step(opt, m), "optim_step");
        failures += compare_tensors(f, m, names[k], 0, TOL_GRAD);
    }
    seqgen_optim_free(opt);
    return failures;
}

/* A fixture of the categorical model (tests/fixtures/make_symbols.py): `config` is V, E, H, L,
 * B, T, start_step; the pass over `sequences` with `lengths` is compared with PyTorch's
 * probabilities, cross-entropy (mean and per sequence) and every gradient. */
static int check_symbol_fixture(const fixture *f)
{
    const record *config = require(f, "config", 7);
    if (!config)
        return 1;
    int c[7];
    for (int i = 0; i < 7; i++)
        c[i] = (int)config->values[i];
    const int V = c[0], E = c[1], H = c[2], L = c[3], B = c[4], T = c[5], start = c[6];
    printf("%s: V=%d E=%d H=%d L=%d B=%d T=%d start_step=%d\n", f->path, V, E, H, L, B, T, start);
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.vocab = V, cfg.embedding = E, cfg.hidden = H, cfg.layers = L, cfg.start_step = start;
    seqgen_model *m = NULL;
    if (report(seqgen_model_create(&m, &cfg), "model_create"))
        return 1;
    const size_t width = (size_t)(T + 1 - start), n = (size_t)B * T * V;
    const record *seq_rec = require(f, "sequences", (size_t)B * width);
    const record *len_rec = require(f, "lengths", (size_t)B);
    int32_t *seqs = malloc((size_t)B * width * sizeof *seqs);
    size_t *lengths = malloc((size_t)B * sizeof *lengths);
    float *probs = malloc(n * sizeof *probs);
    int failures = !seq_rec || !len_rec || !seqs || !lengths || !probs;
    if (!failures) {
        for (size_t i = 0; i < seq_rec->count; i++)
            seqs[i] = (int32_t)seq_rec->values[i];
        for (int b = 0; b < B; b++)
            lengths[b] = (size_t)len_rec->values[b];
        failures += load_params(f, m);
        seqgen_symbol_batch batch = seqgen_symbol_batch_of_sequences(m, seqs, B, (int)width);
        batch.lengths = lengths;
        seqgen_train_options opts = seqgen_train_options_default();
        opts.loss = SEQGEN_LOSS_CE;
        seqgen_train_stats st;
        failures += report(seqgen_model_forward_backward_symbols(m, &batch, &opts, probs, &st),
                           "forward_backward_symbols");
        float loss = (float)st.loss, nll = (float)st.nll_nats;
        failures += compare(f, "prob", probs, n, TOL_FORWARD);
        failures += compare(f, "loss_ce", &loss, 1, TOL_FORWARD);
        failures += compare(f, "nll_nats", &nll, 1, TOL_FORWARD);
        failures += compare_tensors(f, m, "grad_ce", 1, TOL_GRAD);
    }
    free(seqs);
    free(lengths);
    free(probs);
    seqgen_model_free(m);
    return failures;
}

/* What the scoring chooser reads: each sequence's targets of the step being chosen ([B][D],
 * 0 after its length). */
typedef struct true_units {
    const float *step;
    int D;
} true_units;

static float choose_true_unit(void *context, int sequence, int unit, float logit)
{
    (void)logit;
    const true_units *c = context;
    return c->step[(size_t)sequence * c->D + unit];
}

/* The probabilities of the pass over `seqs` ([B][width][D], `lengths` or NULL) computed step by
 * step with seqgen_model_step_units() and a chooser returning the true units, into probs
 * [B][T][D] (0 after a sequence's counted predictions, as the pass writes them). Returns 1 on
 * a failed call. */
static int step_units_probs(seqgen_model *m, const float *seqs, const size_t *lengths, int B,
                            int T, int D, int start, float *probs)
{
    const int width = T + 1 - start;
    seqgen_model_state *st = NULL;
    float *x = malloc((size_t)B * D * sizeof *x), *next = malloc((size_t)B * D * sizeof *next);
    float *units = malloc((size_t)B * D * sizeof *units);
    float *logits = malloc((size_t)B * D * sizeof *logits);
    int failed = !x || !next || !units || !logits ||
                 report(seqgen_model_state_create(&st, m, B), "state_create");
    for (int t = 0; t < T && !failed; t++) { /* prediction t: of step t + 1 - start */
        for (int b = 0; b < B; b++) {
            const int length = lengths ? (int)lengths[b] : width;
            for (int d = 0; d < D; d++) {
                const int in = t - start, out = t + 1 - start;
                x[b * D + d] = in >= 0 && in < length ? seqs[((size_t)b * width + in) * D + d] : 0;
                next[b * D + d] = out < length ? seqs[((size_t)b * width + out) * D + d] : 0;
            }
        }
        true_units c = {next, D};
        failed = report(seqgen_model_step_units(m, st, x, choose_true_unit, &c, units, logits),
                        "step_units");
        for (int b = 0; b < B && !failed; b++) {
            const int counted = lengths ? (int)lengths[b] - 1 + start : T;
            for (int d = 0; d < D; d++)
                probs[((size_t)b * T + t) * D + d] =
                    t < counted ? (float)(1.0 / (1.0 + exp(-(double)logits[b * D + d]))) : 0.0f;
        }
    }
    seqgen_model_state_free(st);
    free(x), free(next), free(units), free(logits);
    return failed;
}

/* A fixture of the linear autoregressive head or of the MADE head (tests/fixtures/
 * make_ar_head.py): `config` is D, H, L, B, T, start_step; the pass over `sequences` (with
 * `lengths` if present) is compared with PyTorch's probabilities, both losses, nll_nats, the
 * gradients of both losses (every tensor's), and the parameters after two Adam steps on the
 * BCE; the probabilities also as seqgen_model_step_units() gives them, one step and unit at a
 * time with the true units chosen. */
static int check_ar_fixture(const fixture *f)
{
    const record *config = require(f, "config", 6);
    if (!config)
        return 1;
    int c[6];
    for (int i = 0; i < 6; i++)
        c[i] = (int)config->values[i];
    const int D = c[0], H = c[1], L = c[2], B = c[3], T = c[4], start = c[5];
    const record *made = find(f, "out.made_cond.bias");
    const int M = made ? (int)made->count : 0;
    printf("%s: D=%d H=%d L=%d B=%d T=%d start_step=%d, %s autoregressive head%s\n", f->path, D,
           H, L, B, T, start, made ? "MADE" : "linear", find(f, "lengths") ? ", lengths" : "");
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = D, cfg.hidden = H, cfg.layers = L, cfg.start_step = start;
    cfg.head = made ? SEQGEN_HEAD_MADE_AR : SEQGEN_HEAD_LINEAR_AR;
    cfg.head_hidden = M;
    seqgen_model *m = NULL;
    if (report(seqgen_model_create(&m, &cfg), "model_create"))
        return 1;
    const size_t width = (size_t)(T + 1 - start), n = (size_t)B * T * D;
    const record *seq_rec = require(f, "sequences", (size_t)B * width * D);
    const record *len_rec = find(f, "lengths") ? require(f, "lengths", (size_t)B) : NULL;
    float *seqs = seq_rec ? to_float(seq_rec) : NULL;
    size_t *lengths = malloc((size_t)B * sizeof *lengths);
    float *probs = malloc(n * sizeof *probs);
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    seqgen_optim *opt = NULL;
    int failures = !seqs || !lengths || !probs || (find(f, "lengths") && !len_rec);
    if (!failures) {
        for (int b = 0; len_rec && b < B; b++)
            lengths[b] = (size_t)len_rec->values[b];
        failures += load_params(f, m);
        seqgen_batch batch = seqgen_batch_of_sequences(m, seqs, B, (int)width);
        batch.lengths = len_rec ? lengths : NULL;
        seqgen_train_options opts = seqgen_train_options_default();
        seqgen_train_stats st;
        opts.loss = SEQGEN_LOSS_MSE;
        failures += report(seqgen_model_forward_backward(m, &batch, &opts, probs, &st), "MSE");
        float loss = (float)st.loss;
        failures += compare(f, "prob", probs, n, TOL_FORWARD);
        printf("  seqgen_model_step_units, the true units chosen:\n");
        failures += step_units_probs(m, seqs, len_rec ? lengths : NULL, B, T, D, start, probs);
        failures += compare(f, "prob", probs, n, TOL_FORWARD);
        failures += compare(f, "loss_mse", &loss, 1, TOL_FORWARD);
        failures += compare_tensors(f, m, "grad_mse", 1, TOL_GRAD);
        opts.loss = SEQGEN_LOSS_BCE;
        failures += report(seqgen_model_forward_backward(m, &batch, &opts, NULL, &st), "BCE");
        float bce = (float)st.loss, nll = (float)st.nll_nats;
        failures += compare(f, "loss_bce", &bce, 1, TOL_FORWARD);
        failures += compare(f, "nll_nats", &nll, 1, TOL_FORWARD);
        failures += compare_tensors(f, m, "grad_bce", 1, TOL_GRAD);
        failures += report(seqgen_optim_create(&opt, m, &ocfg), "optim_create");
        const char *names[2] = {"adam1", "adam2"};
        for (int k = 0; k < 2 && opt; k++) {
            failures += report(seqgen_model_forward_backward(m, &batch, &opts, NULL, NULL), "pass");
            failures += report(seqgen_optim_step(opt, m), "optim_step");
            failures += compare_tensors(f, m, names[k], 0, TOL_GRAD);
        }
    }
    seqgen_optim_free(opt);
    free(seqs);
    free(lengths);
    free(probs);
    seqgen_model_free(m);
    return failures;
}

static int check_fixture(const fixture *f)
{
    if (find(f, "out.ar_weight"))
        return check_ar_fixture(f);
    if (find(f, "embedding.weight"))
        return check_symbol_fixture(f);
    const record *config = require(f, "config", 4);
    const record *w_ih = find(f, "weight_ih_l0");
    if (!config || !w_ih)
        return 1;
    const int H = (int)config->values[0], L = (int)config->values[1];
    const int B = (int)config->values[2], T = (int)config->values[3];
    if (H < 1 || L < 1 || B < 1 || T < 1 || w_ih->count % (3 * (size_t)H))
        return fprintf(stderr, "%s: bad config H=%d L=%d B=%d T=%d\n", f->path, H, L, B, T), 1;
    const int D = (int)(w_ih->count / (3 * (size_t)H));
    printf("%s: H=%d L=%d B=%d T=%d D=%d\n", f->path, H, L, B, T, D);

    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.hidden = H, cfg.layers = L, cfg.units_per_step = D;
    seqgen_model *m = NULL;
    if (report(seqgen_model_create(&m, &cfg), "model_create"))
        return 1;
    const size_t n = (size_t)B * T * D;
    const record *in_rec = require(f, "input", n), *tgt_rec = require(f, "target", n);
    float *in = in_rec ? to_float(in_rec) : NULL, *tgt = tgt_rec ? to_float(tgt_rec) : NULL;
    float *probs = malloc(n * sizeof *probs);
    int failures = !in || !tgt || !probs;
    if (!failures) {
        failures += load_params(f, m);
        failures += check_loss(f, m, in, tgt, B, T, SEQGEN_LOSS_MSE, "loss_mse", "grad_mse", probs);
        failures += compare(f, "prob", probs, n, TOL_FORWARD);
        failures += check_loss(f, m, in, tgt, B, T, SEQGEN_LOSS_BCE, "loss_bce", "grad_bce", probs);
        failures += check_adam(f, m, in, tgt, B, T);
    }
    free(in);
    free(tgt);
    free(probs);
    seqgen_model_free(m);
    return failures;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FIXTURE.txt...\n", argv[0]);
        return 2;
    }
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        fixture f;
        if (load_fixture(&f, argv[i])) {
            failed++;
            continue;
        }
        int failures = check_fixture(&f);
        printf("%s: %s\n", argv[i], failures ? "FAILED" : "ok");
        failed += failures != 0;
        free_fixture(&f);
    }
    printf("refcheck: %d of %d fixture files failed\n", failed, argc - 1);
    return failed ? 1 : 0;
}
