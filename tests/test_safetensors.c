/* libseqgen-safetensors: round trips, the original project's names, F16 and BF16 converted
 * exactly, every refusal of the loader (each with its status and a detail naming the file and
 * the tensor, key or byte), and the committed PyTorch fixture completed as PyTorch completed
 * it (tests/fixtures/safetensors, made by scripts/pytorch_safetensors.py). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seqgen.h"
#include "seqgen_safetensors.h"

#define FIXTURE_DIR "tests/fixtures/safetensors/"

static int setup(void **state) { return tu_file_setup(state, "model.safetensors"); }
static int teardown(void **state) { return tu_file_teardown(state); }

/* Loads `path` with `opts` and checks the status, that the detail starts with the path and
 * holds every fragment given (up to three, NULL for fewer), and that *out was left alone. */
static void expect_refused(const char *path, const seqgen_safetensors_options *opts, int status,
                           const char *a, const char *b, const char *c)
{
    seqgen_model *m = (seqgen_model *)&m;
    int got = seqgen_model_load_safetensors(&m, path, opts);
    const char *detail = seqgen_last_error();
    const char *fragments[] = {a, b, c};
    int ok = got == status && strncmp(detail, path, strlen(path)) == 0;
    for (int i = 0; i < 3; i++)
        ok = ok && (!fragments[i] || strstr(detail, fragments[i]));
    if (!ok)
        fail_msg("expected %s with \"%s\", \"%s\", \"%s\"; got %d (%s): %s", seqgen_strerror(status),
                 a ? a : "", b ? b : "", c ? c : "", got, seqgen_strerror(got), detail);
    assert_ptr_equal(m, (seqgen_model *)&m);
}

/* ---- Files made here ------------------------------------------------------------------------ */

/* One tensor of a hand-made header. */
typedef struct spec {
    const char *name, *dtype, *shape;
    unsigned long long begin, end;
} spec;

/* The tensors of a model of D 1, H 2, L 1 in F32: 33 floats, 132 bytes. */
#define SMALL_COUNT 6
static const spec small[SMALL_COUNT] = {
    {"weight_ih_l0", "F32", "[6, 1]", 0, 24},  {"weight_hh_l0", "F32", "[6, 2]", 24, 72},
    {"bias_ih_l0", "F32", "[6]", 72, 96},      {"bias_hh_l0", "F32", "[6]", 96, 120},
    {"out.weight", "F32", "[1, 2]", 120, 128}, {"out.bias", "F32", "[1]", 128, 132},
};
#define SMALL_BYTES 132

/* Writes a file: the 8-byte length of `header`, the header, `size` bytes of `data`. */
static void write_raw(const char *path, const char *header, const void *data, size_t size)
{
    size_t n = strlen(header);
    unsigned char *buf = malloc(8 + n + size);
    assert_non_null(buf);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((unsigned long long)n >> (8 * i));
    memcpy(buf + 8, header, n);
    if (size)
        memcpy(buf + 8 + n, data, size);
    tu_write_file(path, buf, 8 + n + size);
    free(buf);
}

/* The header of `count` tensors, after `extra` (e.g. a "__metadata__" entry and its comma). */
static const char *make_header(const spec *s, int count, const char *extra)
{
    static char text[8192];
    size_t at = (size_t)snprintf(text, sizeof text, "{%s", extra ? extra : "");
    for (int i = 0; i < count; i++)
        at += (size_t)snprintf(text + at, sizeof text - at,
                               "%s\"%s\": {\"dtype\": \"%s\", \"shape\": %s, \"data_offsets\": [%llu, %llu]}",
                               i ? ", " : "", s[i].name, s[i].dtype, s[i].shape, s[i].begin, s[i].end);
    snprintf(text + at, sizeof text - at, "}");
    return text;
}

/* The 33 values of the small model, in F32 little-endian (this machine's order, checked). */
static const unsigned char *small_data(void)
{
    static unsigned char data[SMALL_BYTES];
    const uint16_t probe = 1;
    assert_int_equal(*(const unsigned char *)&probe, 1);
    for (int i = 0; i < SMALL_BYTES / 4; i++) {
        float v = 0.03125f * (float)(i - 16);
        memcpy(data + 4 * i, &v, 4);
    }
    return data;
}

/* The small model's file with tensor `which` replaced by `with` (which < 0: none). */
static void write_small(const char *path, int which, spec with, const char *extra)
{
    spec s[SMALL_COUNT];
    memcpy(s, small, sizeof s);
    if (which >= 0)
        s[which] = with;
    write_raw(path, make_header(s, SMALL_COUNT, extra), small_data(), SMALL_BYTES);
}

/* ---- Round trips -------------------------------------------------------------------------- */

static void expect_same_model(const seqgen_model *a, const seqgen_model *b)
{
    seqgen_model_config x = seqgen_model_get_config(a), y = seqgen_model_get_config(b);
    assert_int_equal(x.units_per_step, y.units_per_step);
    assert_int_equal(x.hidden, y.hidden);
    assert_int_equal(x.layers, y.layers);
    assert_int_equal(x.start_step, y.start_step);
    assert_int_equal(x.steps, y.steps);
    assert_true(x.seed == y.seed);
    size_t n = seqgen_model_param_count(a);
    assert_int_equal(n, seqgen_model_param_count(b));
    for (int i = 0; i < seqgen_model_tensor_count(a); i++) {
        const char *name;
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(a, i, &name, &rows, &cols));
        size_t count = (size_t)rows * (size_t)cols;
        float *u = malloc(count * sizeof *u), *v = malloc(count * sizeof *v);
        assert_ok(seqgen_model_get_tensor(a, name, u, count));
        assert_ok(seqgen_model_get_tensor(b, name, v, count));
        assert_memory_equal(u, v, count * sizeof *u); /* bit for bit */
        free(u);
        free(v);
    }
}

