/**
 * @file seqgen.h
 * @brief libseqgen: a GRU that learns to write sequences of binary units, step by step.
 *
 * A sequence is T steps of D binary units: a user's own sequences (from memory or NumPy files),
 * or an MNIST image flattened into its pixels in row-major order. A stack of GRU layers learns
 * to predict each step's units from the ones before (training by teacher forcing or scheduled
 * sampling) and can then complete a sequence from its beginning, or write one from nothing.
 * A categorical model reads and predicts one symbol of a vocabulary per step instead (see the
 * model group and docs/symbols.md).
 *
 * @par Conventions
 * - **Handles** are opaque and come in create/free pairs: `seqgen_X_create(&h, ...)` allocates,
 *   `seqgen_X_free(h)` releases; freeing NULL is a no-op. A handle owns everything it allocates.
 *   Functions that return no status accept NULL handles and pointers too: the void ones then do
 *   nothing, the others return 0 (or NULL, -1, NaN or an all-zero struct where so documented).
 * - **Errors**: every fallible function returns an `int` status, ::SEQGEN_OK (0) on success and a
 *   negative ::seqgen_status on failure; positive values are normal events (::SEQGEN_DONE). On
 *   failure, seqgen_last_error() tells the detail (which file, which byte, which argument) and
 *   every output argument and handle is left as it was: nothing is half-done. The library never
 *   prints, exits or aborts. A detail names the function only for a NULL argument, as
 *   `function: NULL argument` (e.g. "seqgen_model_create: NULL config"); every other detail
 *   names what is wrong (the file and byte, the field, the sequence, the value) and not the
 *   function, since the caller knows which one it called.
 * - **Threads**: the library keeps no global mutable state except the per-thread error detail
 *   and, while it computes, OpenBLAS's thread count (below). Distinct handles may be used from
 *   distinct threads at the same time; one handle must not be used by two threads at once
 *   unless its functions say so. Functions taking a `const` handle only read it, so these calls
 *   may share a handle between threads:
 *   - a ::seqgen_dataset: any calls taking it `const` (getters, seqgen_dataset_sequences(), one
 *     seqgen_batch_iter_create() per thread, a test set of seqgen_evaluate_dataset()), but not
 *     seqgen_dataset_limit() or seqgen_dataset_nearest() (it builds an index on first use);
 *   - a ::seqgen_model: seqgen_model_step() and seqgen_model_step_units() (each thread with
 *     its own ::seqgen_model_state), seqgen_complete(), seqgen_checkpoint_save() and the getters; not a training or evaluation
 *     pass, seqgen_model_set_tensor(), seqgen_model_set_threads(), seqgen_optim_step() or a
 *     load into it, which need the model alone;
 *   - iterators, optimisers, schedules, generation states and discriminators: one thread at a
 *     time.
 *
 *   **BLAS threads.** The library's own threads split the batch, so its matrix products run on
 *   one BLAS thread each. If the CBLAS linked is OpenBLAS (detected at run time; any other CBLAS
 *   is left alone), whose thread count is one setting of the whole process, a call that
 *   computes (a training or evaluation pass, seqgen_complete(), seqgen_model_step() and its
 *   siblings, seqgen_evaluate_dataset()) sets it to 1 for its matrix products and gives the caller's
 *   count back before it returns. Overlapping calls in several threads share that scope: the
 *   count is 1 from the start of the first to the end of the last, then the one the first
 *   found. So a host program keeps its own setting between library calls; BLAS calls it makes
 *   from other threads *during* a library call run on one thread, and a count it sets during
 *   one is replaced when the last library call ends.
 * - **Data layout**: sequences are float32, batch-major: `[batch][steps][units_per_step]`, each
 *   unit 0 or 1 (for images: pixels in row-major scan order); sequences of symbols (a
 *   categorical model) are int32 ids, batch-major `[batch][steps]`.
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
#define SEQGEN_VERSION_MAJOR 0 /**< Incremented for incompatible API or ABI changes (from 1.0). */
#define SEQGEN_VERSION_MINOR 6 /**< Incremented for additions; while MAJOR is 0, for any change of
                                    the API or ABI (libseqgen.so.0.MINOR). */
#define SEQGEN_VERSION_PATCH 0 /**< Incremented for fixes. */
/** The version as a "MAJOR.MINOR.PATCH" string literal. */
#define SEQGEN_VERSION_STRING "0.6.0"
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
    SEQGEN_EINVAL = -1,         /**< An argument is invalid (NULL, out of range, wrong size, an
                                     unknown name or kind). */
    SEQGEN_ENOMEM = -2,         /**< Memory could not be allocated. */
    SEQGEN_EIO = -3,            /**< Reading or writing a file failed. */
    SEQGEN_ENOENT = -4,         /**< A file or directory does not exist. */
    SEQGEN_EFORMAT = -5,        /**< A file is not in the expected format (bad magic, type...). */
    SEQGEN_ETRUNCATED = -6,     /**< A file ends before the data its header announces. */
    SEQGEN_ETRAILING = -7,      /**< A file has bytes after the data its header announces. */
    SEQGEN_EOVERFLOW = -8,      /**< A size in a file is zero, absurd or overflows. */
    SEQGEN_EMISMATCH = -9,      /**< Two inputs that must agree do not (counts, shapes, configs). */
    SEQGEN_ERANGE = -10,        /**< A value (in a file, an array, from a callback) is out of
                                     its valid range. */
    SEQGEN_ECHECKSUM = -11,     /**< A checksum does not match: the file is damaged. */
    SEQGEN_EVERSION = -12,      /**< A file's format version is not one this library reads (a
                                     newer one, or an old one no longer read). */
    SEQGEN_ENUMERIC = -13,      /**< A computation produced NaN or infinity. */
    SEQGEN_ESTATE = -14,        /**< The call is not valid in the handle's current state. */
    SEQGEN_ECOMPRESSED = -15    /**< A compressed stream is corrupt. */
} seqgen_status;

/**
 * @brief The version of the library linked at run time, e.g. "0.2.0".
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

/**
 * @brief Sets the calling thread's error detail, for libraries built on libseqgen.
 *
 * A library layered on this one (libseqgen-safetensors, seqgen_safetensors.h) reports its
 * errors like the core's: it returns a ::seqgen_status and sets the detail that
 * seqgen_last_error() gives, through this function. The detail is copied (cut, ending in
 * "...", if longer than 1023 bytes).
 * @param status The status to return.
 * @param detail The detail, following the conventions above; NULL sets "".
 * @return @p status, so that a caller can write `return seqgen_set_last_error(st, msg);`.
 */
SEQGEN_API int seqgen_set_last_error(int status, const char *detail);

/** @name Opaque handles
 *  @{ */
/** A set of binary sequences, optionally labelled (see the dataset functions). */
typedef struct seqgen_dataset seqgen_dataset;
/** A stack of GRU layers with a linear-sigmoid output, or with an embedding and a softmax over
 *  symbols (see the model functions). */
typedef struct seqgen_model seqgen_model;
/** An optimiser (Adam or SGD) bound to one model's parameters, or to one discriminator's. */
typedef struct seqgen_optim seqgen_optim;
/** The discriminator of professor forcing (see @ref professor). */
typedef struct seqgen_discriminator seqgen_discriminator;
/** A teacher-forcing / scheduled-sampling schedule. */
typedef struct seqgen_sched seqgen_sched;
/** @} */

/* ==== Dataset ================================================================================ */

/** @name Dataset
 *  Sequences of binary units: from memory, from NumPy `.npy` files, or MNIST-style IDX images.
 *
 *  A ::seqgen_dataset holds N sequences of at most T steps of D0 units each (its *natural*
 *  step), optional per-sequence lengths (1 to T steps) and optional integer labels (any values).
 *  It comes from one of three sources:
 *  - memory (seqgen_dataset_from_memory()) or `.npy` files (seqgen_dataset_open_npy()): *binary*
 *    data, every unit 0 or 1, used as it is;
 *  - IDX images (seqgen_dataset_open(), seqgen_dataset_open_dir()): *intensities* 0-255 of
 *    `rows x cols` images with labels 0-9, one sequence of T = rows * cols steps of D0 = 1 pixel
 *    each per image, which become binary when sequences are made: by threshold (unit = 1 iff
 *    byte > 127, by default) or stochastically (unit = 1 with probability byte / 255, see
 *    ::seqgen_binarize_config).
 *
 *  **Sequence layout.** A sequence of T steps of D0 units is T * D0 units in order; it is read in
 *  steps of any D that is a multiple of D0 and divides T * D0 (the units of step t are
 *  `t*D ... t*D + D - 1`; an image's pixels in row-major scan order), or only D = D0 when the
 *  lengths vary. A batch is float32, batch-major `[batch][steps][D]`, every value exactly 0.0f
 *  or 1.0f; element `[b][t][d]` is at offset `(b * T + t) * D + d`, so each sequence is its
 *  units in order whatever D is. Steps beyond a sequence's length are padding: written as 0,
 *  never read as data (see seqgen_batch::lengths).
 *
 *  **Randomness.** Shuffling and stochastic binarisation each use PCG32 (M. E. O'Neill, 2014;
 *  pcg32_srandom_r seeding), portable: the same seeds give the same order and units on every
 *  machine. The order of epoch `e` is the Fisher-Yates shuffle (from the last position down, the
 *  swap partner drawn uniformly without bias) of the identity, driven by PCG32 seeded with
 *  (seed, stream `e`). The binary pixels of image `i` come from PCG32 seeded with (binarisation
 *  seed, stream `2^62 + k * 2^32 + i`), one draw per pixel, where `k` is the epoch (mod 2^30) when
 *  samples are redrawn every epoch and 0 otherwise: a pure function of seed, epoch and image,
 *  never sharing a generator with the shuffle.
 *
 *  A dataset is not modified by reading it: several iterators and threads may read one dataset at
 *  once, except seqgen_dataset_limit() and seqgen_dataset_nearest(), which need it alone.
 *  @{ */

/** Which half of a standard MNIST directory to open. */
typedef enum seqgen_split {
    SEQGEN_SPLIT_TRAIN = 0, /**< `train-images-idx3-ubyte` and `train-labels-idx1-ubyte`. */
    SEQGEN_SPLIT_TEST = 1   /**< `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`. */
} seqgen_split;

/** Binary sequences in memory, described for seqgen_dataset_from_memory(). */
typedef struct seqgen_sequences {
    const uint8_t *units;  /**< `[count][steps][units_per_step]` bytes, each 0 or 1 within a
                                sequence's length; the padding after it is never read. */
    size_t count;          /**< N, the number of sequences, >= 1. */
    size_t steps;          /**< T, steps per sequence (the longest, when lengths are given), >= 1. */
    size_t units_per_step; /**< D0, units per step, >= 1 (1 for a plain sequence of bits). */
    const size_t *lengths; /**< NULL: every sequence has T steps; else `[count]` lengths in
                                steps, each in [1, T]. */
    const int64_t *labels; /**< NULL: no labels; else `[count]` labels, any values (a label-kept
                                metric compares them for equality). */
} seqgen_sequences;

/** Whether seqgen_dataset_from_memory() copies the caller's arrays. */
typedef enum seqgen_ownership {
    SEQGEN_COPY = 0,  /**< The dataset copies the arrays: the caller may free them at once. */
    SEQGEN_BORROW = 1 /**< The dataset keeps pointers to them: they must stay alive and unchanged
                           until the dataset is freed (no copy, no extra memory). */
} seqgen_ownership;

/**
 * @brief A dataset of binary sequences held in memory.
 *
 * Everything is checked before the dataset exists: the sizes (T * D0 units per sequence and
 * their total must fit in memory's address range), each length in [1, T], each unit within a
 * length 0 or 1 (::SEQGEN_ERANGE naming the sequence, step and unit), so that a dataset never
 * holds a value a training pass would refuse.
 * @param[out] out Receives the new dataset; free it with seqgen_dataset_free().
 * @param seqs The arrays and their shape.
 * @param ownership ::SEQGEN_COPY or ::SEQGEN_BORROW (its lifetime rule).
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (NULL pointer, a size of 0, an unknown ownership),
 *         ::SEQGEN_EOVERFLOW (more than 2^32 - 1 sequences, or sizes that overflow),
 *         ::SEQGEN_ERANGE (a length outside [1, T], a unit not 0 or 1) or ::SEQGEN_ENOMEM.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_dataset_from_memory(seqgen_dataset **out,
                                                          const seqgen_sequences *seqs,
                                                          seqgen_ownership ownership);

/**
 * @brief Opens binary sequences saved by NumPy (`np.save`), with optional labels and lengths.
 *
 * @p units_path holds a `uint8` or `bool` array in C order, of shape `[N][T]` (D0 = 1) or
 * `[N][T][D0]`, every unit within a sequence's length 0 or 1. @p labels_path, if not NULL,
 * holds `[N]` integers of any integer dtype (the labels); @p lengths_path, if not NULL, `[N]`
 * integers in [1, T] (the lengths in steps; the units after a sequence's length are padding,
 * not read). Format 1.0, 2.0 and 3.0 files are read (numpy.lib.format); `.npz` archives,
 * Fortran order, other dtypes, structured arrays and pickled objects are refused. No limit on
 * the size but the file's and 2^32 - 1 sequences: an array's shape must account for exactly the
 * bytes after its header, checked before anything is allocated, so the memory taken is that of
 * the file (::seqgen_data_limits, which bound what a small compressed IDX file can ask for, do
 * not apply). Only regular files are read. Errors name the file and the problem:
 * ::SEQGEN_ENOENT, ::SEQGEN_EIO (unreadable), ::SEQGEN_EFORMAT (not a regular file; magic,
 * header, dtype, order, number of dimensions), ::SEQGEN_EOVERFLOW (a header above 64 KiB, a
 * size of 0, sizes that overflow, more than 2^32 - 1 sequences), ::SEQGEN_ETRUNCATED,
 * ::SEQGEN_ETRAILING (the data is shorter or longer than the shape says), ::SEQGEN_EMISMATCH (a
 * companion's length is not N), ::SEQGEN_ERANGE (a unit not 0 or 1, a length outside [1, T]),
 * ::SEQGEN_ENOMEM, ::SEQGEN_EINVAL (NULL @p out or @p units_path).
 * @param[out] out Receives the new dataset; free it with seqgen_dataset_free().
 * @param units_path The sequences.
 * @param labels_path NULL, or the labels.
 * @param lengths_path NULL, or the lengths.
 * @return ::SEQGEN_OK or a negative status.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_dataset_open_npy(seqgen_dataset **out,
                                                       const char *units_path,
                                                       const char *labels_path,
                                                       const char *lengths_path);

/**
 * @brief What an IDX dataset may make the library allocate.
 *
 * A gzip file expands up to about 1000 times, so a 1 MB file can hold a gigabyte of pixels, and a
 * header can claim 4 billion images of 4 billion pixels: the openers of IDX files check the
 * header's sizes against these limits before anything is allocated for them, and then read the
 * data into a buffer that grows with the data actually decompressed. Start from
 * seqgen_data_limits_default() and raise (or lower) a field to open a larger (or to refuse a
 * smaller) dataset; every field must be >= 1.
 *
 * What the dataset then costs elsewhere follows from them: a batch iterator takes
 * `min(B, N) * units * 4` bytes for a batch of floats and 4 bytes per image for the epoch order,
 * the nearest-neighbour index `units / 8` bytes per image (rounded up to 8 bytes), a model's
 * activations grow with the units per sequence (its steps).
 */
typedef struct seqgen_data_limits {
    uint64_t max_bytes;     /**< The most memory the dataset's arrays may take: one byte per
                                 pixel and 8 per label (`N * (rows * cols + 8)`); also the most
                                 bytes of data read from one file. Default 2^30 (1 GiB). */
    uint64_t max_units;     /**< The most units (pixels) in one sequence, `rows * cols` of an
                                 image: a model runs that many steps per sequence, and a batch of
                                 B sequences takes `B * units * 4` bytes. Default 2^20 (a 1024 x
                                 1024 image; MNIST has 784). */
    uint64_t max_sequences; /**< The most sequences (images) N. Default 2^32 - 1, also the
                                 largest value accepted (the epoch order holds 32-bit indices). */
} seqgen_data_limits;

/**
 * @brief The default limits: 1 GiB of data, 2^20 units per sequence, 2^32 - 1 sequences.
 *
 * These open the official MNIST (47 MB of training pixels) and Fashion-MNIST with room to spare.
 * @return The limits, to be changed field by field.
 */
SEQGEN_API seqgen_data_limits seqgen_data_limits_default(void);

/**
 * @brief Opens a pair of IDX files: images (magic 0x00000803) and labels (0x00000801).
 *
 * The same as seqgen_dataset_open_with_limits() with the default limits.
 * @param[out] out         Receives the new dataset; free it with seqgen_dataset_free().
 * @param      images_path Path of the images file.
 * @param      labels_path Path of the labels file.
 * @return ::SEQGEN_OK or a negative status.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_dataset_open(seqgen_dataset **out, const char *images_path,
                                                   const char *labels_path);

/**
 * @brief Opens a pair of IDX files within given limits.
 *
 * Each file must be a regular file (a FIFO, a device or a directory is refused before anything
 * can block on it), plain or gzip-compressed (told by the content, not the name; members of a
 * concatenated gzip file are read one after the other, and every member must end with its
 * trailer, whose CRC-32 and length are checked; bytes after the last member are refused). Both
 * headers are checked before any data is read: the images' sizes and the dataset's memory against
 * @p limits, the two counts against each other. Everything is checked before use; on failure
 * nothing is allocated and the detail names the file, the sizes and, for gzip data, the byte of
 * the file where the damage was found and the bytes decompressed before it:
 * ::SEQGEN_ENOENT (missing file), ::SEQGEN_EIO (unreadable), ::SEQGEN_EFORMAT (not a regular
 * file; bad magic, element type other than unsigned byte, wrong number of dimensions),
 * ::SEQGEN_EOVERFLOW (a size of 0, or sizes beyond @p limits), ::SEQGEN_ETRUNCATED (the file or a
 * gzip member ends early, a trailer is missing), ::SEQGEN_ETRAILING (bytes after the data or
 * after the last gzip member), ::SEQGEN_ECOMPRESSED (corrupt gzip data, a CRC-32 or length that
 * does not match), ::SEQGEN_EMISMATCH (image and label counts differ), ::SEQGEN_ERANGE (a label
 * outside 0-9), ::SEQGEN_ENOMEM, ::SEQGEN_EINVAL (NULL argument, a limit of 0 or a
 * `max_sequences` above 2^32 - 1).
 * @param[out] out         Receives the new dataset; free it with seqgen_dataset_free().
 * @param      images_path Path of the images file.
 * @param      labels_path Path of the labels file.
 * @param      limits      The limits; NULL means seqgen_data_limits_default().
 * @return ::SEQGEN_OK or a negative status.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_dataset_open_with_limits(seqgen_dataset **out,
                                                               const char *images_path,
                                                               const char *labels_path,
                                                               const seqgen_data_limits *limits);

/**
 * @brief Opens one split of a directory holding the standard MNIST file names.
 *
 * The same as seqgen_dataset_open_dir_with_limits() with the default limits.
 * @param[out] out   Receives the new dataset; free it with seqgen_dataset_free().
 * @param      dir   The directory.
 * @param      split ::SEQGEN_SPLIT_TRAIN or ::SEQGEN_SPLIT_TEST.
 * @return ::SEQGEN_OK or a negative status.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_dataset_open_dir(seqgen_dataset **out, const char *dir,
                                                       seqgen_split split);

/**
 * @brief Opens one split of a directory holding the standard MNIST file names, within given
 *        limits.
 *
 * For the training split it reads `DIR/train-images-idx3-ubyte` and
 * `DIR/train-labels-idx1-ubyte`, for the test split the `t10k-` files; each may instead be named
 * with a `.gz` suffix. When both the plain and the `.gz` name exist, the plain file is used (it
 * reads faster). This reads the official MNIST download, Fashion-MNIST (e.g. Debian's
 * `/usr/share/datasets/fashion-mnist`) and the bundled `data/mnist10k`. Errors as
 * seqgen_dataset_open_with_limits(), plus ::SEQGEN_ENOENT naming the directory when it or the
 * expected files do not exist.
 * @param[out] out    Receives the new dataset; free it with seqgen_dataset_free().
 * @param      dir    The directory.
 * @param      split  ::SEQGEN_SPLIT_TRAIN or ::SEQGEN_SPLIT_TEST.
 * @param      limits The limits; NULL means seqgen_data_limits_default().
 * @return ::SEQGEN_OK or a negative status.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_dataset_open_dir_with_limits(seqgen_dataset **out,
                                                                   const char *dir,
                                                                   seqgen_split split,
                                                                   const seqgen_data_limits *limits);

/**
 * @brief Frees a dataset and everything it owns (not the arrays it borrows).
 * @param ds The dataset, or NULL (no-op). Iterators over it must be freed first.
 */
