/* The output head: the logits of the next step's D units from the top GRU layer's state,
 *   a = W_out h + b_out        (W_out [D][H], b_out [D]: PyTorch's nn.Linear(H, D))
 * and its backward. The probability of a unit is sigmoid(a); the losses on the logits are in
 * loss.h. Every path through the model (training, completion, single steps) computes its
 * outputs here. Nothing here allocates. */
#ifndef SEQGEN_HEAD_H
#define SEQGEN_HEAD_H

/* The head's tensors, views into the model's parameter (or gradient) buffer. */
typedef struct sg_head_weights {
    float *weight; /* [D][H] */
    float *bias;   /* [D] */
} sg_head_weights;

/* logits [rows][D] = h [rows][H] W_out^T + b_out. */
void sg_head_forward(int rows, int hidden, int outputs, const sg_head_weights *w, const float *h,
                     float *logits);

/* The backward from dL/dlogits [rows][D] and the states h [rows][H] the forward read: ADDS
 * dlogits^T h to grad->weight and the column sums of dlogits to grad->bias, and writes
 * dh [rows][H] = dlogits W_out, the gradient flowing into the top layer. */
void sg_head_backward(int rows, int hidden, int outputs, const sg_head_weights *w, const float *h,
                      const float *dlogits, const sg_head_weights *grad, float *dh);

#endif
