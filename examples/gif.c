/* Completion animations and overview grids as GIF files, through giflib 5 (gif.h).
 *
 * Drawing happens on a canvas of palette indices the size of the GIF screen; frames are then
 * cut from it and encoded into memory, and the whole file is handed to cli_write_file_atomic()
 * only when everything succeeded. */
#define _POSIX_C_SOURCE 200809L
#include "gif.h"

#include <gif_lib.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Image sides beyond this are surely a mistake; it also keeps rows * cols far from overflow. */
#define MAX_SIDE 4096
#define MAX_SCALE 64
#define MAX_SEPARATOR 64
#define MAX_DELAY_CS 65535
/* The GIF format stores screen sizes as 16-bit numbers. */
#define MAX_SCREEN_SIDE 65535
#define CONFIDENCE_LEVELS 4
#define INITIAL_CAPACITY 4096

/* Palette indices. Generated pixels come in CONFIDENCE_LEVELS shades, least confident first. */
enum colour {
    PAPER,
    INK,
    MISSING,
    SEPARATOR,
    GENERATED_INK,
    GENERATED_PAPER = GENERATED_INK + CONFIDENCE_LEVELS,
    PALETTE_SIZE = 16 /* giflib wants a power of two */
};
_Static_assert(GENERATED_PAPER + CONFIDENCE_LEVELS <= PALETTE_SIZE, "palette too small");

static const GifColorType palette[PALETTE_SIZE] = {
    [PAPER] = {0, 0, 0},
    [INK] = {255, 255, 255},
    [MISSING] = {112, 112, 112},
    [SEPARATOR] = {200, 200, 200},
    /* Generated ink: dim to bright orange, always well above the brightest paper tint. */
    [GENERATED_INK + 0] = {176, 84, 28},
    [GENERATED_INK + 1] = {208, 104, 24},
    [GENERATED_INK + 2] = {236, 124, 16},
    [GENERATED_INK + 3] = {255, 144, 0},
    /* Generated paper: a dark orange tint, fading towards black as confidence grows. */
    [GENERATED_PAPER + 0] = {80, 38, 14},
    [GENERATED_PAPER + 1] = {64, 30, 11},
    [GENERATED_PAPER + 2] = {50, 24, 8},
    [GENERATED_PAPER + 3] = {38, 18, 6},
};

enum panel { PANEL_INPUT, PANEL_COMPLETION, PANEL_TRUTH, PANEL_COUNT };

/* Where things go on the screen, in GIF pixels. */
typedef struct layout {
    int scale;
    int separator;
    int panel_width;  /* cols * scale */
    int panel_height; /* rows * scale */
    int digit_width;  /* three panels and two separators */
} layout;

typedef struct canvas {
    unsigned char *pixels; /* palette indices, row-major, width * height */
    int width;
    int height;
} canvas;

/* A GIF being encoded: giflib writes it into a growing buffer through write_bytes(). */
typedef struct gif_out {
    const char *path;
    unsigned char *data;
    size_t size;
    size_t capacity;
    bool out_of_memory; /* the buffer could not grow: giflib only sees a failed write */
    GifFileType *gif;
} gif_out;

/* Where a failure's reason goes: the caller's buffer (gif.h). */
typedef struct report {
    char *message;
    size_t size;
} report;

/* Writes the reason into the caller's buffer and gives `status`. */
__attribute__((format(printf, 3, 4)))
static gif_status fail(const report *r, gif_status status, const char *format, ...)
{
    if (r->message && r->size > 0) {
        va_list args;
        va_start(args, format);
        vsnprintf(r->message, r->size, format, args);
        va_end(args);
    }
    return status;
}

/* ---- Arguments --------------------------------------------------------------------------- */

static gif_status check_range(const report *r, int value, int low, int high, const char *name)
{
    if (value < low || value > high)
        return fail(r, GIF_STATUS_INVALID, "%s must be in %d..%d, got %d", name, low, high,
                    value);
    return GIF_STATUS_OK;
}

