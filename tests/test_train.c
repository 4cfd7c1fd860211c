/* Training smoke test on 256 bundled digits: a few dozen Adam steps must lower the loss clearly,
 * and the run must be deterministic for a seed.
 *
 * The threshold: the best predictor that ignores context says "1" with the digits' overall
 * frequency f of ink pixels and scores the binary entropy H(f) nats per pixel (0.39 for these
 * digits). The untrained model scores about ln 2 = 0.69. Beating H(f) by a margin can only be
 * done by using the previous pixels (strokes are continuous), so that is what the test demands:
 * mean BCE below 0.8 H(f) after 48 steps (measured: 0.23, i.e. 0.58 H(f)). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seqgen.h"

#define IMAGES 256
#define BATCH 64
#define STEPS 48

typedef struct run_result {
    double initial_bce, final_bce;
    float first_param;
} run_result;

static double entropy(double f)
{
    return -(f * log(f) + (1.0 - f) * log(1.0 - f));
}

static run_result train(const float *pixels, int length, uint64_t seed)
{
    seqgen_model_config cfg = seqgen_model_config_default();
    cfg.hidden = 32, cfg.seed = seed, cfg.threads = 2;
    seqgen_model *m = NULL;
    assert_ok(seqgen_model_create(&m, &cfg));
    seqgen_optim_config ocfg = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    ocfg.lr = 1e-2;
    ocfg.clip_norm = 1.0;
    seqgen_optim *opt = NULL;
    assert_ok(seqgen_optim_create(&opt, m, &ocfg));
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_BCE;
    run_result r;
    seqgen_train_stats st;
    assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, pixels, IMAGES, length), &opts, NULL,
                                            &st));
    r.initial_bce = st.bce;
    for (int step = 0; step < STEPS; step++) {
        const float *batch = pixels + (size_t)(step % (IMAGES / BATCH)) * BATCH * length;
        assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, batch, BATCH, length), &opts,
                                                NULL, NULL));
        assert_ok(seqgen_optim_step(opt, m));
    }
    assert_ok(seqgen_model_forward_backward(m, TU_SEQUENCES(m, pixels, IMAGES, length), &opts, NULL,
                                            &st));
    r.final_bce = st.bce;
    assert_ok(seqgen_model_get_tensor(m, "out.bias", &r.first_param, 1));
    seqgen_optim_free(opt);
    seqgen_model_free(m);
    return r;
}

static void adam_lowers_the_loss_on_real_digits(void **state)
{
    (void)state;
    seqgen_dataset *ds = NULL;
    assert_ok(seqgen_dataset_open_dir(&ds, "data/mnist10k", SEQGEN_SPLIT_TRAIN));
    const int length = (int)seqgen_dataset_units(ds);
    size_t indices[IMAGES];
    for (size_t i = 0; i < IMAGES; i++)
        indices[i] = i;
    float *pixels = malloc((size_t)IMAGES * length * sizeof *pixels);
    assert_non_null(pixels);
    assert_ok(seqgen_dataset_sequences(ds, indices, IMAGES, NULL, 0, pixels));
    double ink = 0.0;
    for (size_t i = 0; i < (size_t)IMAGES * length; i++)
        ink += pixels[i];
    const double marginal = entropy(ink / ((double)IMAGES * length));

    run_result a = train(pixels, length, 1), b = train(pixels, length, 1);
    print_message("BCE %.4f -> %.4f nats/pixel after %d steps; marginal entropy %.4f\n",
                  a.initial_bce, a.final_bce, STEPS, marginal);
    assert_true(a.initial_bce > marginal);
    assert_true(a.final_bce < 0.8 * marginal);
    assert_true(a.final_bce == b.final_bce); /* deterministic for a seed */
    assert_true(a.first_param == b.first_param);
    free(pixels);
    seqgen_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adam_lowers_the_loss_on_real_digits),
    };
    return cmocka_run_group_tests_name("train", tests, NULL, NULL);
}
