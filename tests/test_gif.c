/* The programs' GIF writer (examples/gif.c): the files are decoded with giflib's own reader
 * (DGifSlurp) and checked against the documented layout: screen size, frame count and
 * rectangles, delays, the loop extension and the colours of known pixels after composing the
 * frames. Then every bad argument, every allocation failure (malloc and friends are wrapped at
 * link time, see the Makefile) and the I/O failures we can provoke: each must give its status
 * and a message, and leave no file or the old file. */
#include "testutil.h"

#include <dirent.h>
#include <gif_lib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gif.h"

/* A 6x5 test digit: 12 given pixels (rows 0-1 and the first two of row 2), 18 generated. */
enum { ROWS = 6, COLS = 5, PIXELS = ROWS * COLS, GIVEN = 12, SCALE = 3, SEP = 1 };
enum { PANEL_W = COLS * SCALE, WIDTH = 3 * PANEL_W + 2 * SEP, HEIGHT = ROWS * SCALE };

static float truth[PIXELS];
static float generated[PIXELS]; /* room for any K; the first PIXELS - K are used */

static const gif_options small = {SCALE, SEP, 7, 150};

static gif_digit test_digit(void)
{
    memset(truth, 0, sizeof truth);
    memset(generated, 0, sizeof generated);
    truth[1] = 1.0f;                  /* given ink, row 0 col 1 */
    truth[11] = 1.0f;                 /* given ink, row 2 col 1 */
    truth[13] = 0.0f;                 /* truth has no ink where the model draws some: */
    generated[13 - GIVEN] = 1.0f;     /* generated ink, row 2 col 3 */
    truth[29] = 1.0f;                 /* last pixel: ink in the truth */
    generated[29 - GIVEN] = 1.0f;     /* and generated ink, revealed by the last frame only */
    gif_digit d = {ROWS, COLS, GIVEN, truth, generated, NULL};
    return d;
}

/* ---- Calls -------------------------------------------------------------------------------- */

#define NO_MESSAGE "test_gif: no message was written"

/* The message of the last call: every failure must replace it, a success must leave it. */
static char why[512];

static void check_message(gif_status status)
{
    if (status != GIF_STATUS_OK && (why[0] == '\0' || strcmp(why, NO_MESSAGE) == 0))
        fail_msg("status %d without a message", status);
    if (status == GIF_STATUS_OK && strcmp(why, NO_MESSAGE) != 0)
        fail_msg("a success wrote a message: %s", why);
}

static gif_status write_completion(const char *path, const gif_digit *digit,
                                   const gif_options *options)
{
    snprintf(why, sizeof why, "%s", NO_MESSAGE);
    gif_status status = gif_write_completion(path, digit, options, why, sizeof why);
    check_message(status);
    return status;
}

static gif_status write_overview(const char *path, const gif_digit *digits, int count,
                                 int columns, const gif_options *options)
{
    snprintf(why, sizeof why, "%s", NO_MESSAGE);
    gif_status status = gif_write_overview(path, digits, count, columns, options, why, sizeof why);
    check_message(status);
    return status;
}

