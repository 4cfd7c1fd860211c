/* The output head's forward and backward (see head.h). */
#include "head.h"

#include "kernels.h"

void sg_head_forward(int rows, int hidden, int outputs, const sg_head_weights *w, const float *h,
                     float *logits)
{
    const int D = outputs;
    sg_gemm(0, 1, rows, D, hidden, 1.0f, h, hidden, w->weight, hidden, 0.0f, logits, D);
    for (size_t i = 0; i < (size_t)rows; i++)
        for (int d = 0; d < D; d++)
            logits[i * D + d] += w->bias[d];
}

/* With one unit per step the products are a weighted sum of rows and an outer product, where
 * GEMMs with M = 1 and K = 1 would spend more on packing than on arithmetic. */
void sg_head_backward(int rows, int hidden, int outputs, const sg_head_weights *w, const float *h,
                      const float *dlogits, const sg_head_weights *grad, float *dh)
{
    const int D = outputs, H = hidden;
    if (D == 1) {
        sg_sum_rows_weighted(rows, H, dlogits, h, H, grad->weight);
        sg_outer_product(rows, H, dlogits, w->weight, dh);
    } else {
        sg_gemm(1, 0, D, H, rows, 1.0f, dlogits, D, h, H, 1.0f, grad->weight, H);
        sg_gemm(0, 0, rows, H, D, 1.0f, dlogits, D, w->weight, H, 0.0f, dh, H);
    }
    sg_sum_rows(rows, D, dlogits, D, grad->bias);
}