static void round_trip(const char *path, int D, int H, int L, int start_step, int steps,
                       const seqgen_safetensors_options *opts)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = D, cfg.hidden = H, cfg.layers = L, cfg.seed = 77;
    cfg.start_step = start_step, cfg.steps = steps, cfg.threads = 1;
    seqgen_model *m = NULL, *back = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    assert_ok(seqgen_model_save_safetensors(path, m, opts));
    assert_ok(seqgen_model_load_safetensors(&back, path, opts));
    expect_same_model(m, back);
    /* the reference writer's layout: the header padded with spaces to a multiple of 8 */
    size_t size;
    unsigned char *file = tu_read_file(path, &size);
    unsigned long long n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | file[i];
    assert_int_equal(n % 8, 0);
    assert_int_equal(size, 8 + n + 4 * seqgen_model_param_count(m));
    assert_memory_equal(file + 8, "{\"__metadata__\":{\"format\":\"pt\"", 30);
    assert_true(file[8 + n - 1] == '}' || file[8 + n - 1] == ' ');
    free(file);
    seqgen_model_free(m);
    seqgen_model_free(back);
}

static void round_trip_is_bit_exact(void **state)
{
    tu_file *f = *state;
    round_trip(f->path, 1, 8, 1, 0, 0, NULL);
    round_trip(f->path, 3, 5, 2, 1, 40, NULL);
    seqgen_safetensors_options o = seqgen_safetensors_options_default();
    o.prefix = "model.", o.gru_module = "rnn", o.linear_module = "linear";
    round_trip(f->path, 2, 4, 2, 0, 12, &o);
    o.gru_module = "", o.linear_module = "", o.prefix = "";
    round_trip(f->path, 1, 3, 3, 1, 0, &o);
}

/* A categorical model (issue 22's embedding, softmax head): saved and loaded bit for bit, its
 * vocabulary and embedding width inferred from embedding.weight and checked against the
 * metadata; under other module names too. */
static void categorical_round_trip(void **state)
{
    tu_file *f = *state;
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.vocab = 7, cfg.embedding = 5, cfg.hidden = 6, cfg.layers = 2, cfg.start_step = 1;
    cfg.threads = 1;
    seqgen_model *m = NULL, *back = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    assert_ok(seqgen_model_save_safetensors(f->path, m, NULL));
    assert_ok(seqgen_model_load_safetensors(&back, f->path, NULL));
    expect_same_model(m, back);
    seqgen_model_config got = seqgen_model_get_config(back);
    assert_int_equal(got.vocab, 7);
    assert_int_equal(got.embedding, 5);
    assert_int_equal(got.units_per_step, 1);
    assert_int_equal(got.start_step, 1);
    seqgen_model_free(back);
    back = NULL;
    seqgen_safetensors_options o = seqgen_safetensors_options_default();
    o.prefix = "m.", o.embedding_module = "emb", o.gru_module = "rnn", o.linear_module = "fc";
    assert_ok(seqgen_model_save_safetensors(f->path, m, &o));
    size_t size;
    unsigned char *file = tu_read_file(f->path, &size);
    const char *name = "\"m.emb.weight\"";
    int found = 0;
    for (size_t i = 0; !found && i + strlen(name) <= size; i++)
        found = memcmp(file + i, name, strlen(name)) == 0;
    assert_true(found);
    free(file);
    assert_ok(seqgen_model_load_safetensors(&back, f->path, &o));
    expect_same_model(m, back);
    seqgen_model_free(back);
    /* under the default names the embedding is not found: the file's tensors are all extra */
    expect_refused(f->path, NULL, SEQGEN_EMISMATCH, "no tensor \"weight_ih_l0\"", NULL, NULL);
    seqgen_model_free(m);
}

/* The linear autoregressive head: out.ar_weight saved last and loaded bit for bit, the head
 * inferred from its presence; a nonzero entry on or above its diagonal is refused, naming it. */
static void ar_head_round_trip(void **state)
{
    tu_file *f = *state;
    enum { D = 3 };
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = D, cfg.hidden = 4, cfg.threads = 1, cfg.head = SEQGEN_HEAD_LINEAR_AR;
    seqgen_model *m = NULL, *back = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    const float u[D * D] = {0, 0, 0, 0.5f, 0, 0, -2, 0.25f, 0};
    assert_ok(seqgen_model_set_tensor(m, "out.ar_weight", u, D * D));
    assert_ok(seqgen_model_save_safetensors(f->path, m, NULL));
    assert_ok(seqgen_model_load_safetensors(&back, f->path, NULL));
    expect_same_model(m, back);
    assert_int_equal(seqgen_model_get_config(back).head, SEQGEN_HEAD_LINEAR_AR);
    seqgen_model_free(back);
    size_t size;
    unsigned char *file = tu_read_file(f->path, &size);
    const float one = 1.0f; /* U[1][1], in the last tensor of the file */
    memcpy(file + size - 4 * D * D + 4 * (1 * D + 1), &one, 4);
    tu_write_file(f->path, file, size);
    expect_refused(f->path, NULL, SEQGEN_EINVAL, "tensor \"out.ar_weight\" is strictly lower "
                   "triangular: element [1][1]", NULL, NULL);
    free(file);
    seqgen_model_free(m);
}