/* The checks both writers start with: the options (NULL: the defaults), then the path. */
static gif_status resolve_options(const report *r, const gif_options *given, const char *path,
                                  gif_options *options)
{
    static const gif_options defaults = GIF_OPTIONS_DEFAULT;
    *options = given ? *given : defaults;
    gif_status status = check_range(r, options->scale, 1, MAX_SCALE, "options.scale");
    if (status == GIF_STATUS_OK)
        status = check_range(r, options->separator, 0, MAX_SEPARATOR, "options.separator");
    if (status == GIF_STATUS_OK)
        status = check_range(r, options->frame_delay_cs, 0, MAX_DELAY_CS,
                             "options.frame_delay_cs");
    if (status == GIF_STATUS_OK)
        status = check_range(r, options->final_delay_cs, 0, MAX_DELAY_CS,
                             "options.final_delay_cs");
    if (status == GIF_STATUS_OK && !path)
        status = fail(r, GIF_STATUS_INVALID, "path is NULL");
    return status;
}

/* values[0..count) must be finite, and within [0, 1] if `unit` is set. */
static gif_status check_values(const report *r, const float *values, int count, bool unit,
                               const char *name, const char *array)
{
    for (int i = 0; i < count; i++) {
        float v = values[i];
        if (!isfinite(v) || (unit && !(v >= 0.0f && v <= 1.0f)))
            return fail(r, GIF_STATUS_INVALID, "%s.%s[%d] is %g, expected %s", name, array, i,
                        (double)v, unit ? "a probability in [0, 1]" : "a finite value");
    }
    return GIF_STATUS_OK;
}

/* `name` says which digit the messages are about ("digit", "digits[3]"). */
static gif_status check_digit(const report *r, const gif_digit *digit, const char *name)
{
    if (!digit)
        return fail(r, GIF_STATUS_INVALID, "%s is NULL", name);
    char field[64];
    snprintf(field, sizeof field, "%s.rows", name);
    gif_status status = check_range(r, digit->rows, 1, MAX_SIDE, field);
    if (status != GIF_STATUS_OK)
        return status;
    snprintf(field, sizeof field, "%s.cols", name);
    if ((status = check_range(r, digit->cols, 1, MAX_SIDE, field)) != GIF_STATUS_OK)
        return status;
    int pixels = digit->rows * digit->cols;
    snprintf(field, sizeof field, "%s.given", name);
    if ((status = check_range(r, digit->given, 0, pixels, field)) != GIF_STATUS_OK)
        return status;
    int generated = pixels - digit->given;
    if (!digit->truth)
        return fail(r, GIF_STATUS_INVALID, "%s.truth is NULL", name);
    if (!digit->generated && generated > 0)
        return fail(r, GIF_STATUS_INVALID, "%s.generated is NULL but %d pixels were generated",
                    name, generated);
    status = check_values(r, digit->truth, pixels, false, name, "truth");
    if (status == GIF_STATUS_OK && generated > 0)
        status = check_values(r, digit->generated, generated, false, name, "generated");
    if (status == GIF_STATUS_OK && digit->prob && generated > 0)
        status = check_values(r, digit->prob, generated, true, name, "prob");
    return status;
}

static layout make_layout(const gif_digit *digit, const gif_options *options)
{
    layout lay;
    lay.scale = options->scale;
    lay.separator = options->separator;
    lay.panel_width = digit->cols * options->scale;
    lay.panel_height = digit->rows * options->scale;
    lay.digit_width = PANEL_COUNT * lay.panel_width + (PANEL_COUNT - 1) * lay.separator;
    return lay;
}