SEQGEN_API void seqgen_dataset_free(seqgen_dataset *ds);

/**
 * @brief The number of sequences N (after any seqgen_dataset_limit()).
 * @param ds The dataset.
 * @return The count, 0 if `ds` is NULL.
 */
SEQGEN_API size_t seqgen_dataset_count(const seqgen_dataset *ds);

/**
 * @brief T, the steps of a sequence (the longest, when lengths vary): 784 for MNIST.
 * @param ds The dataset.
 * @return T, 0 if `ds` is NULL.
 */
SEQGEN_API size_t seqgen_dataset_steps(const seqgen_dataset *ds);

/**
 * @brief D0, the units of the data's natural step: 1 for images and `[N][T]` arrays.
 * @param ds The dataset.
 * @return D0, 0 if `ds` is NULL.
 */
SEQGEN_API size_t seqgen_dataset_units_per_step(const seqgen_dataset *ds);

/**
 * @brief Units per sequence, T * D0 (784 for MNIST): the length of a sequence in the float
 *        arrays of seqgen_dataset_sequences() and seqgen_dataset_nearest().
 * @param ds The dataset.
 * @return The number of units, 0 if `ds` is NULL.
 */
SEQGEN_API size_t seqgen_dataset_units(const seqgen_dataset *ds);

/**
 * @brief The shape of a sequence drawn as a picture: an image's rows (28 for MNIST); T for
 *        other data.
 * @param ds The dataset.
 * @return The number of rows, 0 if `ds` is NULL.
 */
SEQGEN_API size_t seqgen_dataset_rows(const seqgen_dataset *ds);

/**
 * @brief The shape of a sequence drawn as a picture: an image's columns (28 for MNIST); D0 for
 *        other data.
 * @param ds The dataset.
 * @return The number of columns, 0 if `ds` is NULL.
 */
SEQGEN_API size_t seqgen_dataset_cols(const seqgen_dataset *ds);

/**
 * @brief Whether the units are binary (memory and `.npy` data) or intensities to binarise (IDX
 *        images).
 * @param ds The dataset.
 * @return 1 for binary data, 0 for intensities or a NULL `ds`.
 */
SEQGEN_API int seqgen_dataset_is_binary(const seqgen_dataset *ds);

/**
 * @brief The raw bytes of one sequence.
 * @param ds    The dataset.
 * @param index 0 <= index < seqgen_dataset_count().
 * @return seqgen_dataset_units() bytes owned (or borrowed) by the dataset: 0 or 1 for binary
 *         data (padding after the sequence's length as the source had it), 0 (background) to
 *         255 (ink) for images, row-major; NULL if `ds` is NULL or `index` is out of range.
 */
SEQGEN_API const uint8_t *seqgen_dataset_raw(const seqgen_dataset *ds, size_t index);

/**
 * @brief Whether the sequences have their own lengths.
 * @param ds The dataset.
 * @return 1 if lengths were given, 0 if every sequence has T steps (or `ds` is NULL).
 */
SEQGEN_API int seqgen_dataset_has_lengths(const seqgen_dataset *ds);

/**
 * @brief The length of one sequence, in the data's natural steps (of D0 units).
 * @param ds    The dataset.
 * @param index 0 <= index < seqgen_dataset_count().
 * @return The length, 1 to T (T for data without lengths); 0 if `ds` is NULL or `index` is out
 *         of range.
 */
SEQGEN_API size_t seqgen_dataset_length(const seqgen_dataset *ds, size_t index);

/**
 * @brief Whether the sequences have labels.
 * @param ds The dataset.
 * @return 1 if they do (images always do: 0-9), 0 if not (or `ds` is NULL).
 */
SEQGEN_API int seqgen_dataset_has_labels(const seqgen_dataset *ds);

/**
 * @brief The label of one sequence.
 * @param ds    The dataset.
 * @param index 0 <= index < seqgen_dataset_count().
 * @param[out] label Receives the label.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (NULL argument, index out of range) or ::SEQGEN_ESTATE
 *         (the dataset has no labels).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_dataset_label(const seqgen_dataset *ds, size_t index,
                                                    int64_t *label);

/**
 * @brief Keeps only the first `count` sequences, for quick runs.
 *
 * A `count` at or above the current count keeps every sequence. Iterators must be created
 * after this call.
 * @param ds    The dataset.
 * @param count How many sequences to keep, >= 1.
 * @return ::SEQGEN_OK, or ::SEQGEN_EINVAL if `ds` is NULL or `count` is 0.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_dataset_limit(seqgen_dataset *ds, size_t count);

/** How intensities (IDX images) become binary units; binary data is used as it is. */
typedef enum seqgen_binarize_mode {
    SEQGEN_BINARIZE_THRESHOLD = 0, /**< pixel = 1 iff byte > threshold (deterministic). */
    SEQGEN_BINARIZE_STOCHASTIC = 1 /**< pixel = 1 with probability byte / 255. */
} seqgen_binarize_mode;

/** Binarisation settings of intensity data (ignored for binary data). Start from
 *  ::SEQGEN_BINARIZE_CONFIG_DEFAULT. */
typedef struct seqgen_binarize_config {
    seqgen_binarize_mode mode; /**< Default ::SEQGEN_BINARIZE_THRESHOLD. */
    uint8_t threshold;         /**< Threshold mode: pixel = 1 iff byte > threshold; default 127
                                    (value > 0.5, as the original project). */
    uint64_t seed;             /**< Stochastic mode: seed of the binarisation generator. */
    int resample_each_epoch;   /**< Stochastic mode: 0 (default) draws one fixed binary image per
                                    image, as the standard binarised-MNIST benchmark; 1 draws
                                    new pixels every epoch. */
} seqgen_binarize_config;

/** Threshold at 127 (byte > 127 is ink). */
#define SEQGEN_BINARIZE_CONFIG_DEFAULT { SEQGEN_BINARIZE_THRESHOLD, 127, 0, 0 }

/**
 * @brief Writes the binary sequences of chosen indices as floats.
 *
 * The batch layout of the header's conventions, for any units per step: with U =
 * seqgen_dataset_units(), `out[b * U + u]` is unit `u` of sequence `indices[b]`, 0.0f or 1.0f;
 * the units after a sequence's length are 0.0f.
 * @param ds       The dataset.
 * @param indices  `count` sequence indices, each < seqgen_dataset_count(); repeats are allowed.
 * @param count    Number of sequences.
 * @param binarize How to binarise intensities; NULL means ::SEQGEN_BINARIZE_CONFIG_DEFAULT.
 * @param epoch    The epoch, which matters only for stochastic binarisation with
 *                 `resample_each_epoch`.
 * @param[out] out `count * seqgen_dataset_units()` floats.
 * @return ::SEQGEN_OK, or ::SEQGEN_EINVAL (NULL pointer, index out of range, bad mode).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_dataset_sequences(const seqgen_dataset *ds,
                                                        const size_t *indices, size_t count,
                                                        const seqgen_binarize_config *binarize,
                                                        uint64_t epoch, float *out);

/**
 * @brief Exact nearest dataset sequence in Hamming distance, for each of a batch of binary
 *        sequences.
 *
 * Sequences are compared as binary units over all seqgen_dataset_units() units, padding
 * included (as 0): a dataset unit is 1 iff it is 1 (binary data) or its byte > 127 (images), a
 * query's iff its value > 0.5 (so 0/1 sequences, as made by seqgen_dataset_sequences() or
 * generated by a model, and probabilities both work). The distance is the number of differing
 * units; ties go to the lowest index. The first call builds a bit-packed copy of the dataset
 * (one bit per unit, rounded up to 64-bit words: 104 bytes per 28x28 image, kept until the
 * dataset is freed); searches then use XOR and popcount on those words over blocks of queries.
 * @param ds            The dataset searched (e.g. the training set).
 * @param queries       `count * seqgen_dataset_units()` floats, in the sequence layout.
 * @param count         Number of queries.
 * @param[out] nearest  `count` indices of the nearest dataset sequences.
 * @param[out] distance NULL, or `count` Hamming distances to them.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (NULL argument) or ::SEQGEN_ENOMEM (building the index).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_dataset_nearest(seqgen_dataset *ds, const float *queries,
                                                      size_t count, size_t *nearest,
                                                      uint32_t *distance);

/** An epoch iterator over a dataset, yielding batches of sequences. */
typedef struct seqgen_batch_iter seqgen_batch_iter;

/** Batch iterator settings. Start from ::SEQGEN_BATCH_CONFIG_DEFAULT. */
typedef struct seqgen_batch_config {
    size_t batch_size;               /**< B, the sequences per batch; >= 1, default 64. */
    size_t units_per_step;           /**< D: a multiple of the data's D0 dividing its T * D0
                                          units (D0 itself when lengths vary); default 1. */
    int shuffle;                     /**< 1 (default): a new random order each epoch; 0: in
                                          dataset order. */
    uint64_t seed;                   /**< Seed of the shuffle generator; default 0. */
    int drop_last;                   /**< 1: skip the last batch of an epoch if it has fewer than
                                          B sequences; 0 (default): keep it. */
    seqgen_binarize_config binarize; /**< How intensities are binarised. */
} seqgen_batch_config;

/** Batches of 64, one unit per step, shuffled with seed 0, last batch kept, threshold 127. */
#define SEQGEN_BATCH_CONFIG_DEFAULT { 64, 1, 1, 0, 0, SEQGEN_BINARIZE_CONFIG_DEFAULT }

/**
 * @brief Creates a batch iterator at the start of epoch 0.
 *
 * All its memory (the order, one batch of sequences, labels, lengths and indices) is allocated
 * here; nothing is allocated per batch. The dataset must outlive the iterator and not be limited
 * while it exists.
 * @param[out] out Receives the iterator; free it with seqgen_batch_iter_free().
 * @param      ds  The dataset (read only).
 * @param      cfg The settings; NULL means ::SEQGEN_BATCH_CONFIG_DEFAULT.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (batch size 0, bad binarisation mode, or drop_last with
 *         fewer sequences than one batch), ::SEQGEN_EMISMATCH (D is not a multiple of the data's
 *         D0 dividing its units, or not D0 when lengths vary: the detail names both),
 *         ::SEQGEN_ENOMEM.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_batch_iter_create(seqgen_batch_iter **out,
                                                        const seqgen_dataset *ds,
                                                        const seqgen_batch_config *cfg);

/**
 * @brief Frees an iterator.
 * @param it The iterator, or NULL (no-op).
 */
SEQGEN_API void seqgen_batch_iter_free(seqgen_batch_iter *it);

/**
 * @brief The next batch of the current epoch.
 *
 * Typical loop: `while ((s = seqgen_batch_iter_next(it, &x, &n)) == SEQGEN_OK) train(x, n);`
 * then `s == SEQGEN_DONE` at the end of the epoch. Returning ::SEQGEN_DONE moves the iterator to
 * position 0 of the next epoch, so the next call starts it.
 * @param it             The iterator.
 * @param[out] sequences On ::SEQGEN_OK, the batch: `count * T * D` floats in the layout
 *                       `[count][T][D]`, owned by the iterator, valid until the next call.
 * @param[out] count     On ::SEQGEN_OK, the number of sequences in the batch (B, or fewer for
 *                       the last batch); 0 on ::SEQGEN_DONE.
 * @return ::SEQGEN_OK, ::SEQGEN_DONE, or ::SEQGEN_EINVAL (NULL argument).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_batch_iter_next(seqgen_batch_iter *it,
                                                      const float **sequences, size_t *count);

/**
 * @brief The labels of the sequences in the last batch returned.
 * @param it The iterator.
 * @return `count` labels owned by the iterator, valid until the next call; NULL if `it` is NULL
 *         or the dataset has no labels.
 */
SEQGEN_API const int64_t *seqgen_batch_iter_labels(const seqgen_batch_iter *it);

/**
 * @brief The lengths of the sequences in the last batch returned, in steps: what
 *        seqgen_batch::lengths takes.
 * @param it The iterator.
 * @return `count` lengths (1 to T) owned by the iterator, valid until the next call; NULL if
 *         `it` is NULL or every sequence has T steps.
 */
SEQGEN_API const size_t *seqgen_batch_iter_lengths(const seqgen_batch_iter *it);

/**
 * @brief The dataset indices of the sequences in the last batch returned.
 * @param it The iterator.
 * @return `count` indices owned by the iterator, valid until the next call; NULL if `it` is NULL.
 */
SEQGEN_API const size_t *seqgen_batch_iter_indices(const seqgen_batch_iter *it);

/**
 * @brief The number of steps T of each sequence (the longest), `seqgen_dataset_units() / D`.
 * @param it The iterator.
 * @return T, 0 if `it` is NULL.
 */
SEQGEN_API size_t seqgen_batch_iter_steps(const seqgen_batch_iter *it);

/**
 * @brief The number of batches in one epoch (taking drop_last into account).
 * @param it The iterator.
 * @return The count, 0 if `it` is NULL.
 */
SEQGEN_API size_t seqgen_batch_iter_batches_per_epoch(const seqgen_batch_iter *it);

/**
 * @brief The current epoch, counted from 0.
 * @param it The iterator.
 * @return The epoch, 0 if `it` is NULL.
 */
SEQGEN_API uint64_t seqgen_batch_iter_epoch(const seqgen_batch_iter *it);

/**
 * @brief How many sequences of the current epoch have been handed out.
 * @param it The iterator.
 * @return The position, 0 if `it` is NULL.
 */
SEQGEN_API size_t seqgen_batch_iter_position(const seqgen_batch_iter *it);

/**
 * @brief Moves to a given epoch and position, e.g. to resume an interrupted run exactly.
 *
 * The iterator then yields exactly what one that had run up to that point would.
 * @param it       The iterator.
 * @param epoch    The epoch.
 * @param position Sequences of that epoch already handed out, 0 <= position <= count.
 * @return ::SEQGEN_OK or ::SEQGEN_EINVAL (NULL iterator, position beyond the dataset).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_batch_iter_seek(seqgen_batch_iter *it, uint64_t epoch,
                                                      size_t position);
/** @} */

/* ==== Vocabulary and symbol data ============================================================= */

/** @name Vocabulary and symbol data
 *  Sequences of symbols for a categorical model (seqgen_model_config::vocab, docs/symbols.md):
 *  a vocabulary of Unicode characters, datasets of int32 symbol ids from memory or from text
 *  files (one sequence per line), and their batch iterator.
 *
 *  **A symbol is a Unicode code point**, read from UTF-8, not a byte: a user's text in any
 *  language then has one symbol per character (an "é" or a "ж" is one step and one row of the
 *  embedding, not two bytes the model would have to learn to pair), and every generated
 *  sequence of symbols is valid UTF-8.
 *
 *  A ::seqgen_vocab is V symbols: id 0 is the reserved **end symbol** (::SEQGEN_VOCAB_END),
 *  which ends every sequence read from a line of text, so that a model learns where a line
 *  stops and generation can stop there; ids 1 to V - 1 are the distinct code points, in
 *  increasing order of code point, so that the same set of characters always gives the same
 *  ids. Line ends (U+000A LF, U+000D CR) and U+0000 are never symbols. V is at most
 *  ::SEQGEN_VOCAB_MAX, the largest vocabulary of a model.
 *
 *  A ::seqgen_symbol_dataset holds N sequences of int32 ids in [0, V), each with its own
 *  length, padded with the end symbol to T, the longest length. A vocabulary, a dataset and an
 *  iterator follow the dataset's thread rules: `const` calls may share a handle.
 *  @{ */

/** A vocabulary: the end symbol and the code points of the characters (see the group). */
typedef struct seqgen_vocab seqgen_vocab;

/** The id of the end symbol, which marks the end of a line. */
#define SEQGEN_VOCAB_END 0
/** The largest vocabulary V, the end symbol included (a model's largest seqgen_model_config::vocab). */
#define SEQGEN_VOCAB_MAX 65536

/**
 * @brief A vocabulary of given code points.
 *
 * Id i (1 <= i <= count) is `code_points[i - 1]`; id 0 is the end symbol.
 * @param[out] out Receives the vocabulary; free it with seqgen_vocab_free().
 * @param code_points `count` Unicode scalar values in strictly increasing order, none of them
 *        U+0000, LF or CR.
 * @param count 1 to ::SEQGEN_VOCAB_MAX - 1.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (NULL argument; a count out of range; a value that is
 *         not a scalar value, a line end or NUL, or out of order: the detail names its index)
 *         or ::SEQGEN_ENOMEM.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_vocab_create(seqgen_vocab **out,
                                                   const uint32_t *code_points, size_t count);

/**
 * @brief The vocabulary of a text: the end symbol and every distinct character in it.
 *
 * Line ends (LF, CR) are not characters of the vocabulary.
 * @param[out] out Receives the vocabulary; free it with seqgen_vocab_free().
 * @param text UTF-8 text (not NUL-terminated: @p bytes says how long).
 * @param bytes Its length in bytes.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (NULL argument; no character but line ends),
 *         ::SEQGEN_EFORMAT (not valid UTF-8, or a NUL byte: the detail names the byte offset),
 *         ::SEQGEN_EOVERFLOW (more than ::SEQGEN_VOCAB_MAX - 1 distinct characters) or
 *         ::SEQGEN_ENOMEM.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_vocab_from_text(seqgen_vocab **out, const char *text,
                                                      size_t bytes);

/**
 * @brief Frees a vocabulary.
 * @param vocab The vocabulary, or NULL (no-op).
 */
SEQGEN_API void seqgen_vocab_free(seqgen_vocab *vocab);

/**
 * @brief V, the number of symbols, the end symbol included: what seqgen_model_config::vocab
 *        must be.
 * @param vocab The vocabulary.
 * @return V (2 to ::SEQGEN_VOCAB_MAX), 0 if @p vocab is NULL.
 */
SEQGEN_API size_t seqgen_vocab_size(const seqgen_vocab *vocab);

/**
 * @brief The code point of a symbol.
 * @param vocab The vocabulary.
 * @param id The symbol's id.
 * @return Its code point; -1 for the end symbol, an id >= V or a NULL @p vocab.
 */
SEQGEN_API int32_t seqgen_vocab_code_point(const seqgen_vocab *vocab, size_t id);

/**
 * @brief The UTF-8 text of a symbol.
 * @param vocab The vocabulary.
 * @param id The symbol's id.
 * @return A NUL-terminated string of 1 to 4 bytes owned by the vocabulary; "" for the end
 *         symbol; NULL for an id >= V or a NULL @p vocab.
 */
SEQGEN_API const char *seqgen_vocab_symbol_text(const seqgen_vocab *vocab, size_t id);

/**
 * @brief The id of a code point (a binary search).
 * @param vocab The vocabulary.
 * @param code_point The code point.
 * @return Its id, 1 to V - 1; -1 if it is not in the vocabulary or @p vocab is NULL.
 */
SEQGEN_API int32_t seqgen_vocab_id(const seqgen_vocab *vocab, uint32_t code_point);

/**
 * @brief The ids of the characters of a UTF-8 text, one per character (no end symbol added).
 *
 * With @p ids NULL and @p capacity 0 it only counts them.
 * @param vocab The vocabulary.
 * @param text UTF-8 text (not NUL-terminated).
 * @param bytes Its length in bytes.
 * @param[out] ids `capacity` ids; at most @p bytes are needed.
 * @param capacity The room in @p ids.
 * @param[out] count Receives the number of characters.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (NULL argument; a character not in the vocabulary, the
 *         detail naming it (U+XXXX and the character) and its byte offset; @p capacity too
 *         small) or ::SEQGEN_EFORMAT (not valid UTF-8: the detail names the byte offset).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_vocab_encode(const seqgen_vocab *vocab, const char *text,
                                                   size_t bytes, int32_t *ids, size_t capacity,
                                                   size_t *count);

/**
 * @brief The UTF-8 text of a sequence of ids, up to its first end symbol (which ends it).
 *
 * With @p text NULL and @p capacity 0 it only measures it.
 * @param vocab The vocabulary.
 * @param ids `count` ids in [0, V).
 * @param count How many.
 * @param[out] text `capacity` bytes: the text and a NUL; `4 * count + 1` is always enough.
 * @param capacity The room in @p text.
 * @param[out] bytes Receives the length of the text in bytes, the NUL not counted.
 * @return ::SEQGEN_OK or ::SEQGEN_EINVAL (NULL argument; an id out of range, the detail
 *         naming its position; @p capacity too small).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_vocab_decode(const seqgen_vocab *vocab, const int32_t *ids,
                                                   size_t count, char *text, size_t capacity,
                                                   size_t *bytes);

/** A set of sequences of symbols (see the group). */
typedef struct seqgen_symbol_dataset seqgen_symbol_dataset;