/* The MADE head: its four tensors saved after out.ar_weight and loaded bit for bit, the head and
 * M inferred from out.made_in.weight; a nonzero masked entry of E is refused, naming it. */
static void made_head_round_trip(void **state)
{
    tu_file *f = *state;
    enum { D = 3, M = 5 };
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.units_per_step = D, cfg.hidden = 4, cfg.threads = 1, cfg.head = SEQGEN_HEAD_MADE_AR;
    cfg.head_hidden = M;
    seqgen_model *m = NULL, *back = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    assert_ok(seqgen_model_save_safetensors(f->path, m, NULL));
    assert_ok(seqgen_model_load_safetensors(&back, f->path, NULL));
    expect_same_model(m, back);
    assert_int_equal(seqgen_model_get_config(back).head, SEQGEN_HEAD_MADE_AR);
    assert_int_equal(seqgen_model_get_config(back).head_hidden, M);
    seqgen_model_free(back);
    size_t size;
    unsigned char *file = tu_read_file(f->path, &size);
    const float one = 1.0f; /* E[0][2], in the last tensor of the file: unit 0 reads none */
    memcpy(file + size - 4 * D * M + 4 * 2, &one, 4);
    tu_write_file(f->path, file, size);
    expect_refused(f->path, NULL, SEQGEN_EINVAL, "tensor \"out.made_out.weight\" is masked by "
                   "the MADE degrees (m_k = k mod (D - 1)): element [0][2]", NULL, NULL);
    free(file);
    seqgen_model_free(m);
}

/* The original project's state_dict names: rnn.* and linear.*, no libseqgen metadata; the
 * start step and steps then come from the options. */
static void original_project_names(void **state)
{
    tu_file *f = *state;
    spec s[SMALL_COUNT];
    memcpy(s, small, sizeof s);
    const char *names[SMALL_COUNT] = {"rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0",
                                      "rnn.bias_hh_l0",   "linear.weight",    "linear.bias"};
    for (int i = 0; i < SMALL_COUNT; i++)
        s[i].name = names[i];
    write_raw(f->path, make_header(s, SMALL_COUNT, "\"__metadata__\": {\"format\": \"pt\"}, "),
              small_data(), SMALL_BYTES);
    seqgen_safetensors_options o = seqgen_safetensors_options_default();
    expect_refused(f->path, &o, SEQGEN_EMISMATCH, "no tensor \"weight_ih_l0\"",
                   "the file's first tensor is \"rnn.weight_ih_l0\"", NULL);
    o.gru_module = "rnn";
    expect_refused(f->path, &o, SEQGEN_EMISMATCH, "no tensor \"out.weight\"", NULL, NULL);
    o.linear_module = "linear", o.steps = 784;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_load_safetensors(&m, f->path, &o));
    seqgen_model_config cfg = seqgen_model_get_config(m);
    assert_int_equal(cfg.units_per_step, 1);
    assert_int_equal(cfg.hidden, 2);
    assert_int_equal(cfg.layers, 1);
    assert_int_equal(cfg.start_step, 0);
    assert_int_equal(cfg.steps, 784);
    float w[12];
    assert_ok(seqgen_model_get_tensor(m, "weight_hh_l0", w, 12));
    for (int i = 0; i < 12; i++)
        assert_true(w[i] == 0.03125f * (float)(6 + i - 16));
    seqgen_model_free(m);
}

/* ---- F16 and BF16 ------------------------------------------------------------------------- */

/* Every tensor of the small model in `dtype` (2 bytes), its values cycling through `bits`. */
static void write_half(const char *path, const char *dtype, const uint16_t *bits, int n)
{
    spec s[SMALL_COUNT];
    memcpy(s, small, sizeof s);
    for (int i = 0; i < SMALL_COUNT; i++)
        s[i].dtype = dtype, s[i].begin /= 2, s[i].end /= 2;
    unsigned char data[SMALL_BYTES / 2];
    for (int i = 0; i < SMALL_BYTES / 4; i++)
        data[2 * i] = (unsigned char)(bits[i % n] & 0xff), data[2 * i + 1] = (unsigned char)(bits[i % n] >> 8);
    write_raw(path, make_header(s, SMALL_COUNT, NULL), data, sizeof data);
}

/* The 33 values of the loaded model, in the file's order. */
static void loaded_values(const char *path, float *values)
{
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_load_safetensors(&m, path, NULL));
    size_t at = 0;
    for (int i = 0; i < SMALL_COUNT; i++) {
        const char *name;
        int rows, cols;
        assert_ok(seqgen_model_tensor_info(m, i, &name, &rows, &cols));
        assert_ok(seqgen_model_get_tensor(m, name, values + at, (size_t)(rows * cols)));
        at += (size_t)(rows * cols);
    }
    assert_int_equal(at, SMALL_BYTES / 4);
    seqgen_model_free(m);
}