/* `what` names the picture in the message: "the animation", "the overview". */
static gif_status check_screen(const report *r, const char *what, long long width,
                               long long height)
{
    if (width > MAX_SCREEN_SIDE || height > MAX_SCREEN_SIDE)
        return fail(r, GIF_STATUS_INVALID, "%s would be %lld x %lld pixels; GIF allows at most %d "
                    "per side (use a smaller scale%s)", what, width, height, MAX_SCREEN_SIDE,
                    strcmp(what, "the overview") == 0 ? " or other columns" : "");
    return GIF_STATUS_OK;
}

/* The overview's screen: `count` digits of layout `lay` in rows of `columns`. */
static void overview_screen(const layout *lay, int count, int columns, long long *width,
                            long long *height)
{
    long long grid_cols = columns < count ? columns : count;
    long long grid_rows = (count + grid_cols - 1) / grid_cols;
    long long gap = lay->scale;
    *width = grid_cols * (lay->digit_width + gap) - gap;
    *height = grid_rows * (lay->panel_height + gap) - gap;
}

/* ---- Drawing ----------------------------------------------------------------------------- */

static gif_status canvas_create(const report *r, canvas *c, int width, int height)
{
    size_t size = (size_t)width * (size_t)height;
    c->pixels = malloc(size);
    if (!c->pixels)
        return fail(r, GIF_STATUS_NO_MEMORY, "cannot allocate a %d x %d GIF canvas", width,
                    height);
    memset(c->pixels, SEPARATOR, size); /* separators and gaps are whatever is not painted */
    c->width = width;
    c->height = height;
    return GIF_STATUS_OK;
}

static void fill_rect(canvas *c, int x, int y, int width, int height, unsigned char colour)
{
    for (int row = y; row < y + height; row++)
        memset(c->pixels + (size_t)row * (size_t)c->width + (size_t)x, colour, (size_t)width);
}

static unsigned char given_colour(float value) { return value >= 0.5f ? INK : PAPER; }

/* Generated pixel j (pixel given + j of the image): orange ink or tinted paper, shaded by the
 * model's confidence in what it drew when probabilities are known. */
static unsigned char generated_colour(const gif_digit *digit, int j)
{
    bool ink = digit->generated[j] >= 0.5f;
    int level = CONFIDENCE_LEVELS - 1;
    if (digit->prob) {
        float p = digit->prob[j];
        float confidence = ink ? p : 1.0f - p; /* below 0.5 when sampling went against p */
        level = (int)((confidence - 0.5f) * 2.0f * CONFIDENCE_LEVELS);
        level = level < 0 ? 0 : level >= CONFIDENCE_LEVELS ? CONFIDENCE_LEVELS - 1 : level;
    }
    return (unsigned char)((ink ? GENERATED_INK : GENERATED_PAPER) + level);
}

/* The colour of pixel i of a panel when the first `shown` pixels of the completion are visible. */
static unsigned char pixel_colour(const gif_digit *digit, enum panel panel, int i,
                                  int shown)
{
    if (panel == PANEL_TRUTH || i < digit->given)
        return given_colour(digit->truth[i]);
    if (panel == PANEL_INPUT || i >= shown)
        return MISSING;
    return generated_colour(digit, i - digit->given);
}

/* Paints pixels [from, to) of one panel whose top-left corner is (x, y). */
static void paint_pixels(canvas *c, int x, int y, const layout *lay, const gif_digit *digit,
                         enum panel panel, int from, int to, int shown)
{
    for (int i = from; i < to; i++) {
        int px = x + (i % digit->cols) * lay->scale;
        int py = y + (i / digit->cols) * lay->scale;
        fill_rect(c, px, py, lay->scale, lay->scale, pixel_colour(digit, panel, i, shown));
    }
}

static int panel_x(const layout *lay, int digit_x, enum panel panel)
{
    return digit_x + (int)panel * (lay->panel_width + lay->separator);
}

