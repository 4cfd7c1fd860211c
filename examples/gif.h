/* Pictures of completed digits as GIF files, drawn by the programs through giflib (the library
 * does not draw). Independent of the model: they take pixel arrays.
 *
 * A digit is drawn as three panels side by side, each an image enlarged by an integer scale:
 * (1) the masked input: the given pixels, white ink on black, with the missing area mid-grey;
 * (2) the completion: the given pixels as in (1), the generated ones in orange (ink) and a dark
 * orange tint (no ink), brighter the more confident the model was when probabilities are given;
 * (3) the ground truth in white on black. Panels are separated by light-grey lines.
 *
 * Pixel values are floats in image scan order (row-major); a value >= 0.5 is ink. A GIF is built
 * in memory, then written with cli_write_file_atomic() (examples/cli.h): a failed call leaves no
 * file and an existing file intact. Written files have mode 0644.
 *
 * Errors: each function returns a gif_status, GIF_STATUS_OK (0) on success. On failure it writes
 * a one-line reason into `message` (unless it is NULL; cut to `message_size` bytes), naming the
 * argument at fault ("digit.truth[7] is nan, ...") or the path and the system's or giflib's
 * reason; on success `message` is left as it was. */
#ifndef SEQGEN_EXAMPLES_GIF_H
#define SEQGEN_EXAMPLES_GIF_H

#include <stddef.h>

typedef enum gif_status {
    GIF_STATUS_OK = 0,
    GIF_STATUS_INVALID = -1,   /* a NULL pointer, a size or option out of range, a NaN or
                                  infinite pixel, a probability outside [0, 1] */
    GIF_STATUS_NO_MEMORY = -2, /* memory for the canvas or the encoded GIF */
    GIF_STATUS_IO = -3,        /* the file cannot be written */
    GIF_STATUS_MISMATCH = -4   /* the digits of an overview differ in size */
} gif_status;

/* The look of the pictures. Start from GIF_OPTIONS_DEFAULT. */
typedef struct gif_options {
    int scale;          /* each image pixel becomes a scale x scale block; 1..64, default 8 */
    int separator;      /* width of the lines between panels in GIF pixels; 0..64, default 2 */
    int frame_delay_cs; /* how long each frame but the last shows, in 1/100 s; 0..65535, 6 */
    int final_delay_cs; /* the pause on the last frame, in 1/100 s; 0..65535, default 200 */
} gif_options;

/* Scale 8, 2-pixel separators, 60 ms per generated row, a 2 s final pause. */
#define GIF_OPTIONS_DEFAULT { 8, 2, 6, 200 }

/* One completed digit, as the pixel arrays the pictures are drawn from (not copied). */
typedef struct gif_digit {
    int rows;               /* image height in pixels (28 for MNIST); >= 1 */
    int cols;               /* image width in pixels (28 for MNIST); >= 1 */
    int given;              /* K: the first K pixels in scan order were given; 0..rows*cols */
    const float *truth;     /* rows*cols ground-truth pixels; its first K are the given ones */
    const float *generated; /* rows*cols - K pixels the model generated, for pixels K, K+1...;
                               may be NULL when K = rows*cols */
    const float *prob;      /* NULL, or the rows*cols - K probabilities of ink the model gave
                               for the generated pixels (seqgen_complete()'s probs), each in
                               [0, 1]: shades them by confidence (p for ink, 1 - p for no ink) */
} gif_digit;

/* Writes a looping animated GIF of one digit being completed to `path` (replaced atomically if
 * it exists); `options` NULL means GIF_OPTIONS_DEFAULT.
 *
 * The screen is `3 * cols * scale + 2 * separator` by `rows * scale` pixels with a 16-colour
 * global palette. Frame 0 shows the completion panel with the given pixels only; each following
 * frame reveals one more image row that holds generated pixels, in scan order, so there are
 * `1 + rows - K / cols` frames (integer division) when K < rows*cols, and 1 frame when nothing was
 * generated. Frames after the first only store the rows they change. The last frame shows for
 * `final_delay_cs`, then the animation restarts (NETSCAPE2.0 loop extension, looping forever).
 * Returns GIF_STATUS_OK, _INVALID, _NO_MEMORY or _IO. */
gif_status gif_write_completion(const char *path, const gif_digit *digit,
                                const gif_options *options, char *message, size_t message_size);

/* Writes a still GIF of `count` (>= 1) digits' final three panels, in a grid of `columns`
 * (>= 1) digits per row, to `path`; `options` NULL means GIF_OPTIONS_DEFAULT (the delays are
 * not used).
 *
 * Digit i occupies cell (i / columns, i % columns), row-major; cells are separated by gaps of
 * `scale` pixels in the separator colour and unused cells at the end are left in that colour.
 * With C = min(columns, count) columns and R = ceil(count / C) rows, the screen is
 * `C * (3 * cols * scale + 2 * separator) + (C - 1) * scale` by
 * `R * rows * scale + (R - 1) * scale` pixels.
 * Returns as gif_write_completion(), and GIF_STATUS_MISMATCH if the digits differ in size. */
gif_status gif_write_overview(const char *path, const gif_digit *digits, int count, int columns,
                              const gif_options *options, char *message, size_t message_size);

/* Checks, without drawing, that the two writers above accept `count` (>= 1) digits of `rows` x
 * `cols` pixels, in an overview of `columns` per row, with `options` (NULL: the defaults): the
 * sizes they check, so that a caller can refuse a job before computing its digits. Returns
 * GIF_STATUS_OK or GIF_STATUS_INVALID (a size out of range, or a screen larger than a GIF's
 * 65535 pixels a side). The writers still make their own checks. */
gif_status gif_check_size(int rows, int cols, int count, int columns, const gif_options *options,
                          char *message, size_t message_size);

#endif