static void half_precision_is_converted_exactly(void **state)
{
    tu_file *f = *state;
    /* F16: zero, minus zero, the smallest and largest subnormals, the smallest normal, 1, -2,
     * the largest finite value, the nearest to 1/3, -0.5 */
    const uint16_t f16[] = {0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3c00, 0xc000, 0x7bff, 0x3555, 0xb800};
    const float f16_values[] = {0.0f, -0.0f, 5.9604644775390625e-08f, 6.0975551605224609e-05f,
                                6.103515625e-05f, 1.0f, -2.0f, 65504.0f, 0.333251953125f, -0.5f};
    float v[SMALL_BYTES / 4];
    write_half(f->path, "F16", f16, 10);
    loaded_values(f->path, v);
    for (int i = 0; i < SMALL_BYTES / 4; i++) {
        assert_true(v[i] == f16_values[i % 10]);
        assert_int_equal(signbit(v[i]) != 0, signbit(f16_values[i % 10]) != 0);
    }
    /* BF16: 1, -3, the smallest subnormal (2^-133), the largest finite value, 0.33203125,
     * minus zero, the smallest normal (2^-126) */
    const uint16_t bf16[] = {0x3f80, 0xc040, 0x0001, 0x7f7f, 0x3eaa, 0x8000, 0x0080};
    const float bf16_values[] = {1.0f, -3.0f, 0x1p-133f, 0x1.fep127f, 0.33203125f, -0.0f, 0x1p-126f};
    write_half(f->path, "BF16", bf16, 7);
    loaded_values(f->path, v);
    for (int i = 0; i < SMALL_BYTES / 4; i++) {
        assert_true(v[i] == bf16_values[i % 7]);
        assert_int_equal(signbit(v[i]) != 0, signbit(bf16_values[i % 7]) != 0);
    }
    /* An infinity or NaN is refused as seqgen_model_set_tensor() refuses it, naming where. */
    const uint16_t f16_inf[] = {0x3c00, 0x3c00, 0x7c00};
    write_half(f->path, "F16", f16_inf, 3);
    expect_refused(f->path, NULL, SEQGEN_ENUMERIC, "tensor \"weight_ih_l0\" value 2", "infinite",
                   "must be finite");
    const uint16_t bf16_nan[] = {0x3f80, 0x7fc0};
    write_half(f->path, "BF16", bf16_nan, 2);
    expect_refused(f->path, NULL, SEQGEN_ENUMERIC, "tensor \"weight_ih_l0\" value 1", "NaN", NULL);
}

/* ---- Refusals ----------------------------------------------------------------------------- */

static void header_length_refused(void **state)
{
    tu_file *f = *state;
    unsigned char big[16] = {0x01, 0xe1, 0xf5, 0x05}; /* 100,000,001 */
    tu_write_file(f->path, big, sizeof big);
    expect_refused(f->path, NULL, SEQGEN_EOVERFLOW, "header length 100000001", "limit of 100000000",
                   NULL);
    unsigned char longer[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    tu_write_file(f->path, longer, sizeof longer);
    expect_refused(f->path, NULL, SEQGEN_EOVERFLOW, "header length 18446744073709551615", NULL, NULL);
    unsigned char more[16] = {9};
    tu_write_file(f->path, more, sizeof more);
    expect_refused(f->path, NULL, SEQGEN_ETRUNCATED, "header length 9", "holds 8 bytes after", NULL);
}

static void truncated_files_refused(void **state)
{
    tu_file *f = *state;
    write_small(f->path, -1, small[0], NULL);
    size_t size;
    unsigned char *whole = tu_read_file(f->path, &size);
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_load_safetensors(&m, f->path, NULL));
    seqgen_model_free(m);
    size_t header = size - SMALL_BYTES;
    const struct {
        size_t cut;
        const char *says;
    } cuts[] = {{0, "0 bytes, shorter than the 8-byte header length"},
                {5, "5 bytes, shorter than the 8-byte header length"},
                {8, "holds 0 bytes after"},
                {40, "holds 32 bytes after"},
                {header - 1, "bytes after them"},
                {header, "tensor \"weight_ih_l0\" ends at data byte 24"},
                {header + 30, "tensor \"weight_hh_l0\" ends at data byte 72"},
                {size - 1, "tensor \"out.bias\" ends at data byte 132"}};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        tu_write_file(f->path, whole, cuts[i].cut);
        expect_refused(f->path, NULL, SEQGEN_ETRUNCATED, cuts[i].says, NULL, NULL);
    }
    /* and one byte too many */
    unsigned char *longer = malloc(size + 1);
    memcpy(longer, whole, size);
    longer[size] = 0;
    tu_write_file(f->path, longer, size + 1);
    char where[64];
    snprintf(where, sizeof where, "1 bytes after the last tensor's data, from file byte %zu", size);
    expect_refused(f->path, NULL, SEQGEN_ETRAILING, where, NULL, NULL);
    free(longer);
    free(whole);
}