/* Paints the three panels of a digit at (x, y); the separators are the canvas background. */
static void paint_digit(canvas *c, int x, int y, const layout *lay, const gif_digit *digit,
                        int shown)
{
    int pixels = digit->rows * digit->cols;
    for (int panel = 0; panel < PANEL_COUNT; panel++)
        paint_pixels(c, panel_x(lay, x, (enum panel)panel), y, lay, digit, (enum panel)panel, 0,
                     pixels, shown);
}

/* ---- Encoding ---------------------------------------------------------------------------- */

/* giflib's output function: appends to the buffer, doubling it as needed. */
static int write_bytes(GifFileType *gif, const GifByteType *bytes, int size)
{
    gif_out *out = gif->UserData;
    if (size <= 0)
        return 0;
    size_t needed = out->size + (size_t)size;
    if (needed > out->capacity) {
        size_t capacity = out->capacity ? out->capacity : INITIAL_CAPACITY;
        while (capacity < needed)
            capacity *= 2;
        unsigned char *grown = realloc(out->data, capacity);
        if (!grown) {
            out->out_of_memory = true;
            return 0;
        }
        out->data = grown;
        out->capacity = capacity;
    }
    memcpy(out->data + out->size, bytes, (size_t)size);
    out->size = needed;
    return size;
}

/* Frees what encoding holds: giflib's handle and the buffer. */
static void gif_discard(gif_out *out)
{
    if (out->gif) {
        int ignored;
        EGifCloseFile(out->gif, &ignored);
        out->gif = NULL;
    }
    free(out->data);
    out->data = NULL;
}

/* Reports a failed giflib call, preferring our own reason when the buffer could not grow. */
static gif_status gif_failure(const report *r, const gif_out *out, int gif_error)
{
    if (out->out_of_memory)
        return fail(r, GIF_STATUS_NO_MEMORY, "%s: cannot allocate memory for the GIF",
                    out->path);
    if (gif_error == E_GIF_ERR_NOT_ENOUGH_MEM)
        return fail(r, GIF_STATUS_NO_MEMORY, "%s: giflib ran out of memory", out->path);
    const char *reason = GifErrorString(gif_error);
    return fail(r, GIF_STATUS_IO, "%s: giflib cannot write the GIF: %s", out->path,
                reason ? reason : "unknown giflib error");
}

/* Starts encoding the GIF for `path`: the header and the global palette. */
static gif_status gif_open(const report *r, gif_out *out, const char *path, int width,
                           int height)
{
    memset(out, 0, sizeof *out);
    out->path = path;
    int error = 0;
    out->gif = EGifOpen(out, write_bytes, &error);
    if (!out->gif)
        return gif_failure(r, out, error);
    EGifSetGifVersion(out->gif, true); /* GIF89a: needed for delays and looping */
    ColorMapObject *map = GifMakeMapObject(PALETTE_SIZE, palette);
    if (!map)
        return gif_failure(r, out, E_GIF_ERR_NOT_ENOUGH_MEM);
    int rc = EGifPutScreenDesc(out->gif, width, height, 8, SEPARATOR, map);
    GifFreeMapObject(map);
    return rc == GIF_OK ? GIF_STATUS_OK : gif_failure(r, out, out->gif->Error);
}

/* The NETSCAPE2.0 application extension with a loop count of 0: repeat forever. */
static gif_status put_loop_forever(const report *r, gif_out *out)
{
    static const GifByteType application[11] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E',
                                                '2', '.', '0'};
    static const GifByteType loop_forever[3] = {1, 0, 0}; /* sub-block 1, count 0 (LE16) */
    if (EGifPutExtensionLeader(out->gif, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
        EGifPutExtensionBlock(out->gif, sizeof application, application) == GIF_ERROR ||
        EGifPutExtensionBlock(out->gif, sizeof loop_forever, loop_forever) == GIF_ERROR ||
        EGifPutExtensionTrailer(out->gif) == GIF_ERROR)
        return gif_failure(r, out, out->gif->Error);
    return GIF_STATUS_OK;
}

