/* Completion animations and overview grids as GIF files, through giflib 5.
 *
 * Drawing happens on a canvas of palette indices the size of the GIF screen; frames are then
 * cut from it. The file is written to a temporary name next to the target and renamed over it
 * only when everything succeeded. */
#include "alloc.h"
#include "seqgen.h"
#include "status.h"

#include <errno.h>
#include <gif_lib.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Image sides beyond this are surely a mistake; it also keeps rows * cols far from overflow. */
#define MAX_SIDE 4096
#define MAX_SCALE 64
#define MAX_SEPARATOR 64
#define MAX_DELAY_CS 65535
/* The GIF format stores screen sizes as 16-bit numbers. */
#define MAX_SCREEN_SIDE 65535
#define CONFIDENCE_LEVELS 4
#define TEMP_SUFFIX ".tmp-XXXXXX"

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

/* An output file being written: giflib's handle on top of our own FILE, so that we see every
 * write error (giflib ignores some) and can fsync before the rename. */
typedef struct gif_file {
    const char *path;
    char *temp_path;
    bool temp_created;
    FILE *file;
    int write_errno; /* errno of the first failed write, 0 if none */
    GifFileType *gif;
} gif_file;

/* ---- Arguments --------------------------------------------------------------------------- */

static int check_range(int value, int low, int high, const char *name)
{
    if (value < low || value > high)
        return sg_error(SEQGEN_EINVAL, "%s must be in %d..%d, got %d", name, low, high, value);
    return SEQGEN_OK;
}

static int resolve_options(const seqgen_gif_options *given, seqgen_gif_options *options)
{
    static const seqgen_gif_options defaults = SEQGEN_GIF_OPTIONS_DEFAULT;
    *options = given ? *given : defaults;
    int status = check_range(options->scale, 1, MAX_SCALE, "options.scale");
    if (status == SEQGEN_OK)
        status = check_range(options->separator, 0, MAX_SEPARATOR, "options.separator");
    if (status == SEQGEN_OK)
        status = check_range(options->frame_delay_cs, 0, MAX_DELAY_CS, "options.frame_delay_cs");
    if (status == SEQGEN_OK)
        status = check_range(options->final_delay_cs, 0, MAX_DELAY_CS, "options.final_delay_cs");
    return status;
}

/* values[0..count) must be finite, and within [0, 1] if `unit` is set. */
static int check_values(const float *values, int count, bool unit, const char *name,
                        const char *array)
{
    for (int i = 0; i < count; i++) {
        float v = values[i];
        if (!isfinite(v) || (unit && !(v >= 0.0f && v <= 1.0f)))
            return sg_error(SEQGEN_EINVAL, "%s.%s[%d] is %g, expected %s", name, array, i,
                            (double)v, unit ? "a probability in [0, 1]" : "a finite value");
    }
    return SEQGEN_OK;
}

/* `name` says which digit the messages are about ("digit", "digits[3]"). */
static int check_digit(const seqgen_gif_digit *digit, const char *name)
{
    if (!digit)
        return sg_error(SEQGEN_EINVAL, "%s is NULL", name);
    char field[64];
    snprintf(field, sizeof field, "%s.rows", name);
    int status = check_range(digit->rows, 1, MAX_SIDE, field);
    if (status != SEQGEN_OK)
        return status;
    snprintf(field, sizeof field, "%s.cols", name);
    if ((status = check_range(digit->cols, 1, MAX_SIDE, field)) != SEQGEN_OK)
        return status;
    int pixels = digit->rows * digit->cols;
    snprintf(field, sizeof field, "%s.given", name);
    if ((status = check_range(digit->given, 0, pixels, field)) != SEQGEN_OK)
        return status;
    int generated = pixels - digit->given;
    if (!digit->truth)
        return sg_error(SEQGEN_EINVAL, "%s.truth is NULL", name);
    if (!digit->generated && generated > 0)
        return sg_error(SEQGEN_EINVAL, "%s.generated is NULL but %d pixels were generated",
                        name, generated);
    status = check_values(digit->truth, pixels, false, name, "truth");
    if (status == SEQGEN_OK && generated > 0)
        status = check_values(digit->generated, generated, false, name, "generated");
    if (status == SEQGEN_OK && digit->prob && generated > 0)
        status = check_values(digit->prob, generated, true, name, "prob");
    return status;
}

static layout make_layout(const seqgen_gif_digit *digit, const seqgen_gif_options *options)
{
    layout lay;
    lay.scale = options->scale;
    lay.separator = options->separator;
    lay.panel_width = digit->cols * options->scale;
    lay.panel_height = digit->rows * options->scale;
    lay.digit_width = PANEL_COUNT * lay.panel_width + (PANEL_COUNT - 1) * lay.separator;
    return lay;
}