static void headers_that_are_not_json_objects_refused(void **state)
{
    tu_file *f = *state;
    write_raw(f->path, "{\"weight_ih_l0\": {\"dtype\": F32}}", NULL, 0);
    expect_refused(f->path, NULL, SEQGEN_EFORMAT, "not valid JSON", "byte 35 of the file", NULL);
    write_raw(f->path, "[1, 2]", NULL, 0);
    expect_refused(f->path, NULL, SEQGEN_EFORMAT, "header (byte 8) is not a JSON object", NULL, NULL);
    write_raw(f->path, "", NULL, 0);
    expect_refused(f->path, NULL, SEQGEN_EFORMAT, "not a JSON object", NULL, NULL);
    write_raw(f->path, "{} {}", NULL, 0);
    expect_refused(f->path, NULL, SEQGEN_EFORMAT, "not valid JSON", NULL, NULL);
    write_raw(f->path, "{\"a\xff\": 1}", NULL, 0);
    expect_refused(f->path, NULL, SEQGEN_EFORMAT, "not valid JSON", NULL, NULL);
    /* A valid object holding no tensor at all is not a model. */
    write_raw(f->path, "{}      ", NULL, 0);
    expect_refused(f->path, NULL, SEQGEN_EMISMATCH, "no tensor \"weight_ih_l0\"", "holds no tensor",
                   NULL);
}

static void duplicate_names_refused(void **state)
{
    tu_file *f = *state;
    spec s[SMALL_COUNT + 1];
    memcpy(s, small, sizeof small);
    s[SMALL_COUNT] = (spec){"out.bias", "F32", "[1]", 132, 136};
    unsigned char data[SMALL_BYTES + 4] = {0};
    write_raw(f->path, make_header(s, SMALL_COUNT + 1, NULL), data, sizeof data);
    expect_refused(f->path, NULL, SEQGEN_EFORMAT, "not valid JSON", "duplicate", "out.bias");
}

static void entries_refused(void **state)
{
    tu_file *f = *state;
    const struct {
        int which;
        spec with;
        int status;
        const char *a, *b;
    } cases[] = {
        {4, {"out.weight", "F33", "[1, 2]", 120, 128}, SEQGEN_EFORMAT, "tensor \"out.weight\"", "unknown dtype \"F33\""},
        {4, {"out.weight", "F64", "[1]", 120, 128}, SEQGEN_EFORMAT, "tensor \"out.weight\" has dtype F64", "F32, F16 and BF16"},
        {5, {"out.bias", "I32", "[1]", 128, 132}, SEQGEN_EFORMAT, "tensor \"out.bias\" has dtype I32", NULL},
        {5, {"out.bias", "BOOL", "[4]", 128, 132}, SEQGEN_EFORMAT, "tensor \"out.bias\" has dtype BOOL", NULL},
        {1, {"weight_hh_l0", "F32", "[6, -2]", 24, 72}, SEQGEN_EFORMAT, "tensor \"weight_hh_l0\"", "shape[1] is not an integer >= 0"},
        {1, {"weight_hh_l0", "F32", "[6, 2.0]", 24, 72}, SEQGEN_EFORMAT, "tensor \"weight_hh_l0\"", "shape[1]"},
        {1, {"weight_hh_l0", "F32", "12", 24, 72}, SEQGEN_EFORMAT, "tensor \"weight_hh_l0\"", "shape is not an array"},
        {1, {"weight_hh_l0", "F32", "[6, 3]", 24, 72}, SEQGEN_EFORMAT, "tensor \"weight_hh_l0\"", "18 F32 values need 72 bytes but data_offsets [24, 72] hold 48"},
        {1, {"weight_hh_l0", "F32", "[4294967296, 4294967296, 2]", 24, 72}, SEQGEN_EFORMAT, "tensor \"weight_hh_l0\"", "more than 2^64"},
        {2, {"bias_ih_l0", "F32", "[6]", 96, 72}, SEQGEN_EFORMAT, "tensor \"bias_ih_l0\"", "end before they begin"},
        /* offsets: overlapping, a gap, out of bounds, not from 0 */
        {2, {"bias_ih_l0", "F32", "[6]", 68, 92}, SEQGEN_EFORMAT, "tensor \"bias_ih_l0\" (data bytes 68-92) overlaps tensor \"weight_hh_l0\"", "data byte 72"},
        {5, {"out.bias", "F32", "[1]", 132, 136}, SEQGEN_EFORMAT, "data bytes 128-132", "belong to no tensor: tensor \"out.bias\""},
        {0, {"weight_ih_l0", "F32", "[6, 1]", 132, 156}, SEQGEN_EFORMAT, "data bytes 0-24", "belong to no tensor: tensor \"weight_hh_l0\" begins at 24"},
        {3, {"bias_hh_l0", "F32", "[6]", 96, 120}, 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_small(f->path, cases[i].which, cases[i].with, NULL);
        if (cases[i].status == 0) {
            seqgen_model *m = NULL;
            assert_ok(seqgen_model_load_safetensors(&m, f->path, NULL));
            seqgen_model_free(m);
        } else {
            expect_refused(f->path, NULL, cases[i].status, cases[i].a, cases[i].b, NULL);
        }
    }
    /* A tensor past the end of the data: the file is shorter than its offsets. */
    spec s[SMALL_COUNT];
    memcpy(s, small, sizeof s);
    s[5] = (spec){"out.bias", "F32", "[1]", 128, 132};
    write_raw(f->path, make_header(s, SMALL_COUNT, NULL), small_data(), SMALL_BYTES - 4);
    expect_refused(f->path, NULL, SEQGEN_ETRUNCATED, "tensor \"out.bias\" ends at data byte 132",
                   "file ends at byte", NULL);
    /* Fields: unknown, missing, of the wrong type. */
    const char *bodies[][2] = {
        {"{\"x\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4], \"extra\": 1}}", "unknown field \"extra\""},
        {"{\"x\": {\"dtype\": \"F32\", \"shape\": []}}", "no \"data_offsets\" field"},
        {"{\"x\": {\"dtype\": 32, \"shape\": [], \"data_offsets\": [0, 4]}}", "dtype is not a string"},
        {"{\"x\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4, 8]}}", "data_offsets is not [begin, end]"},
        {"{\"x\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, -4]}}", "data_offsets is not [begin, end]"},
        {"{\"x\": [1]}", "tensor \"x\": not a JSON object"},
        {"{\"__metadata__\": {\"format\": 1}}", "__metadata__ \"format\" is not a string"},
        {"{\"__metadata__\": [\"format\"]}", "__metadata__ is not a JSON object"},
        {"{\"__metadata__\": {\"a\": {\"b\": \"c\"}}}", "__metadata__ \"a\" is not a string"},
    };
    unsigned char four[4] = {0};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        write_raw(f->path, bodies[i][0], four, 4);
        expect_refused(f->path, NULL, SEQGEN_EFORMAT, bodies[i][1], NULL, NULL);
    }
}