/* Encodes the rectangle (x, y, width, height) of the canvas as one frame shown for delay_cs
 * hundredths of a second (delay_cs < 0: a still image, no graphics control block). Earlier
 * frames stay in place around it. */
static gif_status put_frame(const report *r, gif_out *out, const canvas *c, int x, int y,
                            int width, int height, int delay_cs)
{
    if (delay_cs >= 0) {
        GraphicsControlBlock control = {.DisposalMode = DISPOSE_DO_NOT,
                                        .UserInputFlag = false,
                                        .DelayTime = delay_cs,
                                        .TransparentColor = NO_TRANSPARENT_COLOR};
        GifByteType extension[4];
        size_t length = EGifGCBToExtension(&control, extension);
        if (EGifPutExtension(out->gif, GRAPHICS_EXT_FUNC_CODE, (int)length, extension) ==
            GIF_ERROR)
            return gif_failure(r, out, out->gif->Error);
    }
    if (EGifPutImageDesc(out->gif, x, y, width, height, false, NULL) == GIF_ERROR)
        return gif_failure(r, out, out->gif->Error);
    for (int row = y; row < y + height; row++) {
        GifPixelType *line = c->pixels + (size_t)row * (size_t)c->width + (size_t)x;
        if (EGifPutLine(out->gif, line, width) == GIF_ERROR)
            return gif_failure(r, out, out->gif->Error);
    }
    return GIF_STATUS_OK;
}

/* Completes the GIF and writes it to its path atomically, if all went well; frees it either
 * way. */
static gif_status gif_finish(const report *r, gif_out *out, gif_status status)
{
    if (status == GIF_STATUS_OK) {
        int error = 0;
        int rc = EGifCloseFile(out->gif, &error);
        out->gif = NULL;
        if (rc == GIF_ERROR || out->out_of_memory)
            status = gif_failure(r, out, error);
    }
    if (status == GIF_STATUS_OK &&
        cli_write_file_atomic(out->path, out->data, out->size, r->message, r->size) != 0)
        status = GIF_STATUS_IO;
    gif_discard(out);
    return status;
}

/* ---- Public ------------------------------------------------------------------------------ */

gif_status gif_write_completion(const char *path, const gif_digit *digit,
                                const gif_options *options, char *message, size_t message_size)
{
    const report r = {message, message_size};
    gif_options opt;
    gif_status status = resolve_options(&r, options, path, &opt);
    if (status == GIF_STATUS_OK)
        status = check_digit(&r, digit, "digit");
    if (status != GIF_STATUS_OK)
        return status;
    layout lay = make_layout(digit, &opt);
    status = check_screen(&r, "the animation", lay.digit_width, lay.panel_height);
    if (status != GIF_STATUS_OK)
        return status;

    canvas c;
    if ((status = canvas_create(&r, &c, lay.digit_width, lay.panel_height)) != GIF_STATUS_OK)
        return status;
    int pixels = digit->rows * digit->cols;
    int first_row = digit->given / digit->cols;
    int frames = digit->given < pixels ? 1 + digit->rows - first_row : 1;
    int completion_x = panel_x(&lay, 0, PANEL_COMPLETION);
    paint_digit(&c, 0, 0, &lay, digit, digit->given);

    gif_out out;
    status = gif_open(&r, &out, path, c.width, c.height);
    if (status == GIF_STATUS_OK)
        status = put_loop_forever(&r, &out);
    if (status == GIF_STATUS_OK)
        status = put_frame(&r, &out, &c, 0, 0, c.width, c.height,
                           frames == 1 ? opt.final_delay_cs : opt.frame_delay_cs);
    /* Frame f reveals image row first_row + f - 1 (the first one only from pixel K on). */
    for (int f = 1; f < frames && status == GIF_STATUS_OK; f++) {
        int row = first_row + f - 1;
        int from = row * digit->cols > digit->given ? row * digit->cols : digit->given;
        int to = (row + 1) * digit->cols;
        paint_pixels(&c, completion_x, 0, &lay, digit, PANEL_COMPLETION, from, to, to);
        status = put_frame(&r, &out, &c, completion_x, row * lay.scale, lay.panel_width,
                           lay.scale, f == frames - 1 ? opt.final_delay_cs : opt.frame_delay_cs);
    }
    status = gif_finish(&r, &out, status);
    free(c.pixels);
    return status;
}

