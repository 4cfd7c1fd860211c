/* The embedding of symbols: a row gather forward, a scatter-add backward (see embedding.h). */
#include "embedding.h"

#include <string.h>

#include "kernels.h"

void sg_embedding_forward(int rows, int width, const float *table, const int32_t *symbols,
                          float *x)
{
    const size_t E = (size_t)width;
    for (size_t i = 0; i < (size_t)rows; i++)
        if (symbols[i] >= 0)
            memcpy(x + i * E, table + (size_t)symbols[i] * E, E * sizeof *x);
        else
            memset(x + i * E, 0, E * sizeof *x);
}

void sg_embedding_backward(int rows, int width, const int32_t *symbols, const float *dx,
                           float *grad)
{
    const size_t E = (size_t)width;
    for (size_t i = 0; i < (size_t)rows; i++)
        if (symbols[i] >= 0)
            sg_add(E, dx + i * E, grad + (size_t)symbols[i] * E);
}