/* Fails the test unless the call wrote its file, printing why if not. */
#define assert_written(call)                                                                       \
    do {                                                                                           \
        gif_status status_ = (call);                                                               \
        if (status_ != GIF_STATUS_OK)                                                              \
            fail_msg("%s: status %d: %s", #call, status_, why);                                    \
    } while (0)

/* ---- Decoding helpers ------------------------------------------------------------------- */

static GifFileType *decode(const char *path)
{
    int error = 0;
    GifFileType *gif = DGifOpenFileName(path, &error);
    if (!gif) {
        print_error("DGifOpenFileName(%s): %s\n", path, GifErrorString(error));
        fail();
    }
    if (DGifSlurp(gif) != GIF_OK) {
        print_error("DGifSlurp(%s): %s\n", path, GifErrorString(gif->Error));
        fail();
    }
    return gif;
}

static void close_gif(GifFileType *gif)
{
    int error;
    DGifCloseFile(gif, &error);
}

/* The screen as shown after frames 0..last, as palette indices (every frame keeps the previous
 * ones in place, as our files say). */
static unsigned char *compose(const GifFileType *gif, int last)
{
    unsigned char *screen = calloc((size_t)gif->SWidth * (size_t)gif->SHeight, 1);
    assert_non_null(screen);
    for (int f = 0; f <= last; f++) {
        const SavedImage *image = &gif->SavedImages[f];
        const GifImageDesc *d = &image->ImageDesc;
        assert_true(d->Left + d->Width <= gif->SWidth && d->Top + d->Height <= gif->SHeight);
        for (int y = 0; y < d->Height; y++)
            memcpy(screen + (size_t)(d->Top + y) * (size_t)gif->SWidth + (size_t)d->Left,
                   image->RasterBits + (size_t)y * (size_t)d->Width, (size_t)d->Width);
    }
    return screen;
}

typedef struct rgb { int r, g, b; } rgb;

static rgb colour_at(const GifFileType *gif, const unsigned char *screen, int x, int y)
{
    assert_non_null(gif->SColorMap);
    int index = screen[(size_t)y * (size_t)gif->SWidth + (size_t)x];
    assert_true(index < gif->SColorMap->ColorCount);
    GifColorType c = gif->SColorMap->Colors[index];
    rgb out = {c.Red, c.Green, c.Blue};
    return out;
}

/* The centre of image pixel i in panel p (0 input, 1 completion, 2 truth) of the digit whose
 * top-left corner is (x0, y0). */
static rgb pixel_at(const GifFileType *gif, const unsigned char *screen, int x0, int y0, int p,
                    int i)
{
    int x = x0 + p * (PANEL_W + SEP) + (i % COLS) * SCALE + SCALE / 2;
    int y = y0 + (i / COLS) * SCALE + SCALE / 2;
    return colour_at(gif, screen, x, y);
}

/* The colour classes the documentation promises. */
static int is_white(rgb c) { return c.r == 255 && c.g == 255 && c.b == 255; }
static int is_black(rgb c) { return c.r == 0 && c.g == 0 && c.b == 0; }
static int is_mid_grey(rgb c) { return c.r == c.g && c.g == c.b && c.r >= 64 && c.r <= 160; }
static int is_light_grey(rgb c) { return c.r == c.g && c.g == c.b && c.r > 160 && c.r < 255; }
static int is_orange(rgb c) { return c.r >= 128 && c.g > c.b && c.r > 3 * c.b && c.r > c.g + 50; }
static int is_dark_tint(rgb c) { return c.r > c.g && c.g > c.b && c.r < 128 && c.r > 0; }
static int brightness(rgb c) { return c.r + c.g + c.b; }

static int delay_of(GifFileType *gif, int frame)
{
    GraphicsControlBlock gcb;
    assert_int_equal(DGifSavedExtensionToGCB(gif, frame, &gcb), GIF_OK);
    return gcb.DelayTime;
}

/* True if frame 0 carries a NETSCAPE2.0 extension with loop count 0 (forever). */
static int loops_forever(const GifFileType *gif)
{
    const SavedImage *first = &gif->SavedImages[0];
    for (int i = 0; i + 1 < first->ExtensionBlockCount; i++) {
        const ExtensionBlock *app = &first->ExtensionBlocks[i];
        const ExtensionBlock *data = &first->ExtensionBlocks[i + 1];
        if (app->Function == APPLICATION_EXT_FUNC_CODE && app->ByteCount == 11 &&
            memcmp(app->Bytes, "NETSCAPE2.0", 11) == 0 &&
            data->Function == CONTINUE_EXT_FUNC_CODE && data->ByteCount == 3)
            return data->Bytes[0] == 1 && data->Bytes[1] == 0 && data->Bytes[2] == 0;
    }
    return 0;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int entries_in(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        count += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return count;
}

/* ---- Animation ---------------------------------------------------------------------------- */

static void test_animation_layout_and_timing(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    char path[128];
    snprintf(path, sizeof path, "%s/digit.gif", dir);
    gif_digit d = test_digit();
    assert_written(write_completion(path, &d, &small));

    GifFileType *gif = decode(path);
    assert_int_equal(gif->SWidth, WIDTH);
    assert_int_equal(gif->SHeight, HEIGHT);
    assert_non_null(gif->SColorMap);
    /* One starting frame plus one per image row holding generated pixels: rows 2..5. */
    assert_int_equal(gif->ImageCount, 1 + ROWS - GIVEN / COLS);
    assert_int_equal(gif->ImageCount, 5);
    assert_true(loops_forever(gif));
    for (int f = 0; f < gif->ImageCount - 1; f++)
        assert_int_equal(delay_of(gif, f), 7);
    assert_int_equal(delay_of(gif, gif->ImageCount - 1), 150);

    /* Frame 0 covers the screen; frame f only the completion panel's image row 1 + f. */
    const GifImageDesc *first = &gif->SavedImages[0].ImageDesc;
    assert_int_equal(first->Width, WIDTH);
    assert_int_equal(first->Height, HEIGHT);
    for (int f = 1; f < gif->ImageCount; f++) {
        const GifImageDesc *r = &gif->SavedImages[f].ImageDesc;
        assert_int_equal(r->Left, PANEL_W + SEP);
        assert_int_equal(r->Top, (GIVEN / COLS + f - 1) * SCALE);
        assert_int_equal(r->Width, PANEL_W);
        assert_int_equal(r->Height, SCALE);
    }
    close_gif(gif);
    tu_rmtree(dir);
}

static void test_animation_colours(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    char path[128];
    snprintf(path, sizeof path, "%s/digit.gif", dir);
    gif_digit d = test_digit();
    assert_written(write_completion(path, &d, &small));
    GifFileType *gif = decode(path);

    unsigned char *start = compose(gif, 0);
    for (int p = 0; p < 3; p++) {
        assert_true(is_white(pixel_at(gif, start, 0, 0, p, 1)));  /* given ink */
        assert_true(is_black(pixel_at(gif, start, 0, 0, p, 0)));  /* given paper */
        assert_true(is_white(pixel_at(gif, start, 0, 0, p, 11))); /* given ink, row 2 */
    }
    /* Missing pixels are mid-grey in the input and, before they are generated, the completion. */
    assert_true(is_mid_grey(pixel_at(gif, start, 0, 0, 0, 13)));
    assert_true(is_mid_grey(pixel_at(gif, start, 0, 0, 0, 20)));
    assert_true(is_mid_grey(pixel_at(gif, start, 0, 0, 1, 13)));
    assert_true(is_white(pixel_at(gif, start, 0, 0, 2, 29))); /* the truth is all there */
    assert_true(is_black(pixel_at(gif, start, 0, 0, 2, 13)));
    /* The separators. */
    assert_true(is_light_grey(colour_at(gif, start, PANEL_W, 0)));
    assert_true(is_light_grey(colour_at(gif, start, 2 * PANEL_W + SEP, HEIGHT - 1)));
    free(start);

    unsigned char *after_row_2 = compose(gif, 1);
    assert_true(is_orange(pixel_at(gif, after_row_2, 0, 0, 1, 13)));     /* generated ink */
    assert_true(is_dark_tint(pixel_at(gif, after_row_2, 0, 0, 1, 12)));  /* generated paper */
    assert_true(is_white(pixel_at(gif, after_row_2, 0, 0, 1, 11)));      /* still given */
    assert_true(is_mid_grey(pixel_at(gif, after_row_2, 0, 0, 1, 15)));   /* row 3 not yet */
    assert_true(is_mid_grey(pixel_at(gif, after_row_2, 0, 0, 0, 13)));   /* input unchanged */
    free(after_row_2);

    unsigned char *before_last = compose(gif, gif->ImageCount - 2);
    assert_true(is_mid_grey(pixel_at(gif, before_last, 0, 0, 1, 29)));
    assert_true(is_dark_tint(pixel_at(gif, before_last, 0, 0, 1, 24)));
    free(before_last);
    unsigned char *last = compose(gif, gif->ImageCount - 1);
    assert_true(is_orange(pixel_at(gif, last, 0, 0, 1, 29)));
    assert_true(is_mid_grey(pixel_at(gif, last, 0, 0, 0, 29)));
    free(last);
    close_gif(gif);
    tu_rmtree(dir);
}

/* With probabilities, a confident pixel is drawn brighter (ink) or darker (paper) than a
 * doubtful one. */
static void test_confidence_shading(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    char path[128];
    snprintf(path, sizeof path, "%s/digit.gif", dir);
    gif_digit d = test_digit();
    float prob[PIXELS - GIVEN];
    for (int j = 0; j < PIXELS - GIVEN; j++)
        prob[j] = 0.5f;
    generated[20 - GIVEN] = 1.0f, prob[20 - GIVEN] = 0.99f; /* sure ink */
    generated[21 - GIVEN] = 1.0f, prob[21 - GIVEN] = 0.55f; /* doubtful ink */
    generated[22 - GIVEN] = 0.0f, prob[22 - GIVEN] = 0.01f; /* sure paper */
    generated[23 - GIVEN] = 0.0f, prob[23 - GIVEN] = 0.45f; /* doubtful paper */
    d.prob = prob;
    assert_written(write_completion(path, &d, &small));
    GifFileType *gif = decode(path);
    unsigned char *screen = compose(gif, gif->ImageCount - 1);
    rgb sure_ink = pixel_at(gif, screen, 0, 0, 1, 20), doubtful_ink = pixel_at(gif, screen, 0, 0, 1, 21);
    rgb sure_paper = pixel_at(gif, screen, 0, 0, 1, 22);
    rgb doubtful_paper = pixel_at(gif, screen, 0, 0, 1, 23);
    assert_true(is_orange(sure_ink) && is_orange(doubtful_ink));
    assert_true(brightness(sure_ink) > brightness(doubtful_ink));
    assert_true(is_dark_tint(sure_paper) && is_dark_tint(doubtful_paper));
    assert_true(brightness(sure_paper) < brightness(doubtful_paper));
    free(screen);
    close_gif(gif);

    /* Without probabilities every generated pixel is drawn as the surest. */
    d.prob = NULL;
    assert_written(write_completion(path, &d, &small));
    gif = decode(path);
    screen = compose(gif, gif->ImageCount - 1);
    rgb ink = pixel_at(gif, screen, 0, 0, 1, 21), paper = pixel_at(gif, screen, 0, 0, 1, 23);
    assert_true(ink.r == sure_ink.r && ink.g == sure_ink.g && ink.b == sure_ink.b);
    assert_true(paper.r == sure_paper.r && paper.g == sure_paper.g && paper.b == sure_paper.b);
    free(screen);
    close_gif(gif);
    tu_rmtree(dir);
}

/* An MNIST-sized digit with the defaults: 28x28, 500 given, scale 8, 2-pixel separators. */
static void test_mnist_size_defaults(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    char path[128];
    snprintf(path, sizeof path, "%s/8-0371.gif", dir);
    static float big_truth[784], big_generated[284];
    for (int i = 0; i < 784; i++)
        big_truth[i] = (float)((i / 28 + i % 28) % 3 == 0);
    for (int j = 0; j < 284; j++)
        big_generated[j] = big_truth[500 + j];
    gif_digit d = {28, 28, 500, big_truth, big_generated, NULL};
    assert_written(write_completion(path, &d, NULL));
    GifFileType *gif = decode(path);
    assert_int_equal(gif->SWidth, 3 * 28 * 8 + 2 * 2);
    assert_int_equal(gif->SHeight, 28 * 8);
    assert_int_equal(gif->ImageCount, 1 + 28 - 500 / 28); /* 12: rows 17..27 */
    assert_int_equal(delay_of(gif, 0), 6);
    assert_int_equal(delay_of(gif, 11), 200);
    assert_true(loops_forever(gif));
    close_gif(gif);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    tu_rmtree(dir);
}

/* Frame counts at the edges: nothing generated, everything generated, a whole number of rows. */
static void test_frame_count_edges(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    char path[128];
    snprintf(path, sizeof path, "%s/digit.gif", dir);
    gif_digit d = test_digit();
    const int given[] = {PIXELS, 0, 2 * COLS, PIXELS - 1};
    const int frames[] = {1, 1 + ROWS, 1 + ROWS - 2, 2};
    for (int k = 0; k < 4; k++) {
        d.given = given[k];
        d.generated = given[k] == PIXELS ? NULL : generated;
        assert_written(write_completion(path, &d, &small));
        GifFileType *gif = decode(path);
        assert_int_equal(gif->ImageCount, frames[k]);
        assert_int_equal(delay_of(gif, gif->ImageCount - 1), 150);
        assert_true(loops_forever(gif));
        close_gif(gif);
    }
    tu_rmtree(dir);
}

/* ---- Overview ----------------------------------------------------------------------------- */

static void test_overview_grid(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    char path[128];
    snprintf(path, sizeof path, "%s/overview.gif", dir);
    gif_digit d = test_digit();
    /* Digit 3 differs: its pixel 0 is given ink. */
    static float other_truth[PIXELS];
    memcpy(other_truth, truth, sizeof truth);
    other_truth[0] = 1.0f;
    gif_digit digits[5] = {d, d, d, d, d};
    digits[3].truth = other_truth;
    assert_written(write_overview(path, digits, 5, 2, &small));

    GifFileType *gif = decode(path);
    const int gap = SCALE, cell_w = WIDTH + gap, cell_h = HEIGHT + gap;
    assert_int_equal(gif->SWidth, 2 * cell_w - gap);
    assert_int_equal(gif->SHeight, 3 * cell_h - gap);
    assert_int_equal(gif->ImageCount, 1);
    unsigned char *screen = compose(gif, 0);
    /* Digit 3 is at grid row 1, column 1; its final completion shows every generated pixel. */
    assert_true(is_white(pixel_at(gif, screen, cell_w, cell_h, 0, 0)));
    assert_true(is_black(pixel_at(gif, screen, 0, cell_h, 0, 0)));
    assert_true(is_orange(pixel_at(gif, screen, cell_w, cell_h, 1, 29)));
    assert_true(is_mid_grey(pixel_at(gif, screen, cell_w, cell_h, 0, 29)));
    assert_true(is_white(pixel_at(gif, screen, cell_w, cell_h, 2, 29)));
    /* The gap between cells and the unused sixth cell are background. */
    assert_true(is_light_grey(colour_at(gif, screen, WIDTH, 0)));
    assert_true(is_light_grey(colour_at(gif, screen, cell_w + WIDTH / 2, 2 * cell_h + 5)));
    free(screen);
    close_gif(gif);

    /* More columns than digits: one row as wide as the digits. */
    assert_written(write_overview(path, digits, 2, 10, &small));
    gif = decode(path);
    assert_int_equal(gif->SWidth, 2 * cell_w - gap);
    assert_int_equal(gif->SHeight, HEIGHT);
    close_gif(gif);
    tu_rmtree(dir);
}

static void test_overview_bad_arguments(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    char path[128];
    snprintf(path, sizeof path, "%s/overview.gif", dir);
    gif_digit digits[2] = {test_digit(), test_digit()};
    assert_int_equal(write_overview(path, NULL, 2, 1, NULL), GIF_STATUS_INVALID);
    assert_int_equal(write_overview(path, digits, 0, 1, NULL), GIF_STATUS_INVALID);
    assert_int_equal(write_overview(path, digits, -1, 1, NULL), GIF_STATUS_INVALID);
    assert_int_equal(write_overview(path, digits, 2, 0, NULL), GIF_STATUS_INVALID);
    assert_int_equal(write_overview(NULL, digits, 2, 1, NULL), GIF_STATUS_INVALID);
    /* One bad digit among good ones, wrong in each way a digit can be: the message names it. */
    static const float nan_truth[PIXELS] = {0, NAN};
    static const float bad_prob[PIXELS - GIVEN] = {0.5f, 1.5f};
    const char *const named[] = {"digits[1].rows", "digits[1].cols", "digits[1].given",
                                 "digits[1].given", "digits[1].truth", "digits[1].generated",
                                 "digits[1].prob[1]", "digits[1].truth[1]", "digits[1].rows"};
    for (int i = 0; i < (int)(sizeof named / sizeof named[0]); i++) {
        digits[1] = test_digit();
        switch (i) {
        case 0: digits[1].rows = 0; break;
        case 1: digits[1].cols = -1; break;
        case 2: digits[1].given = PIXELS + 1; break;
        case 3: digits[1].given = -1; break;
        case 4: digits[1].truth = NULL; break;
        case 5: digits[1].generated = NULL; break;
        case 6: digits[1].prob = bad_prob; break;
        case 7: digits[1].truth = nan_truth; break;
        case 8: digits[1].rows = 1 << 30, digits[1].cols = 1 << 30; break;
        }
        assert_int_equal(write_overview(path, digits, 2, 2, NULL), GIF_STATUS_INVALID);
        assert_non_null(strstr(why, named[i]));
    }
    digits[1] = test_digit();
    digits[1].rows = ROWS - 1;
    digits[1].given = (ROWS - 1) * COLS;
    digits[1].generated = NULL;
    assert_int_equal(write_overview(path, digits, 2, 1, NULL), GIF_STATUS_MISMATCH);
    assert_int_equal(entries_in(dir), 0);
    tu_rmtree(dir);
}

/* ---- Failures ----------------------------------------------------------------------------- */

/* malloc, calloc and realloc are wrapped at link time (-Wl,--wrap, see the Makefile): after
 * fail_after(n) the next n allocations of the program succeed and the one after fails, once.
 * giflib's own allocations happen inside libgif and are not reached; it reports their failure
 * as an error, which the writer checks. */
static long countdown = -1;

static int inject_failure(void) { return countdown >= 0 && countdown-- == 0; }

void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size) { return inject_failure() ? NULL : __real_malloc(size); }
void *__wrap_calloc(size_t count, size_t size)
{
    return inject_failure() ? NULL : __real_calloc(count, size);
}
void *__wrap_realloc(void *p, size_t size)
{
    return inject_failure() ? NULL : __real_realloc(p, size);
}

static gif_status animation_of_test_digit(const char *path)
{
    gif_digit d = test_digit();
    return write_completion(path, &d, &small);
}

static gif_status overview_of_three(const char *path)
{
    gif_digit d[3] = {test_digit(), test_digit(), test_digit()};
    d[0].given = 0;
    d[2].given = PIXELS, d[2].generated = NULL;
    return write_overview(path, d, 3, 2, NULL);
}

/* Fails allocation n = 0, 1, ... of the call until it makes fewer than n + 1 allocations: each
 * failure must give GIF_STATUS_NO_MEMORY with a message and leave the old file alone; the last
 * run must succeed. */
static void sweep(const char *name, gif_status (*call)(const char *path))
{
    const char *dir = tu_tempdir();
    char path[128];
    snprintf(path, sizeof path, "%s/picture.gif", dir);
    long n;
    for (n = 0;; n++) {
        tu_write_file(path, "old", 3);
        countdown = n;
        gif_status status = call(path);
        int reached = countdown < 0;
        countdown = -1;
        if (!reached) {
            if (status != GIF_STATUS_OK)
                fail_msg("%s: status %d without an injected failure: %s", name, status, why);
            break;
        }
        if (status != GIF_STATUS_NO_MEMORY)
            fail_msg("%s: allocation %ld failed but the call returned %d (%s)", name, n, status,
                     why);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, 3);
        assert_int_equal(entries_in(dir), 1);
    }
    print_message("    %s: %ld allocation failures injected\n", name, n);
    assert_true(n >= 2); /* the canvas and the encoded GIF at least: the wrapping works */
    tu_rmtree(dir);
}