static int check_screen(long long width, long long height)
{
    if (width > MAX_SCREEN_SIDE || height > MAX_SCREEN_SIDE)
        return sg_error(SEQGEN_EINVAL, "the GIF would be %lld x %lld pixels; GIF allows at most "
                        "%d per side (use a smaller scale or fewer columns)",
                        width, height, MAX_SCREEN_SIDE);
    return SEQGEN_OK;
}

/* ---- Drawing ----------------------------------------------------------------------------- */

static int canvas_create(canvas *c, int width, int height)
{
    size_t size = (size_t)width * (size_t)height;
    c->pixels = sg_malloc(size);
    if (!c->pixels)
        return sg_error(SEQGEN_ENOMEM, "cannot allocate a %d x %d GIF canvas", width, height);
    memset(c->pixels, SEPARATOR, size); /* separators and gaps are whatever is not painted */
    c->width = width;
    c->height = height;
    return SEQGEN_OK;
}

static void fill_rect(canvas *c, int x, int y, int width, int height, unsigned char colour)
{
    for (int row = y; row < y + height; row++)
        memset(c->pixels + (size_t)row * (size_t)c->width + (size_t)x, colour, (size_t)width);
}

static unsigned char given_colour(float value) { return value >= 0.5f ? INK : PAPER; }

/* Generated pixel j (pixel given + j of the image): orange ink or tinted paper, shaded by the
 * model's confidence in what it drew when probabilities are known. */
static unsigned char generated_colour(const seqgen_gif_digit *digit, int j)
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
static unsigned char pixel_colour(const seqgen_gif_digit *digit, enum panel panel, int i,
                                  int shown)
{
    if (panel == PANEL_TRUTH || i < digit->given)
        return given_colour(digit->truth[i]);
    if (panel == PANEL_INPUT || i >= shown)
        return MISSING;
    return generated_colour(digit, i - digit->given);
}