/** Sequences of symbols in memory, described for seqgen_symbol_dataset_from_memory(). */
typedef struct seqgen_symbol_sequences {
    const int32_t *symbols; /**< `[count][steps]` ids, each in [0, vocab) within a sequence's
                                 length; the padding after it is never read. */
    size_t count;           /**< N >= 1. */
    size_t steps;           /**< T >= 1, the longest length. */
    const size_t *lengths;  /**< NULL: every sequence has T symbols; else `[count]` lengths in
                                 [1, T]. */
    size_t vocab;           /**< V, 2 to ::SEQGEN_VOCAB_MAX. */
} seqgen_symbol_sequences;

/**
 * @brief A dataset of symbol sequences copied from memory.
 *
 * Everything is checked before the dataset exists; the padding is stored as the end symbol.
 * @param[out] out Receives the dataset; free it with seqgen_symbol_dataset_free().
 * @param seqs The arrays and their shape.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (NULL pointer, a size of 0, V out of range),
 *         ::SEQGEN_EOVERFLOW (more than 2^32 - 1 sequences, or sizes that overflow),
 *         ::SEQGEN_ERANGE (a length outside [1, T] or a symbol outside [0, V), naming the
 *         sequence and step) or ::SEQGEN_ENOMEM.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_symbol_dataset_from_memory(
    seqgen_symbol_dataset **out, const seqgen_symbol_sequences *seqs);

/** How seqgen_symbol_dataset_open_text() reads a file. Start from
 *  seqgen_text_options_default(). */
typedef struct seqgen_text_options {
    const seqgen_vocab *vocab; /**< NULL (default): the vocabulary is built from the whole file
                                    (both parts of a split). Else the characters must be in
                                    this one (e.g. the training file's, to read its test file). */
    size_t holdout_every;      /**< k: 0 (default) keeps every sequence; k >= 2 puts sequences
                                    k - 1, 2k - 1, ... (every k-th non-empty line, counted from
                                    0) into the held-out set and the others into the training
                                    set. */
    uint64_t max_bytes;        /**< The largest file read, in bytes, and the most each
                                    dataset's padded arrays may take, N (4 T + 8) bytes (so
                                    that one long line among many short ones cannot make a
                                    small file take gigabytes). Default 2^30 (1 GiB). */
    size_t max_line_symbols;   /**< The most characters in a line (T is that plus the end
                                    symbol). Default 4096. */
    size_t max_sequences;      /**< The most non-empty lines. Default 2^32 - 1, the largest
                                    accepted. */
} seqgen_text_options;

/**
 * @brief The defaults: a vocabulary from the file, no held-out set, 1 GiB, 4096 characters a
 *        line, 2^32 - 1 lines.
 * @return The options, to be changed field by field.
 */
SEQGEN_API seqgen_text_options seqgen_text_options_default(void);

/**
 * @brief Opens a text file of one sequence per line.
 *
 * The file is UTF-8 text; each line (ended by LF or CRLF, the last one possibly by the end of
 * the file) is one sequence: its characters' ids, then the end symbol, so a line of n
 * characters is a sequence of n + 1 symbols, and T is the longest line's plus one. Empty lines
 * are skipped (they are no sequence, not even one of just the end symbol; a blank line at the
 * end of a word list is common); errors count lines from 1 in the file as it is, empty ones
 * included. A UTF-8 byte order mark at the start is skipped. Only a regular file is read,
 * whole, after its size is checked. Refused, each with a detail naming the file and the line
 * and column (in characters, from 1) or byte offset (from 0): ::SEQGEN_ENOENT, ::SEQGEN_EIO,
 * ::SEQGEN_EFORMAT (not a regular file; not valid UTF-8 (an overlong form, a surrogate, a
 * value above U+10FFFF, a stray byte); a NUL byte, the sign of a binary file; a CR not before
 * an LF; no non-empty line), ::SEQGEN_ETRUNCATED (a multibyte character cut by the end of the
 * file), ::SEQGEN_EOVERFLOW (a file, a line or a count of lines beyond the limits of @p opts;
 * more than ::SEQGEN_VOCAB_MAX - 1 distinct characters), ::SEQGEN_ERANGE (a character not in
 * the given vocabulary), ::SEQGEN_EINVAL (NULL argument, bad options, a split that leaves a
 * part empty), ::SEQGEN_ENOMEM.
 * @param[out] train Receives the sequences (all, or the training part of a split); free it
 *        with seqgen_symbol_dataset_free().
 * @param[out] heldout With seqgen_text_options::holdout_every >= 2, receives the held-out
 *        part (must not be NULL then); else set to NULL if not NULL.
 * @param[out] vocab NULL, or receives the vocabulary (a new one, a copy of the given one if
 *        any); free it with seqgen_vocab_free().
 * @param path The file.
 * @param opts The options; NULL means seqgen_text_options_default().
 * @return ::SEQGEN_OK or a negative status.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_symbol_dataset_open_text(seqgen_symbol_dataset **train,
                                                               seqgen_symbol_dataset **heldout,
                                                               seqgen_vocab **vocab,
                                                               const char *path,
                                                               const seqgen_text_options *opts);

/**
 * @brief Frees a symbol dataset.
 * @param ds The dataset, or NULL (no-op). Iterators over it must be freed first.
 */
SEQGEN_API void seqgen_symbol_dataset_free(seqgen_symbol_dataset *ds);

/**
 * @brief N, the number of sequences.
 * @param ds The dataset.
 * @return N, 0 if @p ds is NULL.
 */
SEQGEN_API size_t seqgen_symbol_dataset_count(const seqgen_symbol_dataset *ds);

/**
 * @brief T, the longest length (of a text file: the longest line's characters plus one).
 * @param ds The dataset.
 * @return T, 0 if @p ds is NULL.
 */
SEQGEN_API size_t seqgen_symbol_dataset_steps(const seqgen_symbol_dataset *ds);

/**
 * @brief V, the size of the vocabulary the ids are in.
 * @param ds The dataset.
 * @return V, 0 if @p ds is NULL.
 */
SEQGEN_API size_t seqgen_symbol_dataset_vocab_size(const seqgen_symbol_dataset *ds);

/**
 * @brief The length of one sequence, in symbols (the end symbol included, for text).
 * @param ds The dataset.
 * @param index 0 <= index < N.
 * @return 1 to T; 0 if @p ds is NULL or @p index out of range.
 */
SEQGEN_API size_t seqgen_symbol_dataset_length(const seqgen_symbol_dataset *ds, size_t index);

/**
 * @brief The symbols of one sequence.
 * @param ds The dataset.
 * @param index 0 <= index < N.
 * @return T ids owned by the dataset, the end symbol after its length; NULL if @p ds is NULL
 *         or @p index out of range.
 */
SEQGEN_API const int32_t *seqgen_symbol_dataset_sequence(const seqgen_symbol_dataset *ds,
                                                         size_t index);

/**
 * @brief A checksum of a dataset's contents: N, T, V, and each sequence's length and ids.
 *
 * 64-bit FNV-1a over those values as little-endian u64 (N, T, V, then for each sequence its
 * length and its ids up to that length), from the offset basis XOR @p previous, so that the
 * checksums of several datasets chain: `seqgen_symbol_dataset_checksum(b,
 * seqgen_symbol_dataset_checksum(a, 0))`. The same sequences give the same checksum on every
 * machine; a program resuming a run over a text compares it with the one saved
 * (seqgen_run_config::data_checksum) to refuse a file that has changed.
 * @param ds The dataset.
 * @param previous 0, or the checksum of the datasets before this one.
 * @return The checksum; @p previous if @p ds is NULL.
 */
SEQGEN_API uint64_t seqgen_symbol_dataset_checksum(const seqgen_symbol_dataset *ds,
                                                   uint64_t previous);

/** An epoch iterator over a symbol dataset, yielding batches of symbols. */
typedef struct seqgen_symbol_iter seqgen_symbol_iter;

/**
 * @brief Creates an iterator of batches of symbols at the start of epoch 0.
 *
 * The order of an epoch is that of seqgen_batch_iter_create() (the same shuffle of the same
 * count with the same seed). All its memory is allocated here. The dataset must outlive it.
 * @param[out] out Receives the iterator; free it with seqgen_symbol_iter_free().
 * @param ds The dataset (read only).
 * @param cfg The settings: batch_size, shuffle, seed and drop_last as for
 *        seqgen_batch_iter_create(); units_per_step must be 1; binarize is ignored. NULL means
 *        ::SEQGEN_BATCH_CONFIG_DEFAULT.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (NULL argument, batch size 0, units_per_step not 1,
 *         drop_last with fewer sequences than a batch) or ::SEQGEN_ENOMEM.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_symbol_iter_create(seqgen_symbol_iter **out,
                                                         const seqgen_symbol_dataset *ds,
                                                         const seqgen_batch_config *cfg);

/**
 * @brief Frees an iterator.
 * @param it The iterator, or NULL (no-op).
 */
SEQGEN_API void seqgen_symbol_iter_free(seqgen_symbol_iter *it);

/**
 * @brief The next batch of the current epoch, as seqgen_batch_iter_next().
 *
 * The batch is what seqgen_symbol_batch_of_sequences() takes (`length` = T =
 * seqgen_symbol_iter_steps()), with seqgen_symbol_iter_lengths() as its
 * seqgen_symbol_batch::lengths.
 * @param it The iterator.
 * @param[out] symbols On ::SEQGEN_OK, `[count][T]` ids owned by the iterator (the end symbol
 *        after each sequence's length), valid until the next call.
 * @param[out] count On ::SEQGEN_OK, the number of sequences (B, or fewer for the last batch);
 *        0 on ::SEQGEN_DONE.
 * @return ::SEQGEN_OK, ::SEQGEN_DONE (the epoch ended; the next call starts the next one) or
 *         ::SEQGEN_EINVAL (NULL argument).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_symbol_iter_next(seqgen_symbol_iter *it,
                                                       const int32_t **symbols, size_t *count);

/**
 * @brief The lengths of the sequences of the last batch, in symbols.
 * @param it The iterator.
 * @return `count` lengths owned by the iterator; NULL if @p it is NULL.
 */
SEQGEN_API const size_t *seqgen_symbol_iter_lengths(const seqgen_symbol_iter *it);

/**
 * @brief The dataset indices of the sequences of the last batch.
 * @param it The iterator.
 * @return `count` indices owned by the iterator; NULL if @p it is NULL.
 */
SEQGEN_API const size_t *seqgen_symbol_iter_indices(const seqgen_symbol_iter *it);

/**
 * @brief T, the symbols of each sequence of a batch (the dataset's longest length).
 * @param it The iterator.
 * @return T, 0 if @p it is NULL.
 */
SEQGEN_API size_t seqgen_symbol_iter_steps(const seqgen_symbol_iter *it);

/**
 * @brief The current epoch, counted from 0.
 * @param it The iterator.
 * @return The epoch, 0 if @p it is NULL.
 */
SEQGEN_API uint64_t seqgen_symbol_iter_epoch(const seqgen_symbol_iter *it);

/**
 * @brief How many sequences of the current epoch have been handed out.
 * @param it The iterator.
 * @return The position, 0 if @p it is NULL.
 */
SEQGEN_API size_t seqgen_symbol_iter_position(const seqgen_symbol_iter *it);

/**
 * @brief Moves to a given epoch and position, as seqgen_batch_iter_seek().
 * @param it The iterator.
 * @param epoch The epoch.
 * @param position Sequences of that epoch already handed out, at most N.
 * @return ::SEQGEN_OK or ::SEQGEN_EINVAL (NULL iterator, position beyond N).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_symbol_iter_seek(seqgen_symbol_iter *it, uint64_t epoch,
                                                       size_t position);
/** @} */

/* ==== Model ================================================================================== */

/**
 * @defgroup model Model: a stack of GRU layers predicting the next step's units
 * @brief PyTorch's `nn.GRU(D, H, L, batch_first=True)` followed by `nn.Linear(H, D)` and a sigmoid.
 *
 * At step t the input is the D units of step t and the output is, for each unit of step
 * t + 1, the probability that it is 1. With x the input of a layer (the units for layer 0, the
 * hidden state of the layer below otherwise) and h its previous hidden state (zero at t = 0),
 * each layer computes, exactly as PyTorch (gate order r, z, n; b_hn inside the reset product):
 *
 *     r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
 *     z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *     n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *     h' = (1 - z) * n + z * h
 *
 * and the output is sigmoid(W_out h'_top + b_out).
 *
 * @par Parameters
 * All parameters live in one float32 buffer, the gradients in another of the same layout. Each
 * tensor has its PyTorch name and shape (row-major), in this order:
 *
 * | name | shape |
 * | --- | --- |
 * | `weight_ih_lK` | 3H x D for K = 0, 3H x H above |
 * | `weight_hh_lK` | 3H x H |
 * | `bias_ih_lK` | 3H |
 * | `bias_hh_lK` | 3H |
 * | `out.weight` | D x H |
 * | `out.bias` | D |
 *
 * (the four GRU tensors of layer 0, then of layer 1, ..., then the output layer), so weights
 * saved from PyTorch's `state_dict()` (with the linear layer named `out`) load unchanged.
 * Initialisation is PyTorch's default: every value uniform in [-1/sqrt(H), 1/sqrt(H)], drawn
 * from the model's own generator seeded with seqgen_model_config::seed.
 *
 * @par The autoregressive head (seqgen_model_config::head)
 * With ::SEQGEN_HEAD_LINEAR_AR the D units of a step are no longer independent given the
 * hidden state: unit d of step t + 1 also reads the units of the same step before it,
 *
 *     a_d = (W_out h'_top + b_out)_d + sum_{j < d} U_dj x_j,    p(x_d = 1 | h', x_{<d}) = sigmoid(a_d)
 *
 * (a fully visible sigmoid belief net within the step, conditioned on the hidden state), so
 * p(step) = prod_d sigmoid(a_d)^x_d (1 - sigmoid(a_d))^(1 - x_d) is a joint distribution of the
 * step's units. U is one more tensor at the end of the table, `out.ar_weight`, D x D, row d
 * holding U_d0 .. U_d(d-1): only its strictly lower triangle is used, and its entries on and
 * above the diagonal are stored as 0 and stay 0. It is initialised to 0, so a new model starts
 * as the independent head of the same seed (the tensors before it draw the same values) and
 * training moves U from there: its gradient is not zero at U = 0, and no symmetry needs breaking
 * in a layer that has no hidden units. seqgen_model_set_tensor() and the loaders refuse a
 * nonzero entry on or above the diagonal (::SEQGEN_EINVAL, ::SEQGEN_EFORMAT); its gradient
 * there is always 0, so the optimisers keep those entries 0 (as long as the caller, who may
 * write the gradient buffer, adds nothing there either). In a training pass (teacher forcing)
 * the x_j are the targets, known for every unit at once: the term is one matrix product over
 * all the steps of the batch, and no gradient flows into the targets. Completion decodes the
 * units of a step one after another, each from a_d with the units chosen (or given) before it.
 * The head predicts binary units: a categorical model takes ::SEQGEN_HEAD_INDEPENDENT.
 * Scheduled sampling (seqgen_train_options::teacher_prob < 1) and seqgen_model_step(), which
 * would need the units of a step drawn one after another inside the pass or the call, refuse
 * it (::SEQGEN_EINVAL); a decoding loop of the caller's own (beam search, constrained
 * decoding, scoring) steps the model with seqgen_model_step_units(), which gives each unit's
 * logit given the units the caller chose before it.
 *
 * @par The autoregressive head with a masked hidden layer (MADE)
 * ::SEQGEN_HEAD_MADE_AR adds to the linear head a hidden layer of M =
 * seqgen_model_config::head_hidden ReLU units, masked as in MADE (Germain et al. 2015) and
 * conditioned on the hidden state as in RNN-NADE (Boulanger-Lewandowski et al. 2012):
 *
 *     z_k = relu( sum_j M1_kj A_kj x_j + (C h'_top)_k + c_k ),               k = 0 .. M - 1
 *     a_d = (W_out h'_top + b_out)_d + sum_{j < d} U_dj x_j + sum_k M2_dk E_dk z_k
 *
 * The masks come from fixed degrees, so nothing about them is stored: with units numbered
 * d = 0 .. D - 1, hidden unit k has degree m_k = k mod (D - 1), M1_kj = 1 if j <= m_k and
 * M2_dk = 1 if d > m_k (else 0). So a_d depends on x_0 .. x_{d-1} only, and the product of
 * the D conditionals is again the step's joint distribution. The head needs D >= 2 (with one
 * unit there is nothing to condition on: a model with D = 1 is refused). Its tensors follow
 * `out.ar_weight` at the end of the table: `out.made_in.weight` A (M x D), `out.made_cond.weight`
 * C (M x H), `out.made_cond.bias` c (M), `out.made_out.weight` E (D x M). The masked entries of
 * A and E are stored as 0 and stay 0, as U's upper triangle does (same refusals, zero
 * gradients there). Initialisation: the tensors up to `out.bias` as the independent head of the
 * same seed, U 0, then A, C and E uniform in +-1/sqrt(fan_in) (fan_in D, H and M, PyTorch's
 * `nn.Linear`), drawn in buffer order for every entry and the masked ones then set to 0, and
 * c 0. E must not start at 0: the gradients of A, C and c all pass through it. Training,
 * completion and the refusals are those of the linear head.
 *
 * @par Symbols (a categorical model)
 * With seqgen_model_config::vocab V >= 2, each step is one symbol of V (an int32 id in [0, V))
 * instead of D binary units: PyTorch's `nn.Embedding(V, E)`, `nn.GRU(E, H, L,
 * batch_first=True)` and `nn.Linear(H, V)` with a softmax. Symbol s enters layer 0 as row s of
 * the embedding table, and the output of a step is the distribution of the next symbol,
 * softmax(W_out h'_top + b_out) over V. The table `embedding.weight` (V x E) comes first in the
 * parameter buffer (PyTorch's `state_dict()` order: embedding, GRU, output), `weight_ih_l0` is
 * 3H x E and `out.weight` V x H, `out.bias` V. The embedding is initialised as PyTorch's,
 * N(0, 1) (Box-Muller from the model's generator, see seqgen_model_config::embedding), drawn
 * first; the other tensors then draw their uniform values in buffer order, as in a binary model.
 * A start step (or a step of padding) reads a zero vector instead of a row: no start symbol is
 * needed. Batches of symbols go through seqgen_model_forward_backward_symbols() and
 * seqgen_model_evaluate_symbols() with the loss ::SEQGEN_LOSS_CE, single steps through
 * seqgen_model_step_symbols(); the functions of binary units refuse a categorical model and
 * the symbol functions a binary one (::SEQGEN_EINVAL). docs/symbols.md says why an embedding
 * rather than one-hot inputs.
 *
 * @par Training pass
 * seqgen_model_forward_backward() runs a batch of B sequences of T steps (a ::seqgen_batch)
 * forward, computes the loss and, by backpropagation through time, the gradient of every
 * parameter; seqgen_model_evaluate() is the same pass without the backward. Inputs and targets
 * are batch-major, step t of a sequence holding D floats (the library's layout). With teacher forcing
 * the input of step t is the true units t; with scheduled sampling (teacher-forcing probability
 * p < 1) each sequence's input at each step t > 0 is, independently with probability 1 - p, the
 * model's own output of step t - 1 fed back (see ::seqgen_feedback) and treated as a constant:
 * no gradient flows through it. The targets are always the true next units.
 *
 * @par Slices (data-parallel training)
 * With seqgen_train_options::slices = k > 1, the batch's B sequences are cut into k
 * contiguous slices, slice i holding the sequences [floor(B i / k), floor(B (i + 1) / k)) (empty
 * when B < k and i has no sequence), and a training pass computes only slice
 * seqgen_train_options::slice, but as its share of the whole batch: its gradient and its losses are those sequences' terms of the whole batch's
 * means (divided by the whole batch's counted predictions, or sequences for
 * seqgen_train_stats::nll_nats), and with scheduled sampling it draws the coins of the whole
 * batch from the model's mixing generator, as a pass over the whole batch would, and uses
 * those of its sequences. So passes over the slices of one batch, one per process, each on a
 * model with the same parameters and generators, give gradients and statistics (loss, mse,
 * bce, nll_nats and the counts) that add up to the whole batch's, up to float rounding, and
 * leave every model's generators in the same state: summing the gradient buffers
 * (seqgen_model_gradients(), e.g. one `MPI_Allreduce`) before each seqgen_optim_step() trains
 * every copy as one process with the whole batch. Only the slice's inputs and targets are
 * read, and only its probabilities written; `lengths`, when given, are read for the whole
 * batch. A slice without a sequence, or whose sequences count no step, gives a zero gradient
 * and zero statistics (its coins are still drawn).
 *
 * @par Threads
 * A training pass splits the batch into one slice per thread; each thread runs the whole
 * sequence on its slice and the gradients are summed once at the end, always in the same order,
 * so results are reproducible for a given thread count and differ between thread counts only
 * by float rounding. Each thread's matrix products run on one BLAS thread: during the pass
 * OpenBLAS, if that is the CBLAS linked, is set to one thread, and the caller's setting is given
 * back when the pass returns (see the Threads convention at the top). A model must not be used by two threads at once; the const functions may run concurrently,
 * each with its own ::seqgen_model_state (so generation can be spread over threads by giving
 * each thread its own state and its own share of the sequences).
 *
 * @par Memory
 * A training pass keeps what backpropagation needs and no more: per sequence and step, 5H
 * floats per layer (the hidden state and the r, z, n gates and W_hn h + b_hn), H for the
 * gradient flowing down and 2D for inputs and outputs, that is about B T (5 L H + H + 2 D) x 4
 * bytes (154 MB at B = 64, T = 783, H = 128, L = 1), plus per thread one gradient buffer and a
 * few hundred KB of scratch; ::SEQGEN_HEAD_LINEAR_AR adds D floats per sequence and step (the
 * targets, gathered for its product), ::SEQGEN_HEAD_MADE_AR D + 2M (the targets, and its hidden
 * layer before and after the ReLU). It is allocated by the first pass of that size and reused.
 * @{
 */