static void test_every_allocation_failure(void **state)
{
    (void)state;
    sweep("gif_write_completion", animation_of_test_digit);
    sweep("gif_write_overview", overview_of_three);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    char path[128];
    snprintf(path, sizeof path, "%s/digit.gif", dir);
    gif_digit good = test_digit(), d;
    gif_options opt;

    assert_int_equal(write_completion(NULL, &good, NULL), GIF_STATUS_INVALID);
    assert_int_equal(write_completion(path, NULL, NULL), GIF_STATUS_INVALID);
    d = good, d.rows = 0;
    assert_int_equal(write_completion(path, &d, NULL), GIF_STATUS_INVALID);
    assert_non_null(strstr(why, "digit.rows"));
    d = good, d.rows = 1 << 30, d.cols = 1 << 30;
    assert_int_equal(write_completion(path, &d, NULL), GIF_STATUS_INVALID);
    d = good, d.cols = -3;
    assert_int_equal(write_completion(path, &d, NULL), GIF_STATUS_INVALID);
    d = good, d.given = PIXELS + 1;
    assert_int_equal(write_completion(path, &d, NULL), GIF_STATUS_INVALID);
    d = good, d.given = -1;
    assert_int_equal(write_completion(path, &d, NULL), GIF_STATUS_INVALID);
    d = good, d.truth = NULL;
    assert_int_equal(write_completion(path, &d, NULL), GIF_STATUS_INVALID);
    d = good, d.generated = NULL;
    assert_int_equal(write_completion(path, &d, NULL), GIF_STATUS_INVALID);
    assert_non_null(strstr(why, "generated"));

    d = good;
    truth[7] = NAN;
    assert_int_equal(write_completion(path, &d, NULL), GIF_STATUS_INVALID);
    assert_non_null(strstr(why, "digit.truth[7]"));
    truth[7] = 0.0f;
    generated[3] = INFINITY;
    assert_int_equal(write_completion(path, &d, NULL), GIF_STATUS_INVALID);
    assert_non_null(strstr(why, "digit.generated[3]"));
    generated[3] = 0.0f;
    float prob[PIXELS - GIVEN] = {0};
    prob[5] = 1.5f;
    d.prob = prob;
    assert_int_equal(write_completion(path, &d, NULL), GIF_STATUS_INVALID);
    assert_non_null(strstr(why, "digit.prob[5]"));
    prob[5] = NAN;
    assert_int_equal(write_completion(path, &d, NULL), GIF_STATUS_INVALID);

    const gif_options bad[] = {{0, 2, 6, 200}, {65, 2, 6, 200}, {8, -1, 6, 200},
                                      {8, 65, 6, 200}, {8, 2, -1, 200}, {8, 2, 6, 65536}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        opt = bad[i];
        assert_int_equal(write_completion(path, &good, &opt), GIF_STATUS_INVALID);
        assert_non_null(strstr(why, "options."));
    }
    /* Beyond the GIF format's 65535-pixel screen side. */
    static float wide[1 * 4096];
    gif_digit too_wide = {1, 4096, 4096, wide, NULL, NULL};
    opt = small;
    opt.scale = 8;
    assert_int_equal(write_completion(path, &too_wide, &opt), GIF_STATUS_INVALID);
    assert_non_null(strstr(why, "65535"));
    assert_int_equal(entries_in(dir), 0);
    tu_rmtree(dir);
}

