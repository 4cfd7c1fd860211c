/* The embedding of symbols, PyTorch's nn.Embedding(V, E): the input vector of symbol s is row s of
 * the table [V][E], and the backward adds dL/dx of that input to the row,
 *   x_i = table[s_i],        dL/dtable[v] = sum over i with s_i = v of dL/dx_i,
 * with s_i = -1 meaning no symbol (a start step, padding): a zero vector, no gradient. Symbols
 * are trusted to be in [-1, V): the callers check them. Nothing here allocates. */
#ifndef SEQGEN_EMBEDDING_H
#define SEQGEN_EMBEDDING_H

#include <stdint.h>

/* x [rows][E] = the rows of table [V][E] named by symbols [rows]. */
void sg_embedding_forward(int rows, int width, const float *table, const int32_t *symbols,
                          float *x);

/* ADDS dx [rows][E] to the rows of grad [V][E] named by symbols [rows] (a scatter-add: a row
 * read several times receives every one of its gradients). */
void sg_embedding_backward(int rows, int width, const int32_t *symbols, const float *dx,
                           float *grad);

#endif