/* Paints pixels [from, to) of one panel whose top-left corner is (x, y). */
static void paint_pixels(canvas *c, int x, int y, const layout *lay, const seqgen_gif_digit *digit,
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
static void paint_digit(canvas *c, int x, int y, const layout *lay, const seqgen_gif_digit *digit,
                        int shown)
{
    int pixels = digit->rows * digit->cols;
    for (int panel = 0; panel < PANEL_COUNT; panel++)
        paint_pixels(c, panel_x(lay, x, (enum panel)panel), y, lay, digit, (enum panel)panel, 0,
                     pixels, shown);
}

/* ---- Writing ----------------------------------------------------------------------------- */

static int write_bytes(GifFileType *gif, const GifByteType *bytes, int size)
{
    gif_file *out = gif->UserData;
    size_t written = fwrite(bytes, 1, (size_t)size, out->file);
    if (written != (size_t)size && out->write_errno == 0)
        out->write_errno = errno ? errno : EIO;
    return (int)written;
}

/* Removes everything a failed write left: giflib's handle, the stream, the temporary file. */
static void gif_discard(gif_file *out)
{
    if (out->gif) {
        int ignored;
        EGifCloseFile(out->gif, &ignored);
        out->gif = NULL;
    }
    if (out->file) {
        fclose(out->file);
        out->file = NULL;
    }
    if (out->temp_created)
        unlink(out->temp_path);
    out->temp_created = false;
    free(out->temp_path);
    out->temp_path = NULL;
}

/* Records an I/O failure of the system (errnum) for the target path. */
static int system_failure(const gif_file *out, const char *doing, int errnum)
{
    char reason[256];
    if (strerror_r(errnum, reason, sizeof reason) != 0)
        snprintf(reason, sizeof reason, "error %d", errnum);
    return sg_error(SEQGEN_EIO, "%s: %s: %s", out->path, doing, reason);
}

/* Records a failed giflib call, preferring the system's reason when a write failed under it. */
static int gif_failure(const gif_file *out, int gif_error)
{
    if (out->write_errno)
        return system_failure(out, "cannot write the GIF", out->write_errno);
    if (gif_error == E_GIF_ERR_NOT_ENOUGH_MEM)
        return sg_error(SEQGEN_ENOMEM, "%s: giflib ran out of memory", out->path);
    const char *reason = GifErrorString(gif_error);
    return sg_error(SEQGEN_EIO, "%s: giflib cannot write the GIF: %s", out->path,
                    reason ? reason : "unknown giflib error");
}

static int create_temp_file(gif_file *out)
{
    size_t length = strlen(out->path);
    out->temp_path = sg_malloc(length + sizeof TEMP_SUFFIX);
    if (!out->temp_path)
        return sg_error(SEQGEN_ENOMEM, "%s: cannot allocate the temporary file name", out->path);
    memcpy(out->temp_path, out->path, length);
    memcpy(out->temp_path + length, TEMP_SUFFIX, sizeof TEMP_SUFFIX);
    int fd = mkstemp(out->temp_path);
    if (fd < 0)
        return system_failure(out, "cannot create a temporary file next to it", errno);
    out->temp_created = true;
    /* mkstemp makes the file private; a picture is meant to be shared. */
    if (fchmod(fd, 0644) != 0 || !(out->file = fdopen(fd, "wb"))) {
        int errnum = errno;
        close(fd);
        return system_failure(out, "cannot open the temporary file", errnum);
    }
    return SEQGEN_OK;
}

/* Opens `path` for writing (as a temporary file) and writes the header and global palette. */
static int gif_open(gif_file *out, const char *path, int width, int height)
{
    memset(out, 0, sizeof *out);
    out->path = path;
    int status = create_temp_file(out);
    if (status != SEQGEN_OK)
        return status;
    int error = 0;
    out->gif = EGifOpen(out, write_bytes, &error);
    if (!out->gif)
        return gif_failure(out, error);
    EGifSetGifVersion(out->gif, true); /* GIF89a: needed for delays and looping */
    ColorMapObject *map = GifMakeMapObject(PALETTE_SIZE, palette);
    if (!map)
        return gif_failure(out, E_GIF_ERR_NOT_ENOUGH_MEM);
    int rc = EGifPutScreenDesc(out->gif, width, height, 8, SEPARATOR, map);
    GifFreeMapObject(map);
    return rc == GIF_OK ? SEQGEN_OK : gif_failure(out, out->gif->Error);
}

/* The NETSCAPE2.0 application extension with a loop count of 0: repeat forever. */
static int put_loop_forever(gif_file *out)
{
    static const GifByteType application[11] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E',
                                                '2', '.', '0'};
    static const GifByteType loop_forever[3] = {1, 0, 0}; /* sub-block 1, count 0 (LE16) */
    if (EGifPutExtensionLeader(out->gif, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
        EGifPutExtensionBlock(out->gif, sizeof application, application) == GIF_ERROR ||
        EGifPutExtensionBlock(out->gif, sizeof loop_forever, loop_forever) == GIF_ERROR ||
        EGifPutExtensionTrailer(out->gif) == GIF_ERROR)
        return gif_failure(out, out->gif->Error);
    return SEQGEN_OK;
}

/* Writes the rectangle (x, y, width, height) of the canvas as one frame shown for delay_cs
 * hundredths of a second (delay_cs < 0: a still image, no graphics control block). Earlier
 * frames stay in place around it. */
static int put_frame(gif_file *out, const canvas *c, int x, int y, int width, int height,
                     int delay_cs)
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
            return gif_failure(out, out->gif->Error);
    }
    if (EGifPutImageDesc(out->gif, x, y, width, height, false, NULL) == GIF_ERROR)
        return gif_failure(out, out->gif->Error);
    for (int row = y; row < y + height; row++) {
        GifPixelType *line = c->pixels + (size_t)row * (size_t)c->width + (size_t)x;
        if (EGifPutLine(out->gif, line, width) == GIF_ERROR)
            return gif_failure(out, out->gif->Error);
    }
    return SEQGEN_OK;
}

/* Completes the file and renames it over the target; discards it on any failure. */
static int gif_finish(gif_file *out, int status)
{
    if (status == SEQGEN_OK) {
        int error = 0;
        int rc = EGifCloseFile(out->gif, &error);
        out->gif = NULL;
        if (rc == GIF_ERROR || out->write_errno)
            status = gif_failure(out, error);
        else if (fflush(out->file) != 0 || fsync(fileno(out->file)) != 0)
            status = system_failure(out, "cannot write the GIF", errno);
    }
    if (status == SEQGEN_OK) {
        FILE *file = out->file;
        out->file = NULL;
        if (fclose(file) != 0)
            status = system_failure(out, "cannot close the GIF", errno);
        else if (rename(out->temp_path, out->path) != 0)
            status = system_failure(out, "cannot rename the temporary file to it", errno);
        else
            out->temp_created = false;
    }
    gif_discard(out);
    return status;
}

/* ---- Public ------------------------------------------------------------------------------ */