static void test_unwritable_path(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    char path[160];
    gif_digit d = test_digit();

    snprintf(path, sizeof path, "%s/no-such-dir/digit.gif", dir);
    assert_int_equal(write_completion(path, &d, &small), GIF_STATUS_IO);
    assert_non_null(strstr(why, path));
    assert_false(file_exists(path));

    /* The target is a directory: the file is written, then cannot replace it; the temporary
     * file must go away and the directory stay. */
    snprintf(path, sizeof path, "%s/a-directory", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(write_completion(path, &d, &small), GIF_STATUS_IO);
    assert_non_null(strstr(why, path));
    assert_int_equal(entries_in(dir), 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    tu_rmtree(dir);
}

/* The directory is not writable (as an unprivileged user; root ignores permissions): GIF_STATUS_IO
 * naming the path and the reason, the old file as it was. */
static const char *unwritable_path;
static int unwritable_child(void)
{
    gif_digit d = test_digit();
    if (write_completion(unwritable_path, &d, &small) != GIF_STATUS_IO)
        return 1;
    if (!strstr(why, unwritable_path) || !strstr(why, "Permission denied"))
        return 2;
    char content[8] = {0};
    FILE *f = fopen(unwritable_path, "rb");
    if (!f)
        return 3;
    size_t n = fread(content, 1, sizeof content, f);
    fclose(f);
    return n == 3 && strcmp(content, "old") == 0 ? 0 : 4;
}

static void test_unwritable_directory_keeps_old_file(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    char path[128];
    snprintf(path, sizeof path, "%s/digit.gif", dir);
    tu_write_file(path, "old", 3);
    unwritable_path = path;
    assert_int_equal(chmod(dir, 0555), 0);
    int code = tu_run_unprivileged(unwritable_child);
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(entries_in(dir), 1);
    tu_rmtree(dir);
    if (code == TU_SKIPPED) {
        print_message("    skipped: running as root and cannot switch to an unprivileged user\n");
        skip();
    }
    assert_int_equal(code, 0);
}

/* A write that fails half-way (file size limit) leaves the previous file untouched and no
 * temporary file behind. */
static void test_failed_write_keeps_old_file(void **state)
{
    (void)state;
    const char *dir = tu_tempdir();
    char path[128];
    snprintf(path, sizeof path, "%s/digit.gif", dir);
    tu_write_file(path, "old", 3);
    gif_digit d = test_digit();

    struct rlimit saved, limited;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    limited = saved;
    limited.rlim_cur = 64;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN); /* get EFBIG instead of dying */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &limited), 0);
    int status = write_completion(path, &d, &small);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, old_handler);

    assert_int_equal(status, GIF_STATUS_IO);
    assert_non_null(strstr(why, path));
    assert_int_equal(entries_in(dir), 1);
    char content[8] = {0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(content, 1, sizeof content, f), 3);
    fclose(f);
    assert_string_equal(content, "old");

    /* And without the limit the same call replaces it. */
    assert_written(write_completion(path, &d, &small));
    GifFileType *gif = decode(path);
    assert_int_equal(gif->SWidth, WIDTH);
    close_gif(gif);
    assert_int_equal(entries_in(dir), 1);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_animation_layout_and_timing),
        cmocka_unit_test(test_animation_colours),
        cmocka_unit_test(test_confidence_shading),
        cmocka_unit_test(test_mnist_size_defaults),
        cmocka_unit_test(test_frame_count_edges),
        cmocka_unit_test(test_overview_grid),
        cmocka_unit_test(test_overview_bad_arguments),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_every_allocation_failure),
        cmocka_unit_test(test_unwritable_path),
        cmocka_unit_test(test_unwritable_directory_keeps_old_file),
        cmocka_unit_test(test_failed_write_keeps_old_file),
    };
    return cmocka_run_group_tests_name("gif", tests, NULL, NULL);
}