/** How a model of binary units predicts the D units of a step from its hidden state (see
 *  "The autoregressive head" above). */
typedef enum seqgen_head_kind {
    SEQGEN_HEAD_INDEPENDENT = 0, /**< Each unit on its own: sigmoid(W_out h + b_out) (default). */
    SEQGEN_HEAD_LINEAR_AR = 1,   /**< Unit d also reads the units of the step before it through
                                      the strictly lower-triangular `out.ar_weight` (D x D). */
    SEQGEN_HEAD_MADE_AR = 2      /**< The linear head plus a masked hidden layer of
                                      seqgen_model_config::head_hidden units conditioned on the
                                      hidden state (MADE; see the group's description). */
} seqgen_head_kind;

/** The model's shape and initialisation. Start from seqgen_model_config_default(). */
typedef struct seqgen_model_config {
    int units_per_step;  /**< D: units per step, the input and output size. Default 1. */
    int hidden;          /**< H: hidden units per layer. Default 128. */
    int layers;          /**< L: stacked GRU layers. Default 1. */
    uint64_t seed;       /**< Seeds the initial weights and the scheduled-sampling coins. Default 1. */
    int threads;         /**< Threads of a training pass; 0 = all online cores. Default 0. */
    int start_step;      /**< 1: the model reads a step of zeros before a sequence's first step,
                              so it predicts every step, the first included, and can generate
                              a sequence from nothing; 0 (default): the first step is only read,
                              never predicted (the original MNIST experiment, 783 predictions
                              of 784 pixels). */
    int steps;           /**< T: the length in steps of the sequences the model is for (the
                              longest, when lengths vary), recorded in its checkpoints;
                              seqgen_complete() and seqgen_evaluate_dataset() refuse sequences of
                              another T. 0 (default): any length. */
    int vocab;           /**< V: 0 (default) for steps of D binary units; 2 to 65536 for steps
                              of one symbol of V (a categorical model, see the group's
                              description), which needs D = 1 and seqgen_model_config::embedding
                              >= 1. */
    int embedding;       /**< E: the width of a symbol's embedding, layer 0's input size, 1 to
                              65536 when seqgen_model_config::vocab is set, else 0 (default). The V x E table is
                              drawn N(0, 1) first from the generator of the initial weights:
                              pairs of Box-Muller normals sqrt(-2 ln(1 - u1)) cos(2 pi u2) and
                              ... sin(2 pi u2), u1 and u2 uniform in [0, 1) with 53 bits, in
                              row-major order, the odd last pair's sine unused. */
    seqgen_head_kind head; /**< The output head of binary units: ::SEQGEN_HEAD_INDEPENDENT
                                (default), ::SEQGEN_HEAD_LINEAR_AR or ::SEQGEN_HEAD_MADE_AR
                                (vocab 0 only; MADE needs D >= 2). */
    int head_hidden;       /**< M: the hidden units of ::SEQGEN_HEAD_MADE_AR, 1 to 4096; 0
                                (default) with the other heads. */
} seqgen_model_config;

/** The loss a training pass minimises. Each is PyTorch's mean over all B*T*D predictions (over
 *  the counted ones, with seqgen_batch::lengths); MSE and BCE are the losses of binary units,
 *  CE that of symbols, and a pass refuses a loss of the other kind (::SEQGEN_EINVAL). */
typedef enum seqgen_loss {
    SEQGEN_LOSS_MSE = 0, /**< Mean of (prob - target)^2 (`nn.MSELoss`). */
    SEQGEN_LOSS_BCE = 1, /**< Mean binary cross-entropy, computed from the logit (no clamping). */
    SEQGEN_LOSS_CE = 2   /**< Mean cross-entropy of the target symbols, -log softmax(logits)[y]
                              in nats (`nn.CrossEntropyLoss`), for a categorical model. */
} seqgen_loss;

/** How scheduled sampling feeds the model's output of step t - 1 back as the input of step t. */
typedef enum seqgen_feedback {
    SEQGEN_FEEDBACK_SAMPLE = 0,    /**< A Bernoulli sample of each predicted probability (the
                                        paper's choice); for symbols, a symbol drawn from the
                                        softmax (the first whose cumulative probability exceeds
                                        one uniform of the mixing generator). */
    SEQGEN_FEEDBACK_THRESHOLD = 1, /**< 1 if the probability is above 0.5, else 0 (greedy); for
                                        symbols, the most probable one (the lowest id on ties). */
    SEQGEN_FEEDBACK_PROB = 2       /**< The probability itself; refused for symbols (an expected
                                        embedding is no symbol the model could be given). */
} seqgen_feedback;

/** Options of one training pass. Start from seqgen_train_options_default(). */
typedef struct seqgen_train_options {
    seqgen_loss loss;         /**< The loss whose gradient is computed. Default MSE (a
                                   categorical model needs ::SEQGEN_LOSS_CE). */
    double teacher_prob;      /**< p in [0, 1]: probability of feeding the true input. Default 1
                                   (the only value a model with an autoregressive head takes). */
    seqgen_feedback feedback; /**< What is fed back when the coin says so. Default SAMPLE. */
    int slices;               /**< 0 or 1 (default 0): the pass computes the whole batch. k > 1:
                                   the batch is cut into k contiguous slices and the pass
                                   computes only slice number `slice`, as its share of the
                                   batch (see the @ref model group's "Slices"). */
    int slice;                /**< The slice computed, in [0, slices). Default 0. */
} seqgen_train_options;

/** What a forward pass measured. */
typedef struct seqgen_train_stats {
    double loss;             /**< The selected loss (mean over all predictions); for symbols
                                  the cross-entropy in nats per symbol. */
    double mse;              /**< Mean squared error, whatever the loss; NaN for symbols. */
    double bce;              /**< Mean binary cross-entropy, whatever the loss; NaN for symbols. */
    double nll_nats;         /**< BCE (for symbols: CE) summed over each sequence's predictions,
                                  averaged over sequences. */
    double teacher_fraction; /**< Fraction of counted inputs at steps t > 0 that were the true
                                  units (1 if there was none). */
    uint64_t teacher_forced; /**< How many inputs at steps t > 0 were the true units. */
    uint64_t mixable;        /**< How many counted inputs were at steps t > 0: B * (T - 1)
                                  without lengths. */
    uint64_t predictions;    /**< How many units were predicted and counted: B * T * D
                                  without lengths (the slice's, with
                                  seqgen_train_options::slices). */
} seqgen_train_stats;

/** Per-step state of a batch of sequences for generation (see seqgen_model_step()). */
typedef struct seqgen_model_state seqgen_model_state;

/**
 * @brief The defaults: D = 1, H = 128, L = 1, seed 1, threads 0 (all cores), no start step,
 *        binary units with the independent head.
 * @return The configuration, by value.
 */
SEQGEN_API seqgen_model_config seqgen_model_config_default(void);

/**
 * @brief The defaults: MSE, p = 1 (teacher forcing), feedback by sampling, the whole batch.
 * @return The options, by value.
 */
SEQGEN_API seqgen_train_options seqgen_train_options_default(void);

/**
 * @brief Creates a model with PyTorch's default initialisation.
 * @param[out] out Receives the model; unchanged on failure.
 * @param cfg The configuration (copied). D, H, L must be in [1, 65536], threads in [0, 1024],
 *        start_step 0 or 1, steps in [0, 2^31 - 1]; vocab 0, or in [2, 65536] with D = 1 and
 *        embedding in [1, 65536] (embedding 0 without a vocab); head a ::seqgen_head_kind,
 *        ::SEQGEN_HEAD_INDEPENDENT with a vocab.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL or ::SEQGEN_ENOMEM.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_model_create(seqgen_model **out, const seqgen_model_config *cfg);

/** @brief Frees a model and its workspace; NULL is a no-op. @param model The model. */
SEQGEN_API void seqgen_model_free(seqgen_model *model);

/**
 * @brief The configuration the model was created with (threads as set by seqgen_model_set_threads()).
 * @param model The model.
 * @return A copy of the configuration (all zero if @p model is NULL).
 */
SEQGEN_API seqgen_model_config seqgen_model_get_config(const seqgen_model *model);

/**
 * @brief Sets the number of threads of training passes.
 * @param model The model.
 * @param threads 1 to 1024, or 0 for all online cores.
 * @return ::SEQGEN_OK or ::SEQGEN_EINVAL.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_model_set_threads(seqgen_model *model, int threads);

/** @brief The number of float parameters (the length of the parameter and gradient buffers).
 *  @param model The model. @return The count. */
SEQGEN_API size_t seqgen_model_param_count(const seqgen_model *model);

/** @brief The number of named tensors: 4 L + 2, one more with a vocab (`embedding.weight`) or
 *  with ::SEQGEN_HEAD_LINEAR_AR (`out.ar_weight`), five more with ::SEQGEN_HEAD_MADE_AR.
 *  @param model The model. @return The count. */
SEQGEN_API int seqgen_model_tensor_count(const seqgen_model *model);

/**
 * @brief The name and PyTorch shape of tensor number @p index (order of the table above).
 * @param model The model.
 * @param index 0 to seqgen_model_tensor_count() - 1.
 * @param[out] name Receives the name (owned by the model), or NULL to skip.
 * @param[out] rows Receives the first dimension, or NULL to skip.
 * @param[out] cols Receives the second dimension (1 for biases), or NULL to skip.
 * @return ::SEQGEN_OK or ::SEQGEN_EINVAL.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_model_tensor_info(const seqgen_model *model, int index,
                                                         const char **name, int *rows, int *cols);

/**
 * @brief Copies the tensor called @p name (e.g. "weight_hh_l0") into @p out.
 * @param model The model.
 * @param name A PyTorch parameter name.
 * @param[out] out Receives the values, row-major.
 * @param count The size of @p out: must equal the tensor's size.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (a NULL argument, or no tensor of that name) or
 *         ::SEQGEN_EMISMATCH (count).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_model_get_tensor(const seqgen_model *model, const char *name,
                                                        float *out, size_t count);

/**
 * @brief Overwrites the tensor called @p name with @p values.
 * @param model The model.
 * @param name A PyTorch parameter name.
 * @param values The new values, row-major.
 * @param count Must equal the tensor's size.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (a NULL argument, no tensor of that name, or a nonzero
 *         value on or above the diagonal of `out.ar_weight`, naming its row and column),
 *         ::SEQGEN_EMISMATCH (count) or ::SEQGEN_ENUMERIC (a value is NaN or infinite); on
 *         failure nothing is changed.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_model_set_tensor(seqgen_model *model, const char *name,
                                                        const float *values, size_t count);

/**
 * @brief Copies the gradient of the tensor called @p name, as left by the last
 *        seqgen_model_forward_backward() (zero before the first).
 * @param model The model.
 * @param name A PyTorch parameter name.
 * @param[out] out Receives the gradient, row-major.
 * @param count Must equal the tensor's size.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (a NULL argument, or no tensor of that name) or
 *         ::SEQGEN_EMISMATCH (count).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_model_get_grad(const seqgen_model *model, const char *name,
                                                      float *out, size_t count);

/**
 * @brief The model's gradient buffer: seqgen_model_param_count() floats in the parameters'
 *        layout (the tensor table above), as the last seqgen_model_forward_backward() left it.
 *
 * The caller may change it in place before seqgen_optim_step() reads it: this is where
 * gradients computed on several copies of the model are combined (summed over the slices of a
 * batch: the Slices paragraph of this group), by any communication layer.
 * @param model The model.
 * @return The buffer, owned by the model (valid until it is freed); NULL if @p model is NULL.
 */
SEQGEN_API float *seqgen_model_gradients(seqgen_model *model);

/**
 * @brief The model's parameters, read only: seqgen_model_param_count() floats in the layout of
 *        the tensor table above (e.g. to checksum copies of a model that must stay identical).
 *        Write them with seqgen_model_set_tensor().
 * @param model The model.
 * @return The buffer, owned by the model; NULL if @p model is NULL.
 */
SEQGEN_API const float *seqgen_model_parameters(const seqgen_model *model);

/**
 * @brief Where a pass finds its B sequences of T steps: their inputs and their targets, and how
 *        long each sequence is.
 *
 * Step t of sequence b reads the D values at `inputs + b * stride + t * D` and predicts its
 * target, the D values at `targets + b * stride + t * D` (b < batch, t < steps). With
 * `start_step`, step 0 reads D zeros instead and step t > 0 reads the values at
 * `inputs + b * stride + (t - 1) * D`. Two separate `[batch][steps][D]` arrays have stride 0,
 * which means `steps * D`. Whole sequences, each step predicted from the ones before, are
 * seqgen_batch_of_sequences(): the same array read twice, one step apart, without a copy.
 *
 * Every value a pass reads must lie in [0, 1]: binary units, or probabilities. A target p in
 * (0, 1) is a soft target: the BCE of a logit a is then softplus(a) - p a, the cross-entropy
 * against a Bernoulli(p) unit, and the MSE (sigmoid(a) - p)^2. A value outside [0, 1], NaN or
 * infinite is refused (::SEQGEN_EINVAL naming the sequence, step and unit) before anything is
 * computed.
 *
 * **Variable lengths.** With `lengths`, sequence b is `lengths[b]` steps long (the length of the
 * sequence the batch was read from, as seqgen_batch_iter_lengths() gives it) and the pass counts
 * only its steps that predict a step within that length: the first `lengths[b] - 1 + start_step`
 * steps of the pass (with seqgen_batch_of_sequences(): without a start step, pass step t
 * predicts sequence step t + 1). The steps after them are padding: their inputs and targets are
 * never read (the pass feeds zeros), they add nothing to the losses or the gradients, their
 * probabilities are written as 0, and the means of ::seqgen_train_stats are over the counted
 * predictions only. A batch padded to its longest sequence thus gives the losses and gradients
 * of its sequences run one by one, summed with weights (their numbers of predictions), up to
 * float rounding. Steps after the batch's longest counted step are not run; padding inside the
 * batch still costs its computation: sort by length to save it.
 */
typedef struct seqgen_batch {
    const float *inputs;  /**< The input units (the true ones), in [0, 1]. */
    const float *targets; /**< The units to predict, in [0, 1]. */
    size_t stride;        /**< Floats from one sequence to the next in both; 0 or >= steps * D. */
    int batch;            /**< B >= 1. */
    int steps;            /**< T >= 1. */
    int start_step;       /**< 1: step 0 reads zeros, step t the inputs of step t - 1; 0: step t
                               reads the inputs of step t. */
    const size_t *lengths; /**< NULL: every sequence counts all T steps. Else `[batch]`
                                lengths, each in [1, T + 1 - start_step], and at least one step
                                counted in the batch. */
} seqgen_batch;

/**
 * @brief The batch of whole sequences of `length` steps for @p model, without a copy.
 *
 * Without a start step (seqgen_model_config::start_step 0) step t of the pass reads step t of a
 * sequence and predicts step t + 1, for t < length - 1 (T = length - 1 steps); with one, the
 * pass reads a step of zeros and then steps 0 .. length - 2, and predicts steps 0 .. length - 1
 * (T = length steps).
 * @param model The model whose D and start step are used (NULL gives a batch the pass refuses).
 * @param sequences `[batch][length][D]` units, e.g. from seqgen_batch_iter_next().
 * @param batch B.
 * @param length Steps per sequence (the pass checks that T >= 1).
 * @return The description (nothing is copied; the pass checks it), with every sequence
 *         `length` steps long: set seqgen_batch::lengths for sequences of their own lengths.
 */
SEQGEN_API seqgen_batch seqgen_batch_of_sequences(const seqgen_model *model,
                                                  const float *sequences, int batch, int length);

/**
 * @brief One training pass: forward over a batch, loss, and the gradient of every parameter.
 *
 * The gradient buffer is overwritten (not accumulated); the parameters do not change (an
 * optimiser step applies the gradients, see @ref optim). Workspace grows to the largest (batch,
 * steps) seen and is then reused: nothing is allocated while the pass runs. With
 * teacher_prob < 1, the coins and samples come from the model's mixing generator, drawn in a
 * fixed order (sequence by sequence, step by step), so the result does not depend on the
 * thread count; with teacher_prob = 1 no random number is used.
 * @param model The model.
 * @param batch The inputs and targets (see ::seqgen_batch).
 * @param opts Loss and scheduled-sampling options; NULL means the defaults.
 * @param[out] probs If not NULL, receives the `[batch][steps][D]` predicted probabilities.
 * @param[out] stats If not NULL, receives the losses and the teacher-forced fraction.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (an argument, a value outside [0, 1], a categorical
 *         model, ::SEQGEN_LOSS_CE, or teacher_prob < 1 with an autoregressive head),
 *         ::SEQGEN_ENOMEM or ::SEQGEN_ENUMERIC (the loss is NaN or infinite, e.g. from
 *         parameters that are: the gradients are then meaningless and should not be applied).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_model_forward_backward(seqgen_model *model,
                                                              const seqgen_batch *batch,
                                                              const seqgen_train_options *opts,
                                                              float *probs, seqgen_train_stats *stats);

/**
 * @brief The same pass forward only, by teacher forcing (evaluation): probabilities and losses,
 *        no gradient (the gradient buffer is left as it was).
 * @param model The model.
 * @param batch The inputs and targets (see ::seqgen_batch).
 * @param loss The loss reported in seqgen_train_stats::loss.
 * @param[out] probs If not NULL, receives `[batch][steps][D]` probabilities.
 * @param[out] stats If not NULL, receives the losses (teacher_fraction 1).
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL, ::SEQGEN_ENOMEM or ::SEQGEN_ENUMERIC.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_model_evaluate(seqgen_model *model, const seqgen_batch *batch,
                                                      seqgen_loss loss, float *probs,
                                                      seqgen_train_stats *stats);

/**
 * @brief Where a pass of a categorical model finds its B sequences of T symbols: a
 *        ::seqgen_batch of int32 symbol ids instead of floats.
 *
 * Step t of sequence b reads the symbol `inputs[b * stride + t]` and predicts
 * `targets[b * stride + t]`; with `start_step`, step 0 reads a zero vector in place of an
 * embedding row and step t > 0 reads `inputs[b * stride + t - 1]`. Stride 0 means `steps`;
 * seqgen_symbol_batch_of_sequences() reads one array twice, one step apart. The lengths, the
 * padding (read as zero vectors, never looked at) and the steps run are those of
 * ::seqgen_batch. Every symbol a pass reads must be in [0, V): one outside is refused
 * (::SEQGEN_EINVAL naming the sequence and step) before anything is computed.
 */
