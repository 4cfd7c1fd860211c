/* compare_params A.ckpt B.ckpt: loads the models of two checkpoints and prints the largest
 * difference of their parameters relative to the tensor's largest value (max over tensors of
 * max|a - b| / max|a|), and "identical" when every parameter is the same bit for bit. For
 * tests/mpi_test.sh. Exit status: 0 compared, 1 a checkpoint did not load or the shapes differ. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "seqgen.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: compare_params A.ckpt B.ckpt\n");
        return 1;
    }
    seqgen_model *a = NULL, *b = NULL;
    int status = seqgen_checkpoint_load_model(&a, argv[1]);
    if (status == SEQGEN_OK)
        status = seqgen_checkpoint_load_model(&b, argv[2]);
    if (status != SEQGEN_OK || seqgen_model_param_count(a) != seqgen_model_param_count(b)) {
        fprintf(stderr, "compare_params: %s\n",
                status ? seqgen_last_error() : "the models differ in shape");
        seqgen_model_free(a);
        seqgen_model_free(b);
        return 1;
    }
    const float *pa = seqgen_model_parameters(a), *pb = seqgen_model_parameters(b);
    double worst = 0.0;
    size_t at = 0;
    for (int t = 0; t < seqgen_model_tensor_count(a); t++) {
        int rows, cols;
        if (seqgen_model_tensor_info(a, t, NULL, &rows, &cols) != SEQGEN_OK)
            return 1;
        double largest = 0.0, diff = 0.0;
        for (size_t i = at; i < at + (size_t)rows * cols; i++) {
            largest = fmax(largest, fabs(pa[i]));
            diff = fmax(diff, fabs((double)pa[i] - pb[i]));
        }
        worst = fmax(worst, largest > 0.0 ? diff / largest : diff);
        at += (size_t)rows * cols;
    }
    int same = memcmp(pa, pb, seqgen_model_param_count(a) * sizeof *pa) == 0;
    printf("%.3g%s\n", worst, same ? " identical" : "");
    seqgen_model_free(a);
    seqgen_model_free(b);
    return 0;
}