int seqgen_gif_write_completion(const char *path, const seqgen_gif_digit *digit,
                                const seqgen_gif_options *options)
{
    seqgen_gif_options opt;
    int status = resolve_options(options, &opt);
    if (status != SEQGEN_OK)
        return status;
    if (!path)
        return sg_error(SEQGEN_EINVAL, "path is NULL");
    if ((status = check_digit(digit, "digit")) != SEQGEN_OK)
        return status;
    layout lay = make_layout(digit, &opt);
    if ((status = check_screen(lay.digit_width, lay.panel_height)) != SEQGEN_OK)
        return status;

    canvas c;
    if ((status = canvas_create(&c, lay.digit_width, lay.panel_height)) != SEQGEN_OK)
        return status;
    int pixels = digit->rows * digit->cols;
    int first_row = digit->given / digit->cols;
    int frames = digit->given < pixels ? 1 + digit->rows - first_row : 1;
    int completion_x = panel_x(&lay, 0, PANEL_COMPLETION);
    paint_digit(&c, 0, 0, &lay, digit, digit->given);

    gif_file out;
    status = gif_open(&out, path, c.width, c.height);
    if (status == SEQGEN_OK)
        status = put_loop_forever(&out);
    if (status == SEQGEN_OK)
        status = put_frame(&out, &c, 0, 0, c.width, c.height,
                           frames == 1 ? opt.final_delay_cs : opt.frame_delay_cs);
    /* Frame f reveals image row first_row + f - 1 (the first one only from pixel K on). */
    for (int f = 1; f < frames && status == SEQGEN_OK; f++) {
        int row = first_row + f - 1;
        int from = row * digit->cols > digit->given ? row * digit->cols : digit->given;
        int to = (row + 1) * digit->cols;
        paint_pixels(&c, completion_x, 0, &lay, digit, PANEL_COMPLETION, from, to, to);
        status = put_frame(&out, &c, completion_x, row * lay.scale, lay.panel_width, lay.scale,
                           f == frames - 1 ? opt.final_delay_cs : opt.frame_delay_cs);
    }
    status = gif_finish(&out, status);
    free(c.pixels);
    return status;
}

int seqgen_gif_write_overview(const char *path, const seqgen_gif_digit *digits, int count,
                              int columns, const seqgen_gif_options *options)
{
    seqgen_gif_options opt;
    int status = resolve_options(options, &opt);
    if (status != SEQGEN_OK)
        return status;
    if (!path)
        return sg_error(SEQGEN_EINVAL, "path is NULL");
    if (!digits)
        return sg_error(SEQGEN_EINVAL, "digits is NULL");
    if ((status = check_range(count, 1, MAX_SIDE * MAX_SIDE, "count")) != SEQGEN_OK ||
        (status = check_range(columns, 1, MAX_SIDE * MAX_SIDE, "columns")) != SEQGEN_OK)
        return status;
    for (int i = 0; i < count; i++) {
        char name[32];
        snprintf(name, sizeof name, "digits[%d]", i);
        if ((status = check_digit(&digits[i], name)) != SEQGEN_OK)
            return status;
        if (digits[i].rows != digits[0].rows || digits[i].cols != digits[0].cols)
            return sg_error(SEQGEN_EMISMATCH, "digits[%d] is %dx%d but digits[0] is %dx%d", i,
                            digits[i].rows, digits[i].cols, digits[0].rows, digits[0].cols);
    }
    layout lay = make_layout(&digits[0], &opt);
    int grid_cols = columns < count ? columns : count;
    int grid_rows = (count + grid_cols - 1) / grid_cols;
    long long gap = lay.scale;
    long long width = grid_cols * (lay.digit_width + gap) - gap;
    long long height = grid_rows * (lay.panel_height + gap) - gap;
    if ((status = check_screen(width, height)) != SEQGEN_OK)
        return status;

    canvas c;
    if ((status = canvas_create(&c, (int)width, (int)height)) != SEQGEN_OK)
        return status;
    for (int i = 0; i < count; i++) {
        int x = (i % grid_cols) * (lay.digit_width + (int)gap);
        int y = (i / grid_cols) * (lay.panel_height + (int)gap);
        paint_digit(&c, x, y, &lay, &digits[i], digits[i].rows * digits[i].cols);
    }
    gif_file out;
    status = gif_open(&out, path, c.width, c.height);
    if (status == SEQGEN_OK)
        status = put_frame(&out, &c, 0, 0, c.width, c.height, -1);
    status = gif_finish(&out, status);
    free(c.pixels);
    return status;
}