typedef struct seqgen_symbol_batch {
    const int32_t *inputs;  /**< The input symbols (the true ones). */
    const int32_t *targets; /**< The symbols to predict. */
    size_t stride;          /**< Symbols from one sequence to the next in both; 0 or >= steps. */
    int batch;              /**< B >= 1. */
    int steps;              /**< T >= 1. */
    int start_step;         /**< 1: step 0 reads a zero vector, step t the symbol of step t - 1;
                                 0: step t reads the symbol of step t. */
    const size_t *lengths;  /**< NULL, or `[batch]` lengths as in seqgen_batch::lengths. */
} seqgen_symbol_batch;

/**
 * @brief The batch of whole sequences of `length` symbols for @p model, without a copy: the
 *        symbol counterpart of seqgen_batch_of_sequences(), with the same steps.
 * @param model The model whose start step is used (NULL gives a batch the pass refuses).
 * @param symbols `[batch][length]` symbol ids.
 * @param batch B.
 * @param length Symbols per sequence.
 * @return The description, every sequence `length` symbols long.
 */
SEQGEN_API seqgen_symbol_batch seqgen_symbol_batch_of_sequences(const seqgen_model *model,
                                                                const int32_t *symbols, int batch,
                                                                int length);

/**
 * @brief One training pass of a categorical model over a batch of symbols: forward, loss
 *        (::SEQGEN_LOSS_CE) and the gradient of every parameter, the embedding included.
 *
 * The same pass as seqgen_model_forward_backward() (its workspace, threads, determinism and
 * scheduled sampling), with symbols in and a softmax out. With scheduled sampling the symbol fed
 * back is drawn from (::SEQGEN_FEEDBACK_SAMPLE) or is the argmax of (::SEQGEN_FEEDBACK_THRESHOLD)
 * the previous step's softmax; ::SEQGEN_FEEDBACK_PROB is refused. The gradient of
 * `embedding.weight` is the sum of dL/dx of layer 0 over the steps that read each row (those
 * of fed-back symbols included: no gradient flows into the choice, as for binary units).
 * @param model A model with seqgen_model_config::vocab >= 2.
 * @param batch The symbols (see ::seqgen_symbol_batch).
 * @param opts Options; NULL means the defaults, whose MSE loss is refused: set
 *        ::SEQGEN_LOSS_CE.
 * @param[out] probs If not NULL, receives `[batch][steps][V]` softmax probabilities (0 in the
 *        padding).
 * @param[out] stats If not NULL, receives the cross-entropy per symbol (seqgen_train_stats::loss)
 *        and per sequence (seqgen_train_stats::nll_nats), in nats.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (an argument, a symbol out of range, a binary model, a
 *         loss other than CE, PROB feedback), ::SEQGEN_ENOMEM or ::SEQGEN_ENUMERIC.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_model_forward_backward_symbols(
    seqgen_model *model, const seqgen_symbol_batch *batch, const seqgen_train_options *opts,
    float *probs, seqgen_train_stats *stats);

/**
 * @brief The same pass forward only, by teacher forcing: probabilities and cross-entropy of a
 *        batch of symbols, no gradient.
 * @param model A model with seqgen_model_config::vocab >= 2.
 * @param batch The symbols.
 * @param[out] probs If not NULL, receives `[batch][steps][V]` probabilities.
 * @param[out] stats If not NULL, receives the cross-entropy (teacher_fraction 1).
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL, ::SEQGEN_ENOMEM or ::SEQGEN_ENUMERIC.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_model_evaluate_symbols(seqgen_model *model,
                                                              const seqgen_symbol_batch *batch,
                                                              float *probs,
                                                              seqgen_train_stats *stats);

/**
 * @brief Creates the generation state of @p batch sequences for @p model: the hidden state of
 *        every layer (zero, as at the start of a sequence) and its own scratch memory.
 *
 * The state is owned by the caller and only read the model's shape: several states may step
 * the same model concurrently from different threads. It must not outlive the model.
 * @param[out] out Receives the state; unchanged on failure.
 * @param model The model it will be used with.
 * @param batch The number of sequences, >= 1.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL or ::SEQGEN_ENOMEM.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_model_state_create(seqgen_model_state **out,
                                                          const seqgen_model *model, int batch);

/** @brief Frees a generation state; NULL is a no-op. @param state The state. */
SEQGEN_API void seqgen_model_state_free(seqgen_model_state *state);

/** @brief Sets every hidden state back to zero (the start of a sequence). @param state The state. */
SEQGEN_API void seqgen_model_state_reset(seqgen_model_state *state);

/**
 * @brief Feeds one step to every sequence of the state and gives the next step's logits and
 *        probabilities.
 *
 * Runs the same arithmetic as a training pass, so feeding a sequence step by step gives the
 * probabilities of seqgen_model_evaluate() (up to float rounding of the batched products).
 * With a start step (seqgen_model_config::start_step), feed a step of zeros first: its output
 * is the prediction of a sequence's first step.
 * The logits are the output layer's values before the sigmoid, exactly as completion decodes
 * them: sampling at a temperature should scale the logits (sigmoid(logit / temperature)), which
 * stays exact where the probabilities round to 0 or 1. The probabilities are sigmoid(logit).
 * The state keeps the recurrent weights copied in the layout of its matrix products and copies
 * them again only when the model's parameters have changed since (seqgen_model_set_tensor(), an
 * optimiser step, training) or another model is passed: interleaving steps with training is
 * correct, and stepping a fixed model costs no copy per step.
 * @param model The model (only read).
 * @param state The state, created for this model; its hidden states advance by one step.
 * @param input `[batch][D]` units of the current step.
 * @param[out] logits NULL, or `[batch][D]`: the logits of the next step's units.
 * @param[out] probs NULL, or `[batch][D]`: their probabilities (not both NULL).
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (NULL argument, a categorical model: see
 *         seqgen_model_step_symbols(); a model with an autoregressive head
 *         (::SEQGEN_HEAD_LINEAR_AR, ::SEQGEN_HEAD_MADE_AR), whose units' probabilities
 *         depend on the units drawn before them in the step: step it with
 *         seqgen_model_step_units(), or complete or generate with seqgen_complete()) or
 *         ::SEQGEN_EMISMATCH (state made for a model of another shape).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_model_step(const seqgen_model *model, seqgen_model_state *state,
                                                  const float *input, float *logits, float *probs);

/**
 * @brief Chooses one unit of the next step for seqgen_model_step_units(): greedy, sampled,
 *        given, constrained, whatever the caller's decoding does.
 * @param context The caller's pointer passed to seqgen_model_step_units(), untouched.
 * @param sequence The sequence b of the state's batch, in [0, batch).
 * @param unit The unit d of its next step, in [0, D); units 0 .. d - 1 of that step are those
 *        this chooser returned before.
 * @param logit The logit a_d of the unit given the steps fed and units 0 .. d - 1 of its step:
 *        p(unit = 1) = sigmoid(logit).
 * @return The unit's value, read by the head as it is for the units after it: 0 or 1 for a
 *         binary unit; any value in [0, 1] is accepted, anything else (NaN included) makes the
 *         call fail with ::SEQGEN_ERANGE.
 */
typedef float (*seqgen_unit_chooser)(void *context, int sequence, int unit, float logit);

/**
 * @brief Feeds one step to every sequence of the state, then has the caller choose the next
 *        step's units one after another, each from its logit given the units chosen before it:
 *        the step function of every head of binary units, the autoregressive ones included.
 *
 * The step is fed with the arithmetic of seqgen_model_step() (same hidden states). Then, for
 * sequence b = 0 .. batch - 1 and, within it, unit d = 0 .. D - 1, in that order, it computes
 * the logit a_d of unit d of the next step given `units[b][0 .. d-1]`, calls
 * `choose(context, b, d, a_d)` and stores the value returned in `units[b][d]` (and a_d in
 * `logits[b][d]`). With ::SEQGEN_HEAD_INDEPENDENT a_d does not depend on the units chosen and
 * the logits are seqgen_model_step()'s, bit for bit; with ::SEQGEN_HEAD_LINEAR_AR and
 * ::SEQGEN_HEAD_MADE_AR a_d is that of the Model group's equations, as completion decodes it:
 * a greedy chooser (1 iff sigmoid(a_d) > 0.5) and one returning the given units where a sequence
 * is given give, on a batch of up to 64 sequences, the units of seqgen_complete()'s greedy
 * completion bit for bit, and a chooser returning a sequence's own units scores it (the
 * probabilities of seqgen_model_evaluate(), up to float rounding). The next call feeds the next
 * step, usually `units` itself.
 *
 * The chooser runs on the calling thread, batch * D times per call; it must not use the state.
 * The MADE head's hidden units live in the state (allocated by seqgen_model_state_create()): no
 * memory is allocated per call.
 * @param model A model of binary units, any head (only read).
 * @param state The state, created for this model (the same shape and head, and the same M with
 *        ::SEQGEN_HEAD_MADE_AR); its hidden states advance by one step.
 * @param input `[batch][D]` units of the current step; may be `units` (the step fed is then
 *        replaced by the next one).
 * @param choose The chooser of each unit.
 * @param context Passed to `choose` untouched; may be NULL.
 * @param[out] units `[batch][D]`: the units chosen for the next step.
 * @param[out] logits NULL, or `[batch][D]`: the logit of each unit given the units before it
 *        (not overlapping `units`).
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (NULL argument, naming it; a categorical model: see
 *         seqgen_model_step_symbols()), ::SEQGEN_EMISMATCH (state made for a model of another
 *         shape or head) or ::SEQGEN_ERANGE (the chooser returned a value outside [0, 1] or
 *         NaN, naming the sequence and unit; the call stops there: the hidden states have
 *         advanced by the step, the units and logits of that sequence and those after it are
 *         unspecified, and the sequences before it have theirs).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_model_step_units(const seqgen_model *model,
                                                        seqgen_model_state *state,
                                                        const float *input,
                                                        seqgen_unit_chooser choose,
                                                        void *context, float *units,
                                                        float *logits);

/**
 * @brief Feeds one symbol to every sequence of the state of a categorical model and gives the
 *        logits and the softmax probabilities of the next symbol.
 *
 * The symbol counterpart of seqgen_model_step(), with the same arithmetic as a pass of
 * seqgen_model_evaluate_symbols(). Symbol -1 feeds a zero vector instead of an embedding row:
 * the start step of a model with seqgen_model_config::start_step (whose output predicts the
 * first symbol). Sampling at a temperature should scale the logits.
 * @param model A model with seqgen_model_config::vocab >= 2 (only read).
 * @param state The state, created for this model; its hidden states advance by one step.
 * @param symbols `[batch]` symbol ids, each in [0, V) or -1.
 * @param[out] logits NULL, or `[batch][V]`: the logits of the next symbol.
 * @param[out] probs NULL, or `[batch][V]`: its probabilities, softmax(logits) (not both NULL).
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (NULL argument, a binary model, a symbol out of range,
 *         naming the sequence) or ::SEQGEN_EMISMATCH (state made for a model of another shape).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_model_step_symbols(const seqgen_model *model,
                                                          seqgen_model_state *state,
                                                          const int32_t *symbols, float *logits,
                                                          float *probs);

/** @} */

/* ==== Optimiser ============================================================================== */

/**
 * @defgroup optim Optimiser: Adam and SGD with PyTorch's semantics
 * @brief Updates a model's parameters from the gradients of its last training pass.
 *
 * With g the gradient, after optional clipping by global norm (as
 * `torch.nn.utils.clip_grad_norm_`: if ||g|| > c, g *= c / (||g|| + 1e-6)) and L2 weight decay
 * (g += wd * w, as PyTorch's `Adam` and `SGD` add it to the gradient), step t = 1, 2, ... does:
 * - Adam (`torch.optim.Adam`, amsgrad off): m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 *   w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 * - SGD (`torch.optim.SGD`, dampening 0, no Nesterov): with momentum mu > 0, b = g at t = 1 and
 *   b = mu b + g after; w -= lr * b. With mu = 0, w -= lr * g.
 *
 * The state (moments, step count) mirrors the parameter buffer's layout. An optimiser is bound
 * to the shape of the model it was created for.
 * @{
 */

/** The update rule. */
typedef enum seqgen_optim_kind {
    SEQGEN_OPTIM_ADAM = 0, /**< Adam with bias correction. */
    SEQGEN_OPTIM_SGD = 1   /**< Stochastic gradient descent with optional momentum. */
} seqgen_optim_kind;

/** Optimiser settings. Start from seqgen_optim_config_default(). */
typedef struct seqgen_optim_config {
    seqgen_optim_kind kind; /**< The rule. */
    double lr;              /**< Learning rate (> 0). Adam 1e-3, SGD 1e-2 by default. */
    double beta1;           /**< Adam's first-moment decay, [0, 1). Default 0.9. */
    double beta2;           /**< Adam's second-moment decay, [0, 1). Default 0.999. */
    double eps;             /**< Adam's denominator term (> 0). Default 1e-8. */
    double weight_decay;    /**< L2 penalty added to the gradient (>= 0). Default 0. */
    double momentum;        /**< SGD momentum, [0, 1). Default 0. */
    double clip_norm;       /**< Clip the gradient's global norm to this; 0 = no clipping. Default 0. */
} seqgen_optim_config;

/**
 * @brief PyTorch's defaults for a kind (Adam: lr 1e-3, betas 0.9/0.999, eps 1e-8; SGD: lr 1e-2,
 *        momentum 0), no weight decay, no clipping. An unknown kind gives Adam's defaults with
 *        that kind (seqgen_optim_create() then rejects it).
 * @param kind The rule.
 * @return The configuration, by value.
 */
SEQGEN_API seqgen_optim_config seqgen_optim_config_default(seqgen_optim_kind kind);

/**
 * @brief Creates an optimiser for @p model's parameters, with zero moments and step count 0.
 * @param[out] out Receives the optimiser; unchanged on failure.
 * @param model The model whose shape it takes (it keeps no pointer to it).
 * @param cfg The settings (copied).
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL or ::SEQGEN_ENOMEM.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_optim_create(seqgen_optim **out, const seqgen_model *model,
                                                    const seqgen_optim_config *cfg);

/** @brief Frees an optimiser; NULL is a no-op. @param opt The optimiser. */
SEQGEN_API void seqgen_optim_free(seqgen_optim *opt);

/**
 * @brief Applies one update to @p model's parameters from its gradient buffer (clipping the
 *        gradient buffer in place if clipping is on).
 * @param opt The optimiser.
 * @param model A model of the shape the optimiser was created for.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL, ::SEQGEN_EMISMATCH (other shape) or ::SEQGEN_ENUMERIC
 *         (the gradient holds NaN or infinity, or the update would make a parameter or a moment
 *         NaN or infinite, e.g. with a huge learning rate: the parameters, moments and step
 *         count are left as they were).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_optim_step(seqgen_optim *opt, seqgen_model *model);

/** @brief The current learning rate. @param opt The optimiser. @return lr. */
SEQGEN_API double seqgen_optim_get_lr(const seqgen_optim *opt);

/**
 * @brief Sets the learning rate of the following steps (e.g. for a decay schedule).
 * @param opt The optimiser.
 * @param lr The new rate, finite and > 0.
 * @return ::SEQGEN_OK or ::SEQGEN_EINVAL.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_optim_set_lr(seqgen_optim *opt, double lr);

/** @brief Steps taken so far. @param opt The optimiser. @return The count. */
SEQGEN_API uint64_t seqgen_optim_step_count(const seqgen_optim *opt);

/** @brief The gradient's global L2 norm before clipping, at the last step (0 before any).
 *  @param opt The optimiser. @return The norm. */
SEQGEN_API double seqgen_optim_last_grad_norm(const seqgen_optim *opt);

/** @} */

/* ==== Professor forcing: the discriminator =================================================== */

/**
 * @defgroup professor Professor forcing: the discriminator
 * @brief Tells a generator's teacher-forced behaviour from its free-running behaviour.
 *
 * Professor forcing (A. Lamb, A. Goyal, Y. Zhang, S. Zhang, A. Courville, Y. Bengio, "Professor
 * Forcing: A New Algorithm for Training Recurrent Networks", NeurIPS 2016) trains a
 * discriminator to tell the generator's *behaviour* when teacher-forced (label 1) from its
 * behaviour when free-running (label 0), and the generator, besides its likelihood, to fool it.
 * The three-pass training step that uses it is @ref professor_step; see also
 * docs/professor-forcing.md.
 *
 * The behaviour of B sequences is batch-major, `behaviour[s][t][f]` [B][T][F]: at step t, the
 * generator's top hidden state (H values) then its probabilities (O values), F = H + O; sequence
 * s counts its first `lengths[s]` steps (in [1, T]; the rest is not read). The discriminator:
 * - K GRU layers (the model's equations, see @ref model) of H_d units; layer 0 reads the
 *   behaviour, layer k the outputs of layer k - 1, and layer k runs backward in time when k is
 *   odd (step t reads step n - 1 - t of a sequence of n steps): the authors' discriminator is
 *   K = 3, forward, backward, forward;
 * - the mean of the top layer's outputs over each sequence's n steps, m;
 * - an MLP, a = W_2 tanh(W_1 m + b_1) + b_2, one logit per sequence (M hidden units);
 * - the loss, the mean over the batch of BCE(a, y) = softplus(a) - y a.
 *
 * Its parameters, PyTorch's initialisation and names (`disc.gru.K.weight_ih_l0`, ...,
 * `disc.mlp.0.weight`, `disc.mlp.0.bias`, `disc.mlp.2.weight`, `disc.mlp.2.bias`: a `ModuleList`
 * of one-layer `nn.GRU`, then `nn.Sequential(Linear, Tanh, Linear)`), live in one buffer, which
 * an optimiser from seqgen_discriminator_optim_create() updates. A discriminator of a
 * ::seqgen_professor is saved in training checkpoints with it (seqgen_train_state::professor).
 * @{
 */

/** A discriminator's shape. Start from seqgen_discriminator_config_default(). */
typedef struct seqgen_discriminator_config {
    int features;   /**< F, the behaviour's values per step: H + O of the generator. */
    int hidden;     /**< H_d, every GRU layer's units, [1, 65536]. Default 64. */
    int layers;     /**< K, GRU layers alternately forward and backward in time, [1, 9]; 2 or
                         more is bidirectional. Default 3, the authors'. */
    int mlp_hidden; /**< M, the MLP's hidden units, [1, 65536]. Default 64. */
    uint64_t seed;  /**< Seed of the initialisation. Default 1. */
} seqgen_discriminator_config;

/** What one pass of the discriminator measured. */
typedef struct seqgen_discriminator_stats {
    double loss;     /**< The mean BCE over the batch. */
    double accuracy; /**< The fraction of sequences whose logit's sign is their label's (a > 0
                          for labels above 0.5). */
} seqgen_discriminator_stats;

/**
 * @brief The defaults (H_d 64, K 3, M 64, seed 1: the sizes are untuned) for a behaviour of
 *        @p features values per step.
 * @param features F = H + O of the generator.
 * @return The configuration, by value.
 */
SEQGEN_API seqgen_discriminator_config seqgen_discriminator_config_default(int features);

/**
 * @brief Creates a discriminator, initialised from its seed.
 * @param[out] out Receives the discriminator; unchanged on failure.
 * @param cfg Its shape (copied).
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (NULL argument, a field out of range) or
 *         ::SEQGEN_ENOMEM.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_discriminator_create(seqgen_discriminator **out,
                                                            const seqgen_discriminator_config *cfg);

/** @brief Frees a discriminator; NULL is a no-op. @param disc The discriminator. */
SEQGEN_API void seqgen_discriminator_free(seqgen_discriminator *disc);

/** @brief The number of its parameters. @param disc The discriminator (NULL: 0).
 *  @return The count. */
SEQGEN_API size_t seqgen_discriminator_param_count(const seqgen_discriminator *disc);

