/**
 * @file seqgen.h
 * @brief libseqgen: a GRU that learns to write handwritten digits, pixel by pixel.
 *
 * An MNIST image is flattened into a sequence of binary pixels in row-major order; a stack of
 * GRU layers learns to predict the next step's pixels from the ones before (training by teacher
 * forcing or scheduled sampling) and can then complete a partly masked digit.
 *
 * @par Conventions
 * - **Handles** are opaque and come in create/free pairs: `seqgen_X_create(&h, ...)` allocates,
 *   `seqgen_X_free(h)` releases; freeing NULL is a no-op. A handle owns everything it allocates.
 * - **Errors**: every fallible function returns an `int` status, ::SEQGEN_OK (0) on success and a
 *   negative ::seqgen_status on failure; positive values are normal events (::SEQGEN_DONE). On
 *   failure, seqgen_last_error() tells the detail (which file, which byte, which argument) and
 *   every output argument and handle is left as it was: nothing is half-done. The library never
 *   prints, exits or aborts.
 * - **Threads**: the library keeps no global mutable state except the per-thread error detail.
 *   Distinct handles may be used from distinct threads at the same time; one handle must not be
 *   used by two threads at once unless its functions say so. Functions taking a `const` handle
 *   only read it.
 * - **Data layout**: pixel sequences are float32, batch-major: `[batch][steps][pixels_per_step]`,
 *   each pixel 0 or 1, row-major scan order within the image.
 */
#ifndef SEQGEN_H
#define SEQGEN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name Version
 *  The version of the header; seqgen_version() gives the version of the library linked at run
 *  time. The Makefile reads these three lines, so keep their form.
 *  @{ */
#define SEQGEN_VERSION_MAJOR 0 /**< Incremented for incompatible API or ABI changes. */
#define SEQGEN_VERSION_MINOR 1 /**< Incremented for compatible additions. */
#define SEQGEN_VERSION_PATCH 0 /**< Incremented for fixes. */
/** The version as a "MAJOR.MINOR.PATCH" string literal. */
#define SEQGEN_VERSION_STRING "0.1.0"
/** @} */

/** @cond INTERNAL */
#if defined(SEQGEN_BUILDING) && defined(__GNUC__)
#define SEQGEN_API __attribute__((visibility("default")))
#else
#define SEQGEN_API
#endif
#if defined(__GNUC__)
#define SEQGEN_NODISCARD __attribute__((warn_unused_result))
#else
#define SEQGEN_NODISCARD
#endif
/** @endcond */

/** Status codes returned by the library's functions. */
typedef enum seqgen_status {
    SEQGEN_DONE = 1,            /**< Normal end of a sequence of results (e.g. an epoch). */
    SEQGEN_OK = 0,              /**< Success. */
    SEQGEN_EINVAL = -1,         /**< An argument is invalid (NULL, out of range, wrong size). */
    SEQGEN_ENOMEM = -2,         /**< Memory could not be allocated. */
    SEQGEN_EIO = -3,            /**< Reading or writing a file failed. */
    SEQGEN_ENOENT = -4,         /**< A file or directory does not exist. */
    SEQGEN_EFORMAT = -5,        /**< A file is not in the expected format (bad magic, type...). */
    SEQGEN_ETRUNCATED = -6,     /**< A file ends before the data its header announces. */
    SEQGEN_ETRAILING = -7,      /**< A file has bytes after the data its header announces. */
    SEQGEN_EOVERFLOW = -8,      /**< A size in a file is zero, absurd or overflows. */
    SEQGEN_EMISMATCH = -9,      /**< Two inputs that must agree do not (counts, shapes, configs). */
    SEQGEN_ERANGE = -10,        /**< A value in a file is out of its valid range. */
    SEQGEN_ECHECKSUM = -11,     /**< A checksum does not match: the file is damaged. */
    SEQGEN_EVERSION = -12,      /**< A file needs a newer version of the library. */
    SEQGEN_ENUMERIC = -13,      /**< A computation produced NaN or infinity. */
    SEQGEN_ESTATE = -14,        /**< The call is not valid in the handle's current state. */
    SEQGEN_ECOMPRESSED = -15    /**< A compressed stream is corrupt. */
} seqgen_status;

/**
 * @brief The version of the library linked at run time, e.g. "0.1.0".
 * @return A static string; compare with ::SEQGEN_VERSION_STRING to detect header/library skew.
 */
SEQGEN_API const char *seqgen_version(void);

/**
 * @brief A short English description of a status code.
 * @param status A ::seqgen_status value (any int is accepted).
 * @return A static string, "unknown status" for values that are not status codes.
 */
SEQGEN_API const char *seqgen_strerror(int status);

/**
 * @brief The detail of the last error reported to the calling thread.
 *
 * Each failing call replaces it, e.g. "t10k-images-idx3-ubyte.gz: header says 10000 images of
 * 28x28 but the file holds 7840 bytes of pixels". Successful calls leave it unchanged.
 * @return A thread-local string, valid until the thread's next failing library call; "" if no
 *         error happened in this thread.
 */
SEQGEN_API const char *seqgen_last_error(void);

/** @name Opaque handles
 *  @{ */
/** A set of images with labels, binarised into pixel sequences (see the dataset functions). */
typedef struct seqgen_dataset seqgen_dataset;
/** A stack of GRU layers with a linear-sigmoid output (see the model functions). */
typedef struct seqgen_model seqgen_model;
/** An optimiser (Adam or SGD) bound to one model's parameters. */
typedef struct seqgen_optim seqgen_optim;
/** A teacher-forcing / scheduled-sampling schedule. */
typedef struct seqgen_sched seqgen_sched;
/** @} */

/* ==== Dataset ================================================================================ */

/* ==== Model ================================================================================== */

/* ==== Optimiser ============================================================================== */

/* ==== Scheduler ============================================================================== */

/* ==== Checkpoints ============================================================================ */

/* ==== Animations (GIF) ======================================================================= */

#ifdef __cplusplus
}
#endif

#endif /* SEQGEN_H */