static void tensors_that_do_not_fit_the_model_refused(void **state)
{
    tu_file *f = *state;
    /* misshapen: out.weight [2, 1] where the model (D 1, H 2) needs [1, 2] */
    write_small(f->path, 4, (spec){"out.weight", "F32", "[2, 1]", 120, 128}, NULL);
    expect_refused(f->path, NULL, SEQGEN_EMISMATCH, "tensor \"out.weight\" has shape [2, 1]",
                   "needs [1, 2]", NULL);
    write_small(f->path, 2, (spec){"bias_ih_l0", "F32", "[3, 2]", 72, 96}, NULL);
    expect_refused(f->path, NULL, SEQGEN_EMISMATCH, "tensor \"bias_ih_l0\" has shape [3, 2]",
                   "needs [6]", NULL);
    write_small(f->path, 0, (spec){"weight_ih_l0", "F32", "[5, 1, 1]", 0, 20}, NULL);
    expect_refused(f->path, NULL, SEQGEN_EFORMAT, "data bytes 20-24", NULL, NULL);
    spec s[SMALL_COUNT];
    memcpy(s, small, sizeof s);
    s[0].shape = "[3, 2]";
    write_raw(f->path, make_header(s, SMALL_COUNT, NULL), small_data(), SMALL_BYTES);
    expect_refused(f->path, NULL, SEQGEN_EMISMATCH, "tensor \"weight_hh_l0\" has shape [6, 2]",
                   "the model (D 2, H 1, L 1) needs [3, 1]", NULL);
    s[0].shape = "[6]";
    write_raw(f->path, make_header(s, SMALL_COUNT, NULL), small_data(), SMALL_BYTES);
    expect_refused(f->path, NULL, SEQGEN_EMISMATCH, "tensor \"weight_ih_l0\" has shape [6], not [3H, D]",
                   NULL, NULL);
    /* missing: bias_hh_l0 left out (its bytes given to an extra name, then dropped) */
    memcpy(s, small, sizeof s);
    s[3].name = "rnn.bias_hh_l0";
    write_raw(f->path, make_header(s, SMALL_COUNT, NULL), small_data(), SMALL_BYTES);
    expect_refused(f->path, NULL, SEQGEN_EMISMATCH, "no tensor \"bias_hh_l0\"", NULL, NULL);
    /* extra: a second layer's weight_hh without its weight_ih, and an unrelated tensor */
    spec more[SMALL_COUNT + 1];
    memcpy(more, small, sizeof small);
    more[SMALL_COUNT] = (spec){"weight_hh_l1", "F32", "[6, 2]", 132, 180};
    unsigned char data[180] = {0};
    write_raw(f->path, make_header(more, SMALL_COUNT + 1, NULL), data, sizeof data);
    expect_refused(f->path, NULL, SEQGEN_EMISMATCH, "tensor \"weight_hh_l1\" is not one of the model's",
                   "D 1, H 2, L 1", NULL);
    more[SMALL_COUNT] = (spec){"num_batches_tracked", "I64", "[]", 132, 140};
    write_raw(f->path, make_header(more, SMALL_COUNT + 1, NULL), data, 140);
    expect_refused(f->path, NULL, SEQGEN_EMISMATCH, "tensor \"num_batches_tracked\" is not one of",
                   NULL, NULL);
    /* a second layer, incomplete */
    more[SMALL_COUNT] = (spec){"weight_ih_l1", "F32", "[6, 2]", 132, 180};
    write_raw(f->path, make_header(more, SMALL_COUNT + 1, NULL), data, sizeof data);
    expect_refused(f->path, NULL, SEQGEN_EMISMATCH, "no tensor \"weight_hh_l1\"", NULL, NULL);
}