/**
 * @brief Creates an optimiser for @p disc's parameters (seqgen_optim_step() refuses it: it
 *        steps through seqgen_discriminator_train_step()).
 * @param[out] out Receives the optimiser; unchanged on failure.
 * @param disc The discriminator whose shape it takes.
 * @param cfg The settings (copied); see @ref optim.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL or ::SEQGEN_ENOMEM.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_discriminator_optim_create(
    seqgen_optim **out, const seqgen_discriminator *disc, const seqgen_optim_config *cfg);

/**
 * @brief The logits of B behaviour sequences (forward only).
 * @param disc The discriminator.
 * @param behaviour [B][T][F], see @ref professor.
 * @param lengths [B] each in [1, T], or NULL (every sequence counts T steps).
 * @param batch B >= 1.
 * @param steps T >= 1.
 * @param[out] logits [B] the logit a of each sequence (> 0: judged teacher-forced).
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (NULL argument, sizes or lengths out of range, a
 *         counted value not finite) or ::SEQGEN_ENOMEM (its workspace, grown to the largest
 *         batch seen, could not grow).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_discriminator_classify(seqgen_discriminator *disc,
                                                              const float *behaviour,
                                                              const size_t *lengths, int batch,
                                                              int steps, float *logits);

/**
 * @brief One training step: the loss against @p labels, its gradient, one update of @p opt.
 *
 * Professor forcing's discriminator loss BCE(D(b_tf), 1) + BCE(D(b_fr), 0) over B sequences of
 * each is this step over the 2B sequences (labels 1 then 0), whose mean BCE is half of it.
 * @param disc The discriminator.
 * @param opt An optimiser from seqgen_discriminator_optim_create() for it.
 * @param behaviour [B][T][F].
 * @param lengths [B] or NULL, as seqgen_discriminator_classify().
 * @param batch B >= 1.
 * @param steps T >= 1.
 * @param labels [B] each in [0, 1]: 1 teacher-forced, 0 free-running.
 * @param[out] stats The loss and accuracy before the update, or NULL.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL, ::SEQGEN_EMISMATCH (an optimiser of another shape or
 *         for a model), ::SEQGEN_ENOMEM, or ::SEQGEN_ENUMERIC (the loss or the update not
 *         finite: the parameters are left as they were).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_discriminator_train_step(
    seqgen_discriminator *disc, seqgen_optim *opt, const float *behaviour, const size_t *lengths,
    int batch, int steps, const float *labels, seqgen_discriminator_stats *stats);

/**
 * @brief The gradient of the mean BCE against @p labels with respect to the behaviour: what the
 *        generator's backward receives (labels 1 for its adversarial loss BCE(D(b_fr), 1)).
 *        The parameters are not changed.
 * @param disc The discriminator.
 * @param behaviour [B][T][F].
 * @param lengths [B] or NULL, as seqgen_discriminator_classify().
 * @param batch B >= 1.
 * @param steps T >= 1.
 * @param labels [B] each in [0, 1].
 * @param[out] dbehaviour [B][T][F] dL/d(behaviour), 0 in the uncounted steps.
 * @param[out] stats The loss and accuracy, or NULL.
 * @return As seqgen_discriminator_classify(), and ::SEQGEN_ENUMERIC if the loss is not finite.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_discriminator_input_gradient(
    seqgen_discriminator *disc, const float *behaviour, const size_t *lengths, int batch,
    int steps, const float *labels, float *dbehaviour, seqgen_discriminator_stats *stats);

/** @} */

/**
 * @defgroup professor_step Professor forcing: the training step
 * @brief The three passes of professor forcing over one batch, with a discriminator and its
 *        optimiser owned by a ::seqgen_professor.
 *
 * seqgen_professor_step() over a batch of B sequences of binary units (a model of symbols is
 * refused), as the paper does it:
 * 1. the teacher-forced pass on the real sequences: the loss of the caller's options, its
 *    gradient (kept), and the behaviour b_tf, a constant;
 * 2. free-running sequences drawn without gradient by seqgen_complete() (sampling,
 *    temperature 1) from the first seqgen_professor_config::given units of each real sequence,
 *    or from the start (0); the draws come from a generator the handle owns (one seed per step,
 *    sequence b on stream b), saved in training checkpoints;
 * 3. the teacher-forced re-run on the drawn sequences, forward, giving b_fr; the
 *    discriminator's gradient dBCE(D(b_fr), 1)/db_fr (the adversarial loss, the discriminator
 *    before its update); the discriminator's step on b_tf (label 1) and b_fr (label 0) with its
 *    own optimiser, whose accuracy (before the update) decides: if lambda > 0 and the accuracy
 *    lies in [band_low, band_high], the re-run runs again with its backward, its own loss
 *    weighted 0 and lambda times that gradient on b_fr, and its gradient is added to the kept
 *    one; otherwise the kept gradient is the step's.
 *
 * The model's gradient buffer (seqgen_model_gradients()) then holds the generator's gradient,
 * NLL + lambda BCE(D(b_fr), 1), for the caller's seqgen_optim_step(). Both behaviours cover the
 * whole sequences: with K given units, their first K units are the real ones in both, so only
 * the free segment tells them apart. The handle's buffers grow to the largest batch seen and are
 * reused; seqgen_complete() allocates its own workspace once per call.
 * @{
 */

/** Professor forcing's settings. Start from seqgen_professor_config_default(). */
typedef struct seqgen_professor_config {
    double lambda;        /**< The weight of the adversarial loss, finite and >= 0. The
                               adversarial loss is a mean per sequence, the generator's loss a
                               mean per predicted unit: lambda near 1 / (units per sequence)
                               weighs both per sequence alike. Default 0.001 (on the digits,
                               784 units, 1, 0.1 and 0.01 cost 82, 22 and 4 nats of test NLL;
                               docs/results.md). */
    int given;            /**< K, the real units given before the free-running segment, >= 0
                               and at most a sequence's units (0: free-running from the start,
                               as seqgen_complete() with K = 0). Default 0. */
    double band_low;      /**< The accuracy band [band_low, band_high] of the discriminator in
                               which its gradient reaches the generator, 0 <= band_low <=
                               band_high <= 1. Default 0.75 (the paper's). */
    double band_high;     /**< Default 0.99 (the paper's). */
    uint64_t seed;        /**< Seed of the sampling generator. Default 1. */
    seqgen_discriminator_config disc; /**< The discriminator's shape; its features must be the
                               model's H + D. */
    seqgen_optim_config disc_optim;   /**< The discriminator's optimiser. Default Adam. */
} seqgen_professor_config;

/** What one seqgen_professor_step() measured. */
typedef struct seqgen_professor_stats {
    seqgen_train_stats train; /**< The teacher-forced pass on the real sequences (NLL and the
                                   other losses). */
    double disc_loss;         /**< The discriminator's mean BCE over the 2B sequences, before
                                   its update: half of BCE(D(b_tf), 1) + BCE(D(b_fr), 0). */
    double disc_accuracy;     /**< Its accuracy over them, before its update. */
    double adv_loss;          /**< The generator's adversarial loss, BCE(D(b_fr), 1), mean over
                                   the batch (unweighted by lambda). */
    int passed;               /**< 1 if the adversarial gradient was added (lambda > 0 and the
                                   accuracy in the band), else 0. */
} seqgen_professor_stats;

/** A professor-forcing trainer: its settings, discriminator, optimiser, sampling generator and
 *  buffers (see @ref professor_step). */
typedef struct seqgen_professor seqgen_professor;

/**
 * @brief The defaults for @p model: lambda 0.001, free-running from the start, band [0.75, 0.99],
 *        seed 1, seqgen_discriminator_config_default() of H + D features, Adam's defaults.
 * @param model The generator (NULL: features 0, refused by seqgen_professor_create()).
 * @return The configuration, by value.
 */
SEQGEN_API seqgen_professor_config seqgen_professor_config_default(const seqgen_model *model);

/**
 * @brief Creates a trainer for @p model's shape: its discriminator initialised from
 *        seqgen_discriminator_config::seed, its optimiser, its generator seeded.
 * @param[out] out Receives the handle; unchanged on failure.
 * @param model The generator it is for (a model of binary units; only its shape is read).
 * @param cfg The settings (copied).
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (NULL argument, a model of symbols, a setting out of
 *         range, the detail naming it), ::SEQGEN_EMISMATCH (the discriminator's features are
 *         not H + D) or ::SEQGEN_ENOMEM.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_professor_create(seqgen_professor **out,
                                                        const seqgen_model *model,
                                                        const seqgen_professor_config *cfg);

/** @brief Frees a trainer; NULL is a no-op. @param pf The trainer. */
SEQGEN_API void seqgen_professor_free(seqgen_professor *pf);

/** @brief Its settings. @param pf The trainer. @return A copy (all zero if @p pf is NULL). */
SEQGEN_API seqgen_professor_config seqgen_professor_get_config(const seqgen_professor *pf);

/** @brief Its discriminator, read only (e.g. to classify behaviour).
 *  @param pf The trainer. @return The discriminator, owned by @p pf; NULL if @p pf is NULL. */
SEQGEN_API const seqgen_discriminator *seqgen_professor_discriminator(const seqgen_professor *pf);

/**
 * @brief One professor-forcing step over a batch (see @ref professor_step): the model's
 *        gradient buffer receives the generator's gradient and the discriminator takes one
 *        step; the model's parameters do not change.
 * @param pf The trainer.
 * @param model The generator, of the shape @p pf was made for.
 * @param sequences `[batch][length][D]` real sequences of units 0 or 1, read as
 *        seqgen_batch_of_sequences() reads them.
 * @param batch B >= 1.
 * @param length Steps per sequence (the longest, with @p lengths), >= 2 without a start step.
 * @param lengths NULL, or `[batch]` lengths in steps, in [2 - start step, length].
 * @param opts The passes' options (NULL: the defaults): teacher_prob must be 1 and slices 0 or
 *        1.
 * @param[out] stats What the step measured, or NULL.
 * @return ::SEQGEN_OK; ::SEQGEN_EINVAL (NULL argument, sizes, lengths or options out of range,
 *         K above a sequence's units, a model of symbols), ::SEQGEN_EMISMATCH (a model of
 *         another shape), ::SEQGEN_ENOMEM, or ::SEQGEN_ENUMERIC (a loss not finite: the
 *         gradients must not be applied; the discriminator may have taken its step).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_professor_step(seqgen_professor *pf, seqgen_model *model,
                                                      const float *sequences, int batch,
                                                      int length, const size_t *lengths,
                                                      const seqgen_train_options *opts,
                                                      seqgen_professor_stats *stats);

/** @} */

/* ==== Scheduler ============================================================================== */

/**
 * @defgroup sched Scheduler: teacher forcing and scheduled sampling
 * @brief The probability p_i of feeding the true input at training iteration i.
 *
 * Scheduled sampling (S. Bengio, O. Vinyals, N. Jaitly, N. Shazeer, "Scheduled Sampling for
 * Sequence Prediction with Recurrent Neural Networks", NeurIPS 2015) trains on a mix of true
 * inputs (probability p_i) and the model's own previous outputs (probability 1 - p_i), with p_i
 * decaying from 1 as training goes on. A ::seqgen_sched holds one schedule: p_i is a pure function
 * of its configuration and the position i, which the caller's training state gives (the
 * iteration and epoch counters of ::seqgen_train_state): the schedule itself has no position,
 * no events and nothing to save but its configuration.
 *
 * Schedules, with f the decay below, W the warm-up and eps the floor:
 * - ::SEQGEN_SCHED_CONSTANT:        f(j) = k                      (0 <= k <= 1; eps unused)
 * - ::SEQGEN_SCHED_LINEAR:          f(j) = max(eps, k - c j)      (0 <= k <= 1, c >= 0)
 * - ::SEQGEN_SCHED_EXPONENTIAL:     f(j) = max(eps, k^j)          (0 < k < 1)
 * - ::SEQGEN_SCHED_INVERSE_SIGMOID: f(j) = max(eps, k / (k + exp(j / k)))   (k >= 1)
 *
 * and p_i = 1 for i < W (pure teacher forcing), p_i = f(i - W) for i >= W: the warm-up delays
 * the whole schedule by W units, so the decay starts at f(0) at i = W. (f(0) is k for the
 * linear schedule, 1 for the exponential one and k / (k + 1) for the inverse sigmoid.)
 *
 * The unit of i is a batch or an epoch (::seqgen_sched_unit): i is the number of batches the
 * training loop has completed before the current one (seqgen_train_state::iteration), or the
 * number of epochs it has completed (seqgen_train_state::epoch). What a batch actually did
 * (the fraction of inputs teacher-forced) is in its ::seqgen_train_stats.
 * @{
 */

/** The shape of a schedule (formulas in the group description). */
typedef enum seqgen_sched_kind {
    SEQGEN_SCHED_CONSTANT = 0,       /**< p_i = k. */
    SEQGEN_SCHED_LINEAR = 1,         /**< p_i = max(eps, k - c i). */
    SEQGEN_SCHED_EXPONENTIAL = 2,    /**< p_i = max(eps, k^i), k < 1. */
    SEQGEN_SCHED_INVERSE_SIGMOID = 3 /**< p_i = max(eps, k / (k + exp(i / k))), k >= 1. */
} seqgen_sched_kind;

/** What one step of the schedule's position i counts. */
typedef enum seqgen_sched_unit {
    SEQGEN_SCHED_PER_BATCH = 0, /**< i counts training batches (the paper's iterations). */
    SEQGEN_SCHED_PER_EPOCH = 1  /**< i counts completed epochs. */
} seqgen_sched_unit;

/**
 * @brief A schedule's parameters. Start from seqgen_sched_config_default() and change fields.
 */
typedef struct seqgen_sched_config {
    seqgen_sched_kind kind; /**< The formula. */
    seqgen_sched_unit unit; /**< What i counts. */
    double k;               /**< Constant p, linear offset, exponential base or sigmoid scale. */
    double c;               /**< Linear slope per unit of i (used by the linear schedule only). */
    double eps;             /**< Floor of the decaying schedules, in [0, 1]. */
    uint64_t warmup;        /**< Units of pure teacher forcing (p = 1) before the decay starts. */
} seqgen_sched_config;

/**
 * @brief Default parameters for a kind of schedule, counted per batch, with no warm-up.
 *
 * - constant: k = 1 (pure teacher forcing);
 * - linear: k = 1, c = 1e-4, eps = 0 (p reaches 0 after 10000 batches);
 * - exponential: k = 0.9995, eps = 0 (p halves every ~1386 batches);
 * - inverse sigmoid: k = 200, eps = 0 (p = 0.5 at i = k ln k ~ 1060 batches).
 *
 * An unknown kind gives the constant's values with that kind (seqgen_sched_create() then
 * reports it).
 * @param kind The schedule.
 * @return The configuration, by value.
 */
SEQGEN_API seqgen_sched_config seqgen_sched_config_default(seqgen_sched_kind kind);

/**
 * @brief Creates a schedule.
 * @param[out] out Receives the new handle; unchanged on failure.
 * @param cfg The parameters, copied. Checked: a known kind and unit; finite k, c, eps;
 *        eps in [0, 1]; 0 <= k <= 1 for constant and linear; c >= 0 for linear; 0 < k < 1 for
 *        exponential; k >= 1 for inverse sigmoid.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (the detail names the field and its bound), or
 *         ::SEQGEN_ENOMEM.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_sched_create(seqgen_sched **out,
                                                    const seqgen_sched_config *cfg);

/** @brief Frees a schedule; NULL is a no-op. @param sched The handle. */
SEQGEN_API void seqgen_sched_free(seqgen_sched *sched);

/**
 * @brief Copies out the schedule's parameters.
 * @param sched The handle.
 * @param[out] cfg Receives the configuration given at creation.
 */
SEQGEN_API void seqgen_sched_get_config(const seqgen_sched *sched, seqgen_sched_config *cfg);

/**
 * @brief The teacher-forcing probability p_i of the next training batch (formulas in @ref sched).
 *
 * Typical use: `opts.teacher_prob = seqgen_sched_p(sched, train.iteration, train.epoch);`
 * before the batch, with the counters of the batches and epochs completed so far.
 * @param sched The handle.
 * @param iteration Batches completed so far: i for a ::SEQGEN_SCHED_PER_BATCH schedule.
 * @param epoch Epochs completed so far: i for a ::SEQGEN_SCHED_PER_EPOCH schedule.
 * @return p_i, in [0, 1]; NaN if @p sched is NULL.
 */
SEQGEN_API double seqgen_sched_p(const seqgen_sched *sched, uint64_t iteration, uint64_t epoch);

/** @} */

/* ==== Completion and evaluation ============================================================== */

/**
 * @defgroup complete Completion and evaluation: finishing sequences, and measuring how well
 * @brief Give a model the first K units of each sequence and let it write the rest; evaluate a
 *        model on a test set.
 *
 * @par Completion
 * A sequence is T steps of D units (the layout of the header's conventions; for MNIST, pixels).
 * Completion is given the first K units (K = 500 of 784 pixels for the original experiment). The
 * model reads the whole given steps 0 .. S - 1, S = floor(K / D) (teacher forcing); its output
 * after step S - 1 is the probability of each unit of step S, whose units that are not given are
 * decoded into 0 or 1; the step, given and generated units together, is fed back as the next
 * input, and so on until the sequence's last step (T - 1, or its length - 1 with lengths: the
 * units after a sequence's length are neither read nor generated, but written as 0, and a
 * sequence not longer than K units is copied). A sequence completed among others with lengths
 * gets exactly the units it gets alone with `steps` = its length (the same draws from its
 * stream); a model whose seqgen_model_config::steps is set takes only that T, so its shorter
 * sequences go through lengths. When K is not a multiple of D, step S
 * is thus partly given: the model's units of one step are independent given the steps before,
 * so generating the rest of it from the same output is exact conditioning on the given part.
 * With ::SEQGEN_HEAD_LINEAR_AR and ::SEQGEN_HEAD_MADE_AR they are not: the units of a step are
 * decoded one after another, unit d from a_d (its hidden units of degree below d included) with the step's units before it as given or decoded (see the Model group), so
 * a partly given step conditions exactly on its given units too, and the probability recorded
 * for unit d is sigmoid(a_d) given those units.
 * A unit is decoded as follows:
 * - ::SEQGEN_DECODE_GREEDY: unit = 1 iff p > 0.5, with p = sigmoid(logit) the model's
 *   probability as seqgen_model_step() computes it (the threshold feedback of training).
 * - ::SEQGEN_DECODE_SAMPLE: unit = 1 iff u < sigmoid(logit / temperature), u uniform in [0, 1)
 *   with 24 random bits, one draw per generated unit in order. Sequence b of a call draws
 *   from its own PCG32 generator seeded with (seqgen_complete_options::seed, stream
 *   seqgen_complete_options::first_stream + b): the result does not depend on the thread count
 *   or on how a larger set is cut into calls (pass each call's position as first_stream). The
 *   model's own generators are never used.
 *
 * With a start step (seqgen_model_config::start_step), the model first reads a step of zeros,
 * whose output is the probability of each unit of step 0: K = 0 generates whole sequences from
 * nothing, and for 0 < K < D the rest of step 0 is decoded from that output. Without one, the
 * model has no prediction for step 0: K = 0 sets step 0 to 0 (blank, as the top-left corner of
 * every MNIST digit; its recorded probabilities are 0) and the rollout starts from it, exactly
 * as a completion of K = D whose first step is blank; for 0 < K < D likewise the units of step
 * 0 that are not given are set to 0. K = T * D copies the sequences.
 *
 * The arithmetic is that of seqgen_model_step(), on blocks of at most 64 sequences shared out
 * across the model's threads (seqgen_model_set_threads()), each with one-thread BLAS. A
 * completion of up to 64 sequences equals, bit for bit, a rollout of the same batch made with
 * seqgen_model_step() (with lengths: up to each sequence's length, zeros after it; with the
 * autoregressive heads, made with seqgen_model_step_units() and a greedy chooser); for larger
 * batches the probabilities may differ from such a rollout by
 * the float rounding of the matrix products, which can depend on their number of rows. Results
 * are the same for every thread count. Memory is allocated once per call, never per step.
 * @{
 */

/** How a generated unit is chosen from the model's output. */
typedef enum seqgen_decode {
    SEQGEN_DECODE_GREEDY = 0, /**< 1 iff the probability is above 0.5 (deterministic). */
    SEQGEN_DECODE_SAMPLE = 1  /**< A Bernoulli sample of sigmoid(logit / temperature). */
} seqgen_decode;