gif_status gif_write_overview(const char *path, const gif_digit *digits, int count, int columns,
                              const gif_options *options, char *message, size_t message_size)
{
    const report r = {message, message_size};
    gif_options opt;
    gif_status status = resolve_options(&r, options, path, &opt);
    if (status != GIF_STATUS_OK)
        return status;
    if (!digits)
        return fail(&r, GIF_STATUS_INVALID, "digits is NULL");
    if ((status = check_range(&r, count, 1, MAX_SIDE * MAX_SIDE, "count")) != GIF_STATUS_OK ||
        (status = check_range(&r, columns, 1, MAX_SIDE * MAX_SIDE, "columns")) != GIF_STATUS_OK)
        return status;
    for (int i = 0; i < count; i++) {
        char name[32];
        snprintf(name, sizeof name, "digits[%d]", i);
        if ((status = check_digit(&r, &digits[i], name)) != GIF_STATUS_OK)
            return status;
        if (digits[i].rows != digits[0].rows || digits[i].cols != digits[0].cols)
            return fail(&r, GIF_STATUS_MISMATCH, "digits[%d] is %dx%d but digits[0] is %dx%d",
                        i, digits[i].rows, digits[i].cols, digits[0].rows, digits[0].cols);
    }
    layout lay = make_layout(&digits[0], &opt);
    int grid_cols = columns < count ? columns : count;
    long long gap = lay.scale, width, height;
    overview_screen(&lay, count, columns, &width, &height);
    if ((status = check_screen(&r, "the overview", width, height)) != GIF_STATUS_OK)
        return status;

    canvas c;
    if ((status = canvas_create(&r, &c, (int)width, (int)height)) != GIF_STATUS_OK)
        return status;
    for (int i = 0; i < count; i++) {
        int x = (i % grid_cols) * (lay.digit_width + (int)gap);
        int y = (i / grid_cols) * (lay.panel_height + (int)gap);
        paint_digit(&c, x, y, &lay, &digits[i], digits[i].rows * digits[i].cols);
    }
    gif_out out;
    status = gif_open(&r, &out, path, c.width, c.height);
    if (status == GIF_STATUS_OK)
        status = put_frame(&r, &out, &c, 0, 0, c.width, c.height, -1);
    status = gif_finish(&r, &out, status);
    free(c.pixels);
    return status;
}

gif_status gif_check_size(int rows, int cols, int count, int columns, const gif_options *options,
                          char *message, size_t message_size)
{
    const report r = {message, message_size};
    gif_options opt;
    gif_status status = resolve_options(&r, options, "", &opt);
    if (status == GIF_STATUS_OK)
        status = check_range(&r, rows, 1, MAX_SIDE, "rows");
    if (status == GIF_STATUS_OK)
        status = check_range(&r, cols, 1, MAX_SIDE, "cols");
    if (status == GIF_STATUS_OK)
        status = check_range(&r, count, 1, MAX_SIDE * MAX_SIDE, "count");
    if (status == GIF_STATUS_OK)
        status = check_range(&r, columns, 1, MAX_SIDE * MAX_SIDE, "columns");
    if (status != GIF_STATUS_OK)
        return status;
    const gif_digit shape = {rows, cols, 0, NULL, NULL, NULL};
    layout lay = make_layout(&shape, &opt);
    long long width, height;
    overview_screen(&lay, count, columns, &width, &height);
    status = check_screen(&r, "the animation", lay.digit_width, lay.panel_height);
    return status == GIF_STATUS_OK ? check_screen(&r, "the overview", width, height) : status;
}