static void metadata_checked(void **state)
{
    tu_file *f = *state;
    const struct {
        const char *meta;
        int status;
        const char *a, *b;
    } cases[] = {
        {"\"seqgen.hidden\": \"5\"", SEQGEN_EMISMATCH, "__metadata__ \"seqgen.hidden\" is 5", "the tensors say 2"},
        {"\"seqgen.layers\": \"2\"", SEQGEN_EMISMATCH, "\"seqgen.layers\" is 2", NULL},
        {"\"seqgen.units_per_step\": \"3\"", SEQGEN_EMISMATCH, "\"seqgen.units_per_step\" is 3", NULL},
        {"\"seqgen.start_step\": \"2\"", SEQGEN_ERANGE, "\"seqgen.start_step\" is \"2\"", "from 0 to 1"},
        {"\"seqgen.steps\": \"-1\"", SEQGEN_ERANGE, "\"seqgen.steps\" is \"-1\"", NULL},
        {"\"seqgen.steps\": \"2147483648\"", SEQGEN_ERANGE, "\"seqgen.steps\"", NULL},
        {"\"seqgen.steps\": \"07\"", SEQGEN_ERANGE, "\"seqgen.steps\" is \"07\"", NULL},
        {"\"seqgen.seed\": \"18446744073709551616\"", SEQGEN_ERANGE, "\"seqgen.seed\"", NULL},
        {"\"seqgen.hidden\": \"\"", SEQGEN_ERANGE, "\"seqgen.hidden\" is \"\"", NULL},
    };
    char extra[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(extra, sizeof extra, "\"__metadata__\": {\"format\": \"pt\", %s}, ", cases[i].meta);
        write_small(f->path, -1, small[0], extra);
        expect_refused(f->path, NULL, cases[i].status, cases[i].a, cases[i].b, NULL);
    }
    /* Agreeing metadata is used, over the options; other keys are not interpreted. */
    write_small(f->path, -1, small[0],
                "\"__metadata__\": {\"seqgen.hidden\": \"2\", \"seqgen.start_step\": \"1\", "
                "\"seqgen.steps\": \"99\", \"seqgen.seed\": \"18446744073709551615\", "
                "\"seqgen.future\": \"x\", \"trainer\": \"y\"}, ");
    seqgen_safetensors_options o = seqgen_safetensors_options_default();
    o.steps = 5;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_load_safetensors(&m, f->path, &o));
    seqgen_model_config cfg = seqgen_model_get_config(m);
    assert_int_equal(cfg.start_step, 1);
    assert_int_equal(cfg.steps, 99);
    assert_true(cfg.seed == UINT64_MAX);
    seqgen_model_free(m);
}

static int read_fifo(const char *path)
{
    seqgen_model *m = NULL;
    return seqgen_model_load_safetensors(&m, path, NULL) == SEQGEN_EFORMAT &&
                   strstr(seqgen_last_error(), "not a regular file (a FIFO)")
               ? 0
               : 1;
}

static void files_that_are_not_regular_refused(void **state)
{
    tu_file *f = *state;
    char fifo[160];
    snprintf(fifo, sizeof fifo, "%s/fifo", f->dir);
    tu_read_fifo_in_child(fifo, read_fifo);
    expect_refused(fifo, NULL, SEQGEN_EFORMAT, "not a regular file (a FIFO)", NULL, NULL);
    expect_refused(f->dir, NULL, SEQGEN_EFORMAT, "not a regular file (a directory)", NULL, NULL);
    expect_refused("/dev/null", NULL, SEQGEN_EFORMAT, "not a regular file (a device)", NULL, NULL);
    expect_refused(f->path, NULL, SEQGEN_ENOENT, "no such file", NULL, NULL);
}

static void arguments_checked(void **state)
{
    tu_file *f = *state;
    seqgen_model *m = NULL;
    assert_int_equal(seqgen_model_load_safetensors(NULL, f->path, NULL), SEQGEN_EINVAL);
    assert_string_equal(seqgen_last_error(), "seqgen_model_load_safetensors: NULL out");
    assert_int_equal(seqgen_model_load_safetensors(&m, NULL, NULL), SEQGEN_EINVAL);
    assert_string_equal(seqgen_last_error(), "seqgen_model_load_safetensors: NULL path");
    seqgen_safetensors_options o = seqgen_safetensors_options_default();
    o.gru_module = NULL;
    assert_int_equal(seqgen_model_load_safetensors(&m, f->path, &o), SEQGEN_EINVAL);
    assert_string_equal(seqgen_last_error(), "seqgen_model_load_safetensors: NULL opts->gru_module");
    o = seqgen_safetensors_options_default();
    o.start_step = 2;
    assert_int_equal(seqgen_model_load_safetensors(&m, f->path, &o), SEQGEN_EINVAL);
    assert_non_null(strstr(seqgen_last_error(), "start_step must be 0 or 1"));
    o.start_step = 0, o.steps = -1;
    assert_int_equal(seqgen_model_load_safetensors(&m, f->path, &o), SEQGEN_EINVAL);
    assert_null(m);

    seqgen_model *model = tu_make_model(1, 4, 1, 3, 1);
    assert_int_equal(seqgen_model_save_safetensors(NULL, model, NULL), SEQGEN_EINVAL);
    assert_string_equal(seqgen_last_error(), "seqgen_model_save_safetensors: NULL path");
    assert_int_equal(seqgen_model_save_safetensors(f->path, NULL, NULL), SEQGEN_EINVAL);
    assert_string_equal(seqgen_last_error(), "seqgen_model_save_safetensors: NULL model");
    o = seqgen_safetensors_options_default();
    o.linear_module = NULL;
    assert_int_equal(seqgen_model_save_safetensors(f->path, model, &o), SEQGEN_EINVAL);
    assert_string_equal(seqgen_last_error(), "seqgen_model_save_safetensors: NULL opts->linear_module");
    o = seqgen_safetensors_options_default();
    o.prefix = "bad\xff.";
    assert_int_equal(seqgen_model_save_safetensors(f->path, model, &o), SEQGEN_EINVAL);
    assert_string_equal(seqgen_last_error(), "the prefix is not valid UTF-8");
    assert_int_equal(access(f->path, F_OK), -1); /* nothing written */
    /* A directory that does not exist: nothing is left behind, an old file stays intact. */
    char missing[200];
    snprintf(missing, sizeof missing, "%s/no/such.safetensors", f->dir);
    assert_int_equal(seqgen_model_save_safetensors(missing, model, NULL), SEQGEN_ENOENT);
    assert_ok(seqgen_model_save_safetensors(f->path, model, NULL));
    size_t before_size, after_size;
    unsigned char *before = tu_read_file(f->path, &before_size);
    seqgen_model *other = tu_make_model(1, 4, 1, 4, 1);
    assert_ok(seqgen_model_save_safetensors(f->path, other, NULL));
    unsigned char *after = tu_read_file(f->path, &after_size);
    assert_int_equal(before_size, after_size);
    assert_true(memcmp(before, after, before_size) != 0); /* replaced */
    free(before);
    free(after);
    seqgen_model_free(other);
    seqgen_model_free(model);
}