/** Completion settings. Start from seqgen_complete_options_default(). */
typedef struct seqgen_complete_options {
    seqgen_decode decode;  /**< Default ::SEQGEN_DECODE_GREEDY. */
    double temperature;    /**< Sampling only: finite and > 0; below 1 sharpens towards greedy,
                                above 1 flattens towards coin flips. Default 1. */
    uint64_t seed;         /**< Sampling only: seed of the generators. Default 0. */
    uint64_t first_stream; /**< Sampling only: sequence b uses stream first_stream + b.
                                Default 0. */
} seqgen_complete_options;

/**
 * @brief The defaults: greedy, temperature 1, seed 0, first stream 0.
 * @return The options, by value.
 */
SEQGEN_API seqgen_complete_options seqgen_complete_options_default(void);

/**
 * @brief Completes a batch of sequences from their first @p given units.
 *
 * @param model The model (only read: several calls may share it from different threads).
 * @param sequences `count * steps * D` floats, `[count][steps][D]`: only the first @p given
 *        units of each sequence (and of its length) are read, and must be finite (normally 0 or
 *        1).
 * @param count Number of sequences, >= 1.
 * @param steps T, steps per sequence (the longest, with lengths), >= 1; the model's
 *        seqgen_model_config::steps if that is not 0.
 * @param lengths NULL (every sequence has T steps), or `[count]` lengths in steps, in [1, T].
 * @param given K, the units given, 0 <= K <= T * D (see above for K < D).
 * @param opts NULL for seqgen_complete_options_default().
 * @param[out] completed `count * steps * D` floats: each sequence's given units copied, the
 *        generated ones (0.0f or 1.0f) after them up to its length, 0.0f after that. May be
 *        @p sequences itself (in place); may not overlap it otherwise.
 * @param[out] probs NULL, or `count * (steps * D - given)` floats: for each sequence, the model's
 *        probability sigmoid(logit) (temperature 1, as seqgen_model_step() gives it) of each
 *        unit after the given ones, in order, 0 after the sequence's length (seqgen-complete
 *        shades its pictures by them).
 * @return ::SEQGEN_OK; ::SEQGEN_EINVAL (NULL pointer, a categorical model, count 0, steps 0,
 *         a length outside
 *         [1, T], K outside [0, T * D], unknown decoder, temperature not finite and > 0, a given
 *         unit within a sequence's length NaN or infinite, count * T * D above 2^40; the detail
 *         says which), ::SEQGEN_EMISMATCH (the model's seqgen_model_config::steps is not 0 and
 *         not T) or ::SEQGEN_ENOMEM. On failure nothing is written.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_complete(const seqgen_model *model, const float *sequences,
                                                size_t count, int steps, const size_t *lengths,
                                                int given, const seqgen_complete_options *opts,
                                                float *completed, float *probs);

/** Which measurements seqgen_evaluate_dataset() makes (bits of seqgen_eval_options::metrics). */
typedef enum seqgen_eval_metric {
    SEQGEN_EVAL_LOSS = 1,       /**< Teacher-forced MSE, BCE and NLL. */
    SEQGEN_EVAL_COMPLETION = 2, /**< Completion unit error. */
    SEQGEN_EVAL_LABEL = 4,      /**< Label kept and its bounds (needs labelled training and test
                                     sets; for MNIST, the digit kept). */
    SEQGEN_EVAL_ALL = 7         /**< All of them. */
} seqgen_eval_metric;

/** K of seqgen_eval_options::given: half of a sequence, floor(T / 2) whole steps. */
#define SEQGEN_GIVEN_HALF (-1)

/** Evaluation settings. Start from seqgen_eval_options_default(). */
typedef struct seqgen_eval_options {
    unsigned metrics;                 /**< An OR of ::seqgen_eval_metric; default
                                           ::SEQGEN_EVAL_ALL. */
    int given;                        /**< K, units given to completion, at most T * D; or
                                           ::SEQGEN_GIVEN_HALF (the default). MNIST's
                                           experiment gives 500. */
    seqgen_complete_options complete; /**< The decoder. Default greedy; with sampling, test
                                           sequence i uses stream `complete.first_stream + i`. */
    size_t batch_size;                /**< Sequences per teacher-forced loss pass (the model's
                                           training workspace grows to it: keep it at most the
                                           training batch). Default 64. */
    size_t first;                     /**< The first test sequence evaluated (default 0), so
                                           that processes can share out a test set: sampling
                                           streams are numbered by the sequences' indices in
                                           the test set, so the parts' results, combined with
                                           the counts of ::seqgen_eval_results, are the whole
                                           evaluation's. */
    size_t limit;                     /**< Evaluate at most `limit` test sequences from
                                           `first` on; 0 (default): all of them. */
    seqgen_binarize_config binarize;  /**< How test intensities become units. Default threshold
                                           127. */
} seqgen_eval_options;

/** What seqgen_evaluate_dataset() measured. A quantity not measured is NaN. */
typedef struct seqgen_eval_results {
    size_t sequences;              /**< Test sequences evaluated: the weight of the means per
                                        sequence (nll_nats, label_kept and its bounds, the
                                        nearest distances). */
    int given;                     /**< K, the units given to completion. */
    uint64_t predicted_units;      /**< Units the teacher-forced losses are over: the weight of
                                        mse and bce (0 if not measured). */
    uint64_t generated_units;      /**< Units completion generated: the weight of unit_error
                                        (0 if not measured). */
    double mse;                    /**< Teacher-forced mean squared error per predicted unit. */
    double bce;                    /**< Teacher-forced binary cross-entropy per predicted unit. */
    double nll_nats;               /**< Negative log-likelihood per sequence, in nats: the BCE
                                        summed over its predicted units (step 0 is not
                                        predicted, unless the model has a start step), averaged
                                        over sequences. */
    double unit_error;             /**< Fraction of generated units differing from the truth
                                        (0 when nothing is generated). */
    double label_kept;             /**< Fraction of completed sequences whose nearest training
                                        sequence (seqgen_dataset_nearest()) has the true label. */
    double label_kept_truth;       /**< Upper bound: the same on the true test sequences. */
    double label_kept_blank;       /**< Lower bound: the same on the given units alone, the
                                        missing ones set to 0. */
    double nearest_distance;       /**< Mean Hamming distance from a completed sequence to its
                                        nearest training sequence (small: it copies one). */
    double nearest_distance_truth; /**< The same for the true test sequences, for comparison. */
} seqgen_eval_results;

/**
 * @brief The defaults: all metrics, K = half, greedy, batches of 64, every sequence, threshold
 *        127.
 * @return The options, by value.
 */
SEQGEN_API seqgen_eval_options seqgen_eval_options_default(void);

/**
 * @brief Evaluates a model on a test set: test loss, completion unit error, label kept.
 *
 * The loss is seqgen_model_evaluate() over every sequence (teacher forcing, with the test set's
 * lengths), in batches. The completion is seqgen_complete() with @p opts' K and decoder. Label
 * kept classifies a sequence by the label of its nearest training sequence
 * (seqgen_dataset_nearest(): exact 1-NN in Hamming distance on binary units).
 *
 * Evaluation never draws from the model's generators nor changes its parameters or gradients:
 * evaluating between training steps, or not, gives bit-identical training.
 * @param model The model; only its evaluation workspace changes.
 * @param test The test set (read only).
 * @param train The training set searched by the nearest-neighbour classifier (its index is
 *        built on first use); may be NULL when ::SEQGEN_EVAL_LABEL is not asked.
 * @param opts NULL for seqgen_eval_options_default().
 * @param[out] results Receives the numbers; unchanged on failure.
 * @return ::SEQGEN_OK; ::SEQGEN_EINVAL (NULL pointer, unknown metric bit, a bad K, decoder or
 *         batch size, ::SEQGEN_EVAL_LABEL without a training set or without labels);
 *         ::SEQGEN_EMISMATCH (the model's D is not a multiple of the data's D0 dividing its
 *         units, or not D0 when lengths vary; the model's steps are not the data's T; the two
 *         sets differ in shape); ::SEQGEN_ENOMEM; ::SEQGEN_ENUMERIC (the loss is not finite).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_evaluate_dataset(seqgen_model *model,
                                                        const seqgen_dataset *test,
                                                        seqgen_dataset *train,
                                                        const seqgen_eval_options *opts,
                                                        seqgen_eval_results *results);

/** @} */

/* ==== Generation of symbols ================================================================== */

/**
 * @defgroup generate Generation of symbols: writing sequences with a categorical model
 * @brief Give a categorical model (seqgen_model_config::vocab >= 2) a prefix of each sequence,
 *        or nothing, and let it write symbol after symbol until an end symbol or a length.
 *
 * @par The rollout
 * Sequence b of a call starts from its prefix, the first `prefix_lengths[b]` symbols of its row
 * of `prefixes`, which the model reads by teacher forcing (the symbols of the prefix are never
 * changed, an end symbol among them included). With a start step
 * (seqgen_model_config::start_step) the model first reads the start step's zero vector, whose
 * output is the distribution of the first symbol: a prefix may then be empty and the whole
 * sequence is generated. Without one the model has no prediction for the first symbol, so every
 * prefix needs at least one. After the prefix, the model's output after the last symbol gives
 * the next symbol (decoded as below), which is written and fed back, and so on until the
 * sequence holds `max_steps` symbols (the prefix included) or the symbol just generated is
 * seqgen_generate_options::end_symbol, which is written and counted in its length. Positions
 * after a sequence's length hold -1.
 *
 * @par Decoding
 * Let a be the logits of the next symbol (as seqgen_model_step_symbols() gives them). "The most
 * probable" symbols are ranked by their logits, highest first, the lower id first among equal
 * logits: the order of the probabilities at every temperature.
 * - ::SEQGEN_DECODE_GREEDY: the first of that ranking, the argmax (the symbol that
 *   ::SEQGEN_FEEDBACK_THRESHOLD feeds back in training). No random number is used; temperature,
 *   top-k and top-p do not change it.
 * - ::SEQGEN_DECODE_SAMPLE, in this order:
 *   1. the weights `w_k = exp((a_k - max a) / temperature)`, in double;
 *   2. top-k (A. Fan, M. Lewis, Y. Dauphin, "Hierarchical Neural Story Generation", ACL 2018):
 *      with seqgen_generate_options::top_k = k >= 1, only the first k symbols of the ranking are
 *      kept (all of them when k >= V);
 *   3. top-p, nucleus sampling (A. Holtzman, J. Buys, L. Du, M. Forbes, Y. Choi, "The Curious
 *      Case of Neural Text Degeneration", ICLR 2020): with seqgen_generate_options::top_p = p <
 *      1, of the symbols kept so far only the shortest beginning of the ranking whose weights
 *      sum to at least p times theirs (sums in double, in the order of the ranking);
 *   4. one uniform u in [0, 1) with 24 random bits (every generated symbol draws exactly one,
 *      whatever is kept), and the symbol is the first kept one, **in id order**, whose
 *      cumulative weight C_k (the sum of the kept weights of ids up to k, in double) satisfies
 *      u * S < C_k, S the sum of all the kept weights: the inverse distribution function of the
 *      kept symbols' renormalised probabilities. A symbol of weight 0 is never drawn.
 *
 *   Sequence b of a call draws from its own PCG32 generator seeded with
 *   (seqgen_generate_options::seed, stream seqgen_generate_options::first_stream + b), as
 *   seqgen_complete() does: the result does not depend on the thread count, and a sequence
 *   draws the same numbers however a larger set is cut into calls (pass each call's position
 *   in the set as first_stream; cut at multiples of 64 sequences, the blocks below, for the
 *   same symbols bit for bit). The model's own generators are never used.
 *
 * @par Batching
 * The arithmetic is that of seqgen_model_step_symbols(), on blocks of at most 64 sequences
 * shared out across the model's threads (seqgen_model_set_threads()), each with one-thread
 * BLAS; a block runs until its last sequence ends, the ended ones reading zero vectors. A call
 * with at most 64 sequences equals, bit for bit, a rollout of the same batch made with
 * seqgen_model_step_symbols(); larger calls may differ from such a rollout by the float
 * rounding of the matrix products, which can depend on their number of rows. Results are the
 * same for every thread count. Memory is allocated once per call, never per step. The model is
 * only read: several calls may share it from different threads.
 * @{
 */

/** Generation settings. Start from seqgen_generate_options_default(); every field is checked,
 *  whatever the decoder. */
typedef struct seqgen_generate_options {
    seqgen_decode decode;  /**< ::SEQGEN_DECODE_GREEDY (default) or ::SEQGEN_DECODE_SAMPLE. */
    double temperature;    /**< Sampling: finite and > 0; below 1 sharpens towards greedy, above
                                1 flattens towards uniform. Default 1. */
    int top_k;             /**< Sampling: 0 (default) keeps every symbol; k >= 1 the k most
                                probable. */
    double top_p;          /**< Sampling: in (0, 1]; 1 (default) keeps every symbol, p < 1 the
                                nucleus of mass p (see the group's description). */
    int32_t end_symbol;    /**< The symbol that ends a sequence when generated, in [0, V); -1
                                (default): none, every sequence gets `max_steps` symbols. */
    uint64_t seed;         /**< Sampling: seed of the generators. Default 0. */
    uint64_t first_stream; /**< Sampling: sequence b uses stream first_stream + b. Default 0. */
} seqgen_generate_options;

/**
 * @brief The defaults: greedy, temperature 1, no top-k (0), no top-p (1), no end symbol (-1),
 *        seed 0, first stream 0.
 * @return The options, by value.
 */
SEQGEN_API seqgen_generate_options seqgen_generate_options_default(void);

/**
 * @brief Generates a batch of sequences of symbols, each from its prefix.
 *
 * @param model A categorical model (seqgen_model_config::vocab >= 2), only read.
 * @param prefixes `[count][max_steps]` symbol ids: the first `prefix_lengths[b]` of row b are
 *        sequence b's prefix, each in [0, V); the rest of the row is not read. NULL only when
 *        @p prefix_lengths is NULL.
 * @param prefix_lengths `[count]` lengths in [0, max_steps] (0 only with a start step), or NULL:
 *        every prefix is empty (the model needs a start step).
 * @param count Number of sequences, >= 1.
 * @param max_steps The most symbols a sequence may hold, the prefix included, >= 1.
 * @param opts NULL for seqgen_generate_options_default().
 * @param[out] out `[count][max_steps]` symbol ids: each prefix copied, the generated symbols
 *        after it, -1 after the sequence's length. May be @p prefixes itself (in place); may
 *        not overlap it otherwise.
 * @param[out] out_lengths NULL, or `[count]`: each sequence's length (prefix, generated symbols
 *        and the end symbol if one was generated).
 * @param[out] probs NULL, or `[count][max_steps]` floats: at the position of each generated
 *        symbol, the probability the model gave it, softmax(a) at temperature 1 over all V
 *        symbols (as seqgen_model_step_symbols() computes it; before any truncation), and 0 at
 *        the prefix's positions and after the sequence's length.
 * @return ::SEQGEN_OK; ::SEQGEN_EINVAL (NULL pointer, a binary model, count 0, max_steps < 1, a
 *         prefix longer than max_steps, an empty prefix without a start step, a prefix symbol
 *         outside [0, V) (naming the sequence and the position), an unknown decoder, a
 *         temperature not finite and > 0, top_k < 0, top_p not in (0, 1], an end symbol outside
 *         [-1, V), count * max_steps above 2^40, overlapping outputs; the detail says which)
 *         or ::SEQGEN_ENOMEM. On failure nothing is written.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_generate(const seqgen_model *model, const int32_t *prefixes,
                                                const size_t *prefix_lengths, size_t count,
                                                int max_steps,
                                                const seqgen_generate_options *opts, int32_t *out,
                                                size_t *out_lengths, float *probs);

/**
 * @name Evaluation of symbols
 * seqgen_evaluate_symbols() measures a categorical model on a test set of symbol sequences, the
 * counterpart of seqgen_evaluate_dataset() for binary units:
 *
 * - **The teacher-forced loss**: seqgen_model_evaluate_symbols() over the test sequences in
 *   batches of seqgen_symbol_eval_options::batch_size, with their lengths: the cross-entropy of
 *   every counted prediction (each symbol after the first, the first too with a start step),
 *   in nats and bits per symbol and in nats per sequence.
 * - **Completion**: test sequence i of length L_i (its end symbol included) is given its first
 *   K_i symbols, K_i = seqgen_symbol_eval_options::given or, with ::SEQGEN_GIVEN_HALF,
 *   floor(L_i / 2); seqgen_generate() with seqgen_symbol_eval_options::generate writes the rest
 *   until the end symbol or seqgen_symbol_eval_options::max_steps symbols. A sequence with
 *   L_i <= K_i (nothing to complete), or with K_i = 0 when the model has no start step (nothing
 *   to predict a first symbol from), is skipped and counted in
 *   seqgen_symbol_eval_results::skipped. For each completed sequence let c be its true
 *   continuation, symbols K_i .. L_i - 1 (n = L_i - K_i symbols, the end symbol included), and
 *   g the generated one, the symbols seqgen_generate() wrote after the prefix (m of them, the
 *   end symbol included if generated). Its **errors** are the positions j < max(n, m) where
 *   g_j != c_j, a position beyond either's end being an error: the mismatches of the first
 *   min(n, m) positions plus |n - m|. The comparison is position by position, not an edit
 *   distance: a symbol left out shifts every later one. The **symbol error rate** is the sum of
 *   the errors over the sum of n (so it may exceed 1 when completions run on past the truth); a
 *   completion is **exact** when it has no error (g = c, the end symbol included).
 * - **Copies** (when a training set is given): the fraction of completed sequences (prefix and
 *   generated symbols, of length K_i + m) equal, symbol for symbol and in length, to a sequence
 *   of the training set, found in a hash set of the training sequences built by the call (no
 *   pairwise search); and, for comparison, the same fraction for the true test sequences.
 *
 * Sampling (::SEQGEN_DECODE_SAMPLE) draws test sequence i from stream
 * `generate.first_stream + i` (i its index in the test set), so the results do not depend on
 * the thread count nor on how the set is cut into calls (seqgen_symbol_eval_options::first and
 * seqgen_symbol_eval_options::limit): the parts' counts add up to the whole's. The completions
 * are the same, bit for bit, as seqgen_generate() called on the same prefixes in calls of
 * seqgen_symbol_eval_options::chunk_size sequences starting at `first`; the loss may differ
 * between thread counts by the float rounding of the sums. Memory is bounded by the chunk and
 * the batch, not by the size of the test set (plus, with a training set, a hash table of its
 * sequences).
 *
 * Evaluation never draws from the model's generators nor changes its parameters or gradients:
 * evaluating between training steps, or not, gives bit-identical training.
 * @{
 */

/** Settings of seqgen_evaluate_symbols(). Start from seqgen_symbol_eval_options_default(). */
typedef struct seqgen_symbol_eval_options {
    unsigned metrics;                 /**< An OR of ::SEQGEN_EVAL_LOSS and
                                           ::SEQGEN_EVAL_COMPLETION (the default: both);
                                           ::SEQGEN_EVAL_LABEL is for binary units and is
                                           refused. Copies are measured with the completion,
                                           when a training set is given. */
    int given;                        /**< K, the symbols given to completion, >= 1 (0 too
                                           with a start step: whole sequences generated); or
                                           ::SEQGEN_GIVEN_HALF (the default): floor(L / 2) of
                                           each sequence of length L. */
    seqgen_generate_options generate; /**< The decoder (seqgen_generate()). Default greedy,
                                           with end symbol ::SEQGEN_VOCAB_END (-1: none, every
                                           completion runs to max_steps); with sampling, test
                                           sequence i uses stream `generate.first_stream + i`. */
    int max_steps;                    /**< The most symbols a completed sequence may hold, its
                                           prefix included: 0 (default) for T, the test set's
                                           seqgen_symbol_dataset_steps(), else at least T. */
    size_t batch_size;                /**< Sequences per teacher-forced pass, 1 to INT_MAX (the
                                           model's training workspace grows to it: keep it at
                                           most the training batch). Default 64. */
    size_t chunk_size;                /**< Sequences completed per seqgen_generate() call, a
                                           multiple of 64 (its blocks); 0 (default) for 1024. */
    size_t first;                     /**< The first test sequence evaluated (default 0). */
    size_t limit;                     /**< Evaluate at most `limit` test sequences from `first`
                                           on; 0 (default): all of them. */
} seqgen_symbol_eval_options;

