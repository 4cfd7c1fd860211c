/* A user's own sequences end to end through the public API: an order-2 binary Markov chain
 * (tests/markov.h) as a dataset in memory, the batch iterator, training, and the test NLL of
 * held-out sequences against the chain's exact NLL of them, which no model can beat on average:
 * the issue asks for it within 1%. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

#include "markov.h"
#include "seqgen.h"

#define TRAIN 2000
#define TEST 500
#define STEPS 200
#define EPOCHS 8

static double test_nll(seqgen_model *model, const seqgen_dataset *test)
{
    seqgen_eval_options opts = seqgen_eval_options_default();
    opts.metrics = SEQGEN_EVAL_LOSS;
    seqgen_eval_results r;
    assert_ok(seqgen_evaluate_dataset(model, test, NULL, &opts, &r));
    return r.nll_nats;
}

static void learns_the_chain_to_its_entropy(void **state)
{
    (void)state;
    uint8_t *train_units = malloc((size_t)TRAIN * STEPS), *test_units = malloc((size_t)TEST * STEPS);
    assert_non_null(train_units);
    assert_non_null(test_units);
    markov_sample(train_units, TRAIN, STEPS, 1);
    markov_sample(test_units, TEST, STEPS, 2);
    seqgen_sequences train_seqs = {train_units, TRAIN, STEPS, 1, NULL, NULL};
    seqgen_sequences test_seqs = {test_units, TEST, STEPS, 1, NULL, NULL};
    seqgen_dataset *train = NULL, *test = NULL;
    assert_ok(seqgen_dataset_from_memory(&train, &train_seqs, SEQGEN_COPY));
    free(train_units); /* copied */
    assert_ok(seqgen_dataset_from_memory(&test, &test_seqs, SEQGEN_BORROW));

    seqgen_model_config mc = seqgen_model_config_default();
    mc.hidden = 16, mc.start_step = 1, mc.steps = STEPS, mc.threads = 2, mc.seed = 3;
    seqgen_model *model = NULL;
    assert_ok(seqgen_model_create(&model, &mc));
    seqgen_optim_config oc = seqgen_optim_config_default(SEQGEN_OPTIM_ADAM);
    oc.lr = 1e-2;
    seqgen_optim *optim = NULL;
    assert_ok(seqgen_optim_create(&optim, model, &oc));
    seqgen_batch_config bc = SEQGEN_BATCH_CONFIG_DEFAULT;
    bc.seed = 4;
    seqgen_batch_iter *it = NULL;
    assert_ok(seqgen_batch_iter_create(&it, train, &bc));
    seqgen_train_options opts = seqgen_train_options_default();
    opts.loss = SEQGEN_LOSS_BCE;

    const double truth = markov_nll(test_units, TEST, STEPS, STEPS);
    double nll = test_nll(model, test);
    printf("# untrained: test NLL %.3f nats per sequence, the chain's %.3f\n", nll, truth);
    for (int epoch = 0; epoch < EPOCHS; epoch++) {
        const float *x;
        size_t n;
        int status;
        while ((status = seqgen_batch_iter_next(it, &x, &n)) == SEQGEN_OK) {
            seqgen_batch batch = seqgen_batch_of_sequences(model, x, (int)n, STEPS);
            assert_ok(seqgen_model_forward_backward(model, &batch, &opts, NULL, NULL));
            assert_ok(seqgen_optim_step(optim, model));
        }
        assert_int_equal(status, SEQGEN_DONE);
        nll = test_nll(model, test);
        printf("# epoch %d: test NLL %.3f nats per sequence (%.2f%% above the chain's)\n",
               epoch + 1, nll, 100.0 * (nll / truth - 1.0));
    }
    assert_true(nll < 1.01 * truth);
    assert_true(nll > 0.97 * truth); /* below the truth by more than chance: a wrong NLL */

    seqgen_batch_iter_free(it);
    seqgen_optim_free(optim);
    seqgen_model_free(model);
    seqgen_dataset_free(test);
    seqgen_dataset_free(train);
    free(test_units);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(learns_the_chain_to_its_entropy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