/* ---- The PyTorch fixture ------------------------------------------------------------------ */

/* The original project's model (nn.GRU(1, 32) as `rnn`, nn.Linear(32, 1) as `linear`) saved by
 * scripts/pytorch_safetensors.py, and PyTorch's own greedy completions of a few bundled test
 * digits: libseqgen must give the same probabilities (within 1e-5) and the same pixels. */
static void pytorch_fixture_completes_as_pytorch(void **state)
{
    (void)state;
    seqgen_safetensors_options o = seqgen_safetensors_options_default();
    o.gru_module = "rnn", o.linear_module = "linear";
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_load_safetensors(&m, FIXTURE_DIR "original-h32-l1.safetensors", &o));
    seqgen_model_config cfg = seqgen_model_get_config(m);
    assert_int_equal(cfg.units_per_step, 1);
    assert_int_equal(cfg.hidden, 32);
    assert_int_equal(cfg.layers, 1);
    assert_int_equal(cfg.start_step, 0);
    FILE *f = fopen(FIXTURE_DIR "original-h32-l1-completions.txt", "r");
    assert_non_null(f);
    char line[8192];
    int sequences = 0, steps = 0;
    while (fgets(line, sizeof line, f) && line[0] == '#')
        ;
    assert_int_equal(sscanf(line, "sequences %d steps %d", &sequences, &steps), 2);
    assert_true(sequences >= 3 && steps == 784);
    float *given = calloc((size_t)steps, sizeof *given), *done = calloc((size_t)steps, sizeof *done);
    float *probs = calloc((size_t)steps, sizeof *probs);
    double worst = 0;
    for (int s = 0; s < sequences; s++) {
        int index, k;
        assert_int_equal(fscanf(f, " index %d given %d pixels ", &index, &k), 2);
        assert_true(k > 0 && k < steps);
        char pixels[800];
        assert_int_equal(fscanf(f, "%799s", pixels), 1);
        assert_int_equal(strlen(pixels), (size_t)steps);
        for (int t = 0; t < steps; t++)
            given[t] = t < k ? (float)(pixels[t] - '0') : 0.0f;
        assert_ok(seqgen_complete(m, given, 1, steps, NULL, k, NULL, done, probs));
        assert_int_equal(fscanf(f, " probs"), 0);
        for (int t = 0; t < steps; t++)
            if (done[t] != (float)(pixels[t] - '0'))
                fail_msg("digit %d (given %d): pixel %d is %g, PyTorch's %c", index, k, t,
                         (double)done[t], pixels[t]);
        for (int t = 0; t < steps - k; t++) {
            double p;
            assert_int_equal(fscanf(f, "%lf", &p), 1);
            double diff = fabs((double)probs[t] - p);
            worst = diff > worst ? diff : worst;
            if (diff > 1e-5)
                fail_msg("digit %d (given %d): probability of pixel %d is %.9g, PyTorch's %.9g",
                         index, k, k + t, (double)probs[t], p);
        }
    }
    print_message("PyTorch fixture: %d completions, max |p - p_torch| = %.3g\n", sequences, worst);
    fclose(f);
    free(given);
    free(done);
    free(probs);
    seqgen_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(categorical_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(round_trip_is_bit_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(ar_head_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(made_head_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(original_project_names, setup, teardown),
        cmocka_unit_test_setup_teardown(half_precision_is_converted_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(header_length_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated_files_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(headers_that_are_not_json_objects_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(duplicate_names_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(entries_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(tensors_that_do_not_fit_the_model_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(metadata_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(files_that_are_not_regular_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(arguments_checked, setup, teardown),
        cmocka_unit_test(pytorch_fixture_completes_as_pytorch),
    };
    return cmocka_run_group_tests_name("safetensors", tests, NULL, NULL);
}