/** What seqgen_evaluate_symbols() measured. A quantity not measured is NaN, its counts 0. */
typedef struct seqgen_symbol_eval_results {
    size_t sequences;           /**< Test sequences evaluated: the weight of nats_per_sequence. */
    uint64_t predicted_symbols; /**< Symbols the loss is over (counted predictions): the weight
                                     of nats_per_symbol and bits_per_symbol. */
    double nats_per_symbol;     /**< Teacher-forced cross-entropy per predicted symbol, in nats. */
    double bits_per_symbol;     /**< The same in bits: nats_per_symbol / ln 2. */
    double nats_per_sequence;   /**< The cross-entropy summed over a sequence's predictions,
                                     averaged over the sequences, in nats. */
    size_t completed;           /**< Sequences completed: the weight of exact_match, copies,
                                     copies_truth and the mean lengths. */
    size_t skipped;             /**< Sequences too short to complete (see above). */
    uint64_t true_symbols;      /**< Symbols of the true continuations (the sum of n): the weight
                                     of symbol_error. */
    uint64_t generated_symbols; /**< Symbols generated (the sum of m). */
    uint64_t symbol_errors;     /**< Errors of the completions (see above). */
    size_t exact;               /**< Completions with no error. */
    size_t copied;              /**< Completed sequences equal to a training sequence. */
    size_t copied_truth;        /**< True test sequences (of those completed) equal to a
                                     training sequence. */
    double symbol_error;        /**< symbol_errors / true_symbols (0 when nothing is completed). */
    double exact_match;         /**< exact / completed (NaN when nothing is completed, as for
                                     the three means below and the copies). */
    double mean_generated;      /**< generated_symbols / completed: the mean length of a
                                     generated continuation. */
    double mean_true;           /**< true_symbols / completed: the mean length of a true one. */
    double copies;              /**< copied / completed; NaN without a training set. */
    double copies_truth;        /**< copied_truth / completed; NaN without a training set. */
} seqgen_symbol_eval_results;

/**
 * @brief The defaults: the loss and completion, K = half, greedy until ::SEQGEN_VOCAB_END,
 *        max_steps T, batches of 64, chunks of 1024, every sequence.
 * @return The options, by value.
 */
SEQGEN_API seqgen_symbol_eval_options seqgen_symbol_eval_options_default(void);

/**
 * @brief Evaluates a categorical model on a test set of symbols: teacher-forced cross-entropy,
 *        completion symbol error and exact match, and copies of the training set.
 *
 * See the section above for what is measured.
 * @param model A categorical model; only its training workspace changes (as in
 *        seqgen_model_evaluate_symbols()).
 * @param test The test sequences (read only), of the model's vocabulary size.
 * @param train NULL, or the training sequences (read only), of the same vocabulary size: then
 *        copies are measured with the completion.
 * @param opts NULL for seqgen_symbol_eval_options_default().
 * @param[out] results Receives the numbers; unchanged on failure.
 * @return ::SEQGEN_OK; ::SEQGEN_EINVAL (NULL model, test set or results; metrics not a non-empty
 *         OR of ::SEQGEN_EVAL_LOSS and ::SEQGEN_EVAL_COMPLETION; K below 0 and not
 *         ::SEQGEN_GIVEN_HALF, or 0 without a start step; a bad decoder, temperature, top-k,
 *         top-p or end symbol; max_steps neither 0 nor in [T, INT_MAX]; batch size outside
 *         [1, INT_MAX]; a chunk size not a multiple of 64; `first` past the test set);
 *         ::SEQGEN_EMISMATCH (a model of binary units, or a test or training set whose
 *         vocabulary size is not the model's V); ::SEQGEN_ENOMEM; ::SEQGEN_ENUMERIC (the loss is
 *         not finite). The detail names what.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_evaluate_symbols(seqgen_model *model,
                                                        const seqgen_symbol_dataset *test,
                                                        const seqgen_symbol_dataset *train,
                                                        const seqgen_symbol_eval_options *opts,
                                                        seqgen_symbol_eval_results *results);

/** @} */
/** @} */

/* ==== Checkpoints ============================================================================ */

/**
 * @defgroup checkpoint Checkpoints: saving, sharing and resuming
 * @brief A versioned, checksummed file holding a model and, optionally, its training state.
 *
 * The format is specified in @ref checkpoint_format (docs/checkpoint-format.md): magic bytes,
 * a format version, little-endian fields, the model configuration, every parameter tensor under
 * its PyTorch name and shape, then optional training state, each part in a section with its own
 * CRC-32 and a CRC-32 over the whole file. A *model checkpoint* is enough for inference; a
 * *training checkpoint* adds whatever of ::seqgen_train_state is given and always the run's
 * setup (::seqgen_run_config: loss, feedback, batches, data, evaluation, epochs), so that a
 * program can continue a run from the file alone, and loading it and training on gives
 * bit-identical parameters to never having stopped (same thread count). A categorical model
 * may be saved with its vocabulary (seqgen_checkpoint_save_with_vocab()), a professor-forcing
 * run with its trainer (seqgen_train_state::professor). This library writes
 * format version 7 and reads versions 3 to 7; older files are refused with ::SEQGEN_EVERSION.
 *
 * Saving is atomic: the file is written under a temporary name in the same directory, flushed
 * to disk, renamed over the target and the directory flushed, so a crash leaves the old file or
 * the new one, never a mixture. Loading checks everything before trusting it: magic, sizes
 * against the file and the configuration, checksums, versions, ranges, finite values. A damaged
 * or hostile file gives ::SEQGEN_EFORMAT, ::SEQGEN_ETRUNCATED, ::SEQGEN_ETRAILING,
 * ::SEQGEN_EOVERFLOW, ::SEQGEN_ECHECKSUM, ::SEQGEN_EVERSION (a newer format, or a required
 * section this version does not know), ::SEQGEN_EMISMATCH, ::SEQGEN_ERANGE or
 * ::SEQGEN_ENUMERIC, with the file, section and byte in seqgen_last_error(); never a crash.
 * @{
 */

/** The longest seqgen_run_config::data_source and seqgen_run_config::test_source, in bytes,
 *  without the terminating zero. */
#define SEQGEN_RUN_SOURCE_MAX 1023

/** What a run's training data is: which iterator its position belongs to, and how a program
 *  opens it again (seqgen_run_config::data). */
typedef enum seqgen_run_data {
    SEQGEN_RUN_DATA_UNITS = 0,   /**< Sequences of binary units (a ::seqgen_dataset), in batches
                                      of a ::seqgen_batch_iter. The default. */
    SEQGEN_RUN_DATA_SYMBOLS = 1, /**< Sequences of symbols (a ::seqgen_symbol_dataset, e.g. from
                                      memory), in batches of a ::seqgen_symbol_iter. */
    SEQGEN_RUN_DATA_TEXT = 2     /**< Lines of a text file read by
                                      seqgen_symbol_dataset_open_text() from
                                      seqgen_run_config::data_source with the options
                                      seqgen_run_config::text, in batches of a
                                      ::seqgen_symbol_iter. */
} seqgen_run_data;

/**
 * @brief How a training run is set up, besides the model, optimiser and schedule: everything a
 *        program needs to continue the run from its checkpoint alone.
 *
 * A training checkpoint always holds one (section `RUNC`); seqgen_checkpoint_inspect() returns
 * it, so that a program can open the data as it was, create the batch iterator from
 * seqgen_run_config::batches and then call seqgen_checkpoint_load_training(), which checks that
 * the iterator is the one saved. Saving and loading check every field against the limits
 * below.
 */
typedef struct seqgen_run_config {
    seqgen_train_options train;  /**< Loss and feedback of the training passes; teacher_prob
                                      (in [0, 1]) is the p of a run without a schedule; the
                                      slices must be 0 (a slice is chosen per pass). */
    seqgen_batch_config batches; /**< The training batch iterator's whole configuration: batch
                                      size (1 to 2^32 - 1), D (the model's: a run of another D
                                      is not saved, nor loaded, ::SEQGEN_EMISMATCH), shuffle and
                                      its seed, drop_last, binarisation (mode, threshold, seed,
                                      resampling). */
    uint64_t train_sequences;    /**< How many training sequences the run uses (the dataset's
                                      count after seqgen_dataset_limit()), at most 2^32 - 1;
                                      must be the batch iterator's count when one is saved;
                                      0 = not recorded (no iterator). */
    seqgen_eval_options eval;    /**< The evaluation the program runs after each epoch: metrics
                                      (a non-empty OR of ::seqgen_eval_metric), K (0 to 2^31 -
                                      1, or ::SEQGEN_GIVEN_HALF), decoder, batch size (1 to
                                      2^31 - 1), test-sequence limit (0 = all, at most
                                      2^32 - 1), binarisation; `first` must be 0 (a part
                                      of the test set is chosen per call, not for a run). */
    uint64_t epochs;             /**< The number of epochs the run is to train (any value). */
    char data_source[SEQGEN_RUN_SOURCE_MAX + 1]; /**< Where the training data came from, e.g.
                                      the MNIST directory or a `.npy` file: at most
                                      ::SEQGEN_RUN_SOURCE_MAX printable ASCII bytes (0x20 to
                                      0x7e), zero-terminated; "" = not recorded. */
    char test_source[SEQGEN_RUN_SOURCE_MAX + 1]; /**< Where the test data came from, when not
                                      found from data_source (e.g. a second `.npy` file); the
                                      same rules; "" = not recorded. */
    seqgen_run_data data;        /**< What the training data is (::SEQGEN_RUN_DATA_UNITS by
                                      default): a run of units saves the position of a
                                      ::seqgen_batch_iter, one of symbols or text that of a
                                      ::seqgen_symbol_iter. */
    seqgen_text_options text;    /**< How the text was read (with ::SEQGEN_RUN_DATA_TEXT; kept
                                      for the others too): the options to give
                                      seqgen_symbol_dataset_open_text() again. vocab must be
                                      NULL (the vocabulary is saved by
                                      seqgen_checkpoint_save_with_vocab(), and is NULL when
                                      loaded); holdout_every 0 or 2 to 2^32 - 1; max_bytes at
                                      least 1; max_line_symbols and max_sequences 1 to
                                      2^32 - 1. Default: seqgen_text_options_default(). */
    uint64_t data_checksum;      /**< A checksum of the training data the program computed, to
                                      recognise it when resuming (for symbols:
                                      seqgen_symbol_dataset_checksum()); any value, 0 = not
                                      recorded. */
} seqgen_run_config;

/**
 * @brief The defaults: seqgen_train_options_default(), ::SEQGEN_BATCH_CONFIG_DEFAULT, no
 *        training-sequence count, seqgen_eval_options_default(), 10 epochs, no data sources,
 *        data of units, seqgen_text_options_default(), no checksum.
 * @return The configuration, by value.
 */
SEQGEN_API seqgen_run_config seqgen_run_config_default(void);

/**
 * @brief The training state a checkpoint saves and restores besides the model.
 *
 * Every handle may be NULL: it is then not saved (and, on loading, created from the file if it
 * can be, see seqgen_checkpoint_load_training()). The counters belong to the caller's loop; they
 * are also the schedule's position (see @ref sched). Start from `{NULL, NULL, NULL, 0, 0,
 * seqgen_run_config_default(), NULL}` and fill in the run. At most one of the two iterators is
 * given: seqgen_train_state::batches for a run of units, seqgen_train_state::symbol_batches for
 * one of symbols (seqgen_run_config::data says which).
 */
typedef struct seqgen_train_state {
    seqgen_optim *optim;        /**< Optimiser: kind, settings, moments, step count. */
    seqgen_sched *sched;        /**< Schedule: kind and parameters (its position: the counters). */
    seqgen_batch_iter *batches; /**< Training batches: epoch and position in the epoch (its
                                     configuration must be seqgen_run_config::batches). */
    uint64_t epoch;             /**< Epochs the training loop has completed. */
    uint64_t iteration;         /**< Batches the training loop has completed, in total. */
    seqgen_run_config run;      /**< How the run is set up; always saved with the training state. */
    seqgen_symbol_iter *symbol_batches; /**< Training batches of symbols: epoch and position in
                                     the epoch (its configuration must be
                                     seqgen_run_config::batches, its count
                                     seqgen_run_config::train_sequences, and the run's data
                                     ::SEQGEN_RUN_DATA_SYMBOLS or ::SEQGEN_RUN_DATA_TEXT). */
    seqgen_professor *professor; /**< Professor forcing (see @ref professor_step), or NULL: its
                                     settings, discriminator, the discriminator's optimiser and
                                     the sampling generator (section `PFDC`, format 7). Loading
                                     a checkpoint that holds one into NULL creates it; into a
                                     handle, its discriminator must have the saved shape. */
} seqgen_train_state;

/** What a checkpoint holds, as told by seqgen_checkpoint_inspect(). */
typedef struct seqgen_checkpoint_info {
    uint32_t version;           /**< Format version of the file. */
    seqgen_model_config model;  /**< The model's configuration (seed and threads as saved). */
    size_t param_count;         /**< Number of float parameters of that configuration. */
    int has_training;           /**< 1 for a training checkpoint, 0 for a model checkpoint. */
    uint64_t epoch;             /**< Training progress (0 in a model checkpoint). */
    uint64_t iteration;         /**< Training progress (0 in a model checkpoint). */
    seqgen_run_config run;      /**< The run's setup, in a training checkpoint (else the
                                     defaults). */
    int has_optim;              /**< 1 if the optimiser's state is saved. */
    seqgen_optim_config optim;  /**< Its settings, if saved. */
    uint64_t optim_steps;       /**< Its step count, if saved. */
    int has_sched;              /**< 1 if the schedule is saved. */
    seqgen_sched_config sched;  /**< Its parameters, if saved. */
    int has_batches;            /**< 1 if the position of a batch iterator of units
                                     (::seqgen_batch_iter) is saved. */
    uint64_t batches_epoch;     /**< The saved iterator's epoch (of either kind), if saved. */
    uint64_t batches_position;  /**< Its position in that epoch, if saved. */
    int has_symbol_batches;     /**< 1 if the position of a symbol iterator
                                     (::seqgen_symbol_iter) is saved (in batches_epoch and
                                     batches_position). */
    int has_professor;          /**< 1 if professor forcing's state is saved. */
    seqgen_professor_config professor; /**< Its settings, if saved. */
} seqgen_checkpoint_info;

/**
 * @brief Saves a model, and optionally its training state, atomically to @p path.
 * @param path The file to create or replace; its directory must exist and be writable.
 * @param model The model (only read).
 * @param train NULL for a model checkpoint; else the training state to save (its NULL handles
 *        are left out; the counters and the run are always saved).
 * @return ::SEQGEN_OK; ::SEQGEN_EINVAL (NULL argument, an optimiser of another shape, both
 *         iterators given, or a field of `train->run` out of its range, named in the detail);
 *         ::SEQGEN_EMISMATCH (the batch iterator's configuration or sequence count is not
 *         `train->run`'s, the field named, or it is not of the kind of the run's data);
 *         ::SEQGEN_EIO or ::SEQGEN_ENOENT (cannot write: permission, disk full, no directory;
 *         the old file, if any, is left intact); ::SEQGEN_ENUMERIC (a parameter or optimiser
 *         moment is NaN or infinite: nothing is written); ::SEQGEN_ENOMEM.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_checkpoint_save(const char *path, const seqgen_model *model,
                                                       const seqgen_train_state *train);

/**
 * @brief Saves a categorical model with the vocabulary of its symbols, and optionally its
 *        training state: seqgen_checkpoint_save() plus a `VOCB` section.
 *
 * The vocabulary belongs to the data, not to the model (a model only knows V), so it is a
 * section of its own beside the run's setup; seqgen_checkpoint_load_vocab() reads it back, so
 * that a program can turn generated ids into text from the checkpoint alone.
 * @param path The file to create or replace.
 * @param model A categorical model (only read).
 * @param train NULL, or the training state, as for seqgen_checkpoint_save().
 * @param vocab The vocabulary; its size must be the model's seqgen_model_config::vocab.
 * @return As seqgen_checkpoint_save(), and ::SEQGEN_EINVAL for a NULL @p vocab,
 *         ::SEQGEN_EMISMATCH (nothing written) when its size is not the model's V.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_checkpoint_save_with_vocab(const char *path,
                                                                  const seqgen_model *model,
                                                                  const seqgen_train_state *train,
                                                                  const seqgen_vocab *vocab);

/**
 * @brief Loads the vocabulary saved with a model (seqgen_checkpoint_save_with_vocab()).
 *
 * The whole file is checked as by seqgen_checkpoint_inspect(); the vocabulary's size must be
 * the saved model's V (else ::SEQGEN_EMISMATCH) and its code points valid symbols in
 * increasing order (else ::SEQGEN_ERANGE).
 * @param[out] out Receives a new vocabulary (free it with seqgen_vocab_free()), or NULL if the
 *        file holds none (a model of binary units, or one saved without it); unchanged on
 *        failure.
 * @param path The checkpoint.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (NULL argument), ::SEQGEN_ENOENT, ::SEQGEN_EIO,
 *         ::SEQGEN_ENOMEM, or a format status (see @ref checkpoint).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_checkpoint_load_vocab(seqgen_vocab **out,
                                                             const char *path);

/**
 * @brief Loads the model of a checkpoint (model or training), for inference or fine-tuning.
 *
 * The model is created with the saved configuration (including seed and threads) and its
 * generators are restored. Training state in the file is ignored, after the checksums and the
 * range checks of its small fields (the optimiser's moment tensors are not read).
 * @param[out] out Receives the new model; unchanged on failure.
 * @param path The checkpoint.
 * @return ::SEQGEN_OK, ::SEQGEN_ENOENT, ::SEQGEN_EIO, ::SEQGEN_ENOMEM, or a format status (see
 *         @ref checkpoint).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_checkpoint_load_model(seqgen_model **out, const char *path);

/**
 * @brief Loads a training checkpoint to resume training exactly where it was saved.
 *
 * Handles given are restored in place, NULL ones are created from the file:
 * - @p model: if `*model` is NULL a model is created; otherwise it must have the saved D, H, L,
 *   start step and steps (else ::SEQGEN_EMISMATCH) and its parameters and generators are
 *   overwritten.
 * - `train->optim`, `train->sched`: if NULL and the file holds their state, they are created
 *   (the optimiser for the model); if given, their settings and state are overwritten, and the
 *   file must hold their state (else ::SEQGEN_EMISMATCH). The caller frees what was created.
 * - `train->batches`: cannot be created (it needs the dataset: create it from the
 *   seqgen_run_config::batches that seqgen_checkpoint_inspect() gives); if given, its
 *   configuration (D, batch size, shuffle and seed, drop_last, binarisation) and sequence count must
 *   be the saved run's, else ::SEQGEN_EMISMATCH naming the first field that differs, and it is
 *   moved to the saved epoch and position; if NULL, the saved position is ignored. The run's
 *   data must be units (seqgen_run_config::data), else ::SEQGEN_EMISMATCH.
 * - `train->symbol_batches`: the same for a ::seqgen_symbol_iter (create it over the symbol
 *   dataset from seqgen_run_config::batches); the run's data must be symbols or text. Giving
 *   both iterators is ::SEQGEN_EINVAL.
 * - `train->epoch`, `train->iteration` receive the saved counters, `train->run` the saved run.
 *
 * All or nothing: on failure no handle or argument has changed and nothing is left allocated.
 * @param path The checkpoint; a model checkpoint is refused (::SEQGEN_EMISMATCH).
 * @param[in,out] model The model to restore, or a pointer to NULL to create one.
 * @param[in,out] train The handles to restore or create, and the counters.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (NULL argument), ::SEQGEN_EMISMATCH, ::SEQGEN_ENOENT,
 *         ::SEQGEN_EIO, ::SEQGEN_ENOMEM, or a format status (see @ref checkpoint).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_checkpoint_load_training(const char *path,
                                                                seqgen_model **model,
                                                                seqgen_train_state *train);

/**
 * @brief Tells what a checkpoint holds without loading its tensors.
 *
 * The whole file is still checked (size, CRCs, version, the configuration sections); tensors
 * are only checked by the loaders. A program resuming a run reads the run's setup here
 * (seqgen_checkpoint_info::run) to open the data and create the batch iterator before
 * seqgen_checkpoint_load_training().
 * @param path The checkpoint.
 * @param[out] info Receives the description; unchanged on failure.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL, ::SEQGEN_ENOENT, ::SEQGEN_EIO, ::SEQGEN_ENOMEM, or a
 *         format status (see @ref checkpoint).
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_checkpoint_inspect(const char *path,
                                                          seqgen_checkpoint_info *info);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* SEQGEN_H */
