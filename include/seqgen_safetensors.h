/**
 * @file seqgen_safetensors.h
 * @brief libseqgen-safetensors: models in and out of safetensors files, to and from PyTorch.
 *
 * An optional library beside libseqgen (link `-lseqgen-safetensors -lseqgen`, or
 * `pkg-config --libs seqgen-safetensors`), so that the core keeps no JSON dependency: it reads
 * the header with jansson and reaches the model only through seqgen.h. Its conventions are
 * seqgen.h's: status codes, the detail in seqgen_last_error(), nothing printed, nothing
 * half-done, a model handle created only when everything has been checked.
 *
 * @par The format
 * A safetensors file (https://github.com/huggingface/safetensors, "Format") is an 8-byte
 * little-endian unsigned header length N, N bytes of a JSON object, then the data section: the
 * raw little-endian bytes of every tensor. The object maps each tensor's name to
 * `{"dtype": "F32", "shape": [rows, cols], "data_offsets": [begin, end]}` (byte offsets into the
 * data section), and may hold `"__metadata__"`, an object of strings. PyTorch's `state_dict()`
 * names and shapes carry over as they are; a file runs no code when read.
 *
 * @par What the loader accepts
 * It checks the whole file before it makes a model:
 * - the header length at most 100,000,000 bytes (the reference loader's limit,
 *   ::SEQGEN_EOVERFLOW) and not more than the file holds after its first 8 bytes
 *   (::SEQGEN_ETRUNCATED);
 * - the header one JSON object (valid UTF-8, no NUL, no name twice), every tensor an object of
 *   exactly `dtype` (a known name), `shape` (an array of integers >= 0) and `data_offsets` (two
 *   integers, begin <= end), with shape's product times the dtype's size equal to end - begin;
 *   `__metadata__`, if present, an object whose values are all strings (::SEQGEN_EFORMAT);
 * - the tensors, sorted by their begin offsets, laid end to end from byte 0 of the data section
 *   with no gap and no overlap (::SEQGEN_EFORMAT naming the tensor and byte), the last one ending
 *   where the file does (::SEQGEN_ETRUNCATED if the file is shorter, ::SEQGEN_ETRAILING if longer);
 * - the tensors those of the model, under the names the options give (below): every one present
 *   with its shape (::SEQGEN_EMISMATCH naming the missing or misshapen tensor), no other
 *   (::SEQGEN_EMISMATCH naming it), of dtype F32, F16 or BF16 (others, such as F64, I64 or BOOL,
 *   ::SEQGEN_EFORMAT naming the tensor and dtype), every value finite (::SEQGEN_ENUMERIC naming
 *   the tensor and element: an F16 or BF16 infinity or NaN is refused, as
 *   seqgen_model_set_tensor() refuses them). F16 and BF16 values are converted exactly (every
 *   value of both is a float).
 *
 * Every detail starts with the file's path. The memory taken is bounded by the file's size:
 * the header (at most 100 MB) is read once and parsed into jansson's tree (some tens of bytes
 * per JSON value, so up to about 20 times the header's size for a header made of tiny values),
 * then the tensors are read and converted one at a time, besides the model.
 *
 * @par Names
 * With `P` = seqgen_safetensors_options::prefix, `G` = seqgen_safetensors_options::gru_module
 * and `O` = seqgen_safetensors_options::linear_module, the model's tensor `weight_ih_l0` is
 * `P G.weight_ih_l0` (`P weight_ih_l0` when G is ""), `out.weight` is `P O.weight` (`P weight`
 * when O is ""), and so on for every tensor of seqgen_model_tensor_info(). The prefix is put in
 * front as it is, so give it with its dot ("model."). The defaults ("", "", "out") are the
 * library's own names; the original project's `nn.GRU` named `rnn` and `nn.Linear` named
 * `linear` are `gru_module = "rnn"`, `linear_module = "linear"`. A categorical model's
 * `embedding.weight` is `P M.weight` with `M` = seqgen_safetensors_options::embedding_module
 * (default "embedding", PyTorch's `nn.Embedding` named `embedding`).
 *
 * @par The model's configuration
 * It comes from the shapes: `G.weight_ih_l0` is 3H x D, `G.weight_hh_lK` 3H x H, L the number of
 * layers K = 0, 1, ... whose `G.weight_ih_lK` is present, `O.weight` D x H. With an embedding
 * tensor `M.weight` of shape V x E in the file, the model is categorical
 * (seqgen_model_config::vocab V, seqgen_model_config::embedding E, one symbol per step), and
 * `G.weight_ih_l0` is 3H x E and `O.weight` V x H. With a tensor `O.ar_weight` (D x D) in the
 * file, the model has the linear autoregressive head (seqgen_model_config::head
 * ::SEQGEN_HEAD_LINEAR_AR, binary units only), whose entries on and above the diagonal must be 0
 * (::SEQGEN_EINVAL naming the entry, from seqgen_model_set_tensor()). A file written by
 * seqgen_model_save_safetensors() also records, in `__metadata__`, `seqgen.units_per_step`,
 * `seqgen.hidden`, `seqgen.layers`, `seqgen.vocab`, `seqgen.embedding` (which must agree with
 * the shapes: ::SEQGEN_EMISMATCH naming the key), `seqgen.start_step`, `seqgen.steps` and `seqgen.seed` (decimal integers in their
 * ranges, else ::SEQGEN_ERANGE naming the key), which are then used; without them, the start
 * step and the steps come from the options and the seed is seqgen_model_config_default()'s.
 * Other metadata (`format`, `seqgen.version`, a trainer's own keys) is not interpreted.
 */
#ifndef SEQGEN_SAFETENSORS_H
#define SEQGEN_SAFETENSORS_H

#include "seqgen.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The largest header the loader reads, in bytes: the reference loader's limit. */
#define SEQGEN_SAFETENSORS_MAX_HEADER 100000000

/** Where the model's tensors are in a safetensors file, and what a file without libseqgen's
 *  metadata leaves unsaid. Start from seqgen_safetensors_options_default(). */
typedef struct seqgen_safetensors_options {
    const char *prefix;        /**< Put in front of every name, as it is (e.g. "model."). Default "". */
    const char *gru_module;    /**< The GRU's module name: "rnn" gives `rnn.weight_ih_l0`; ""
                                    (default) gives `weight_ih_l0`. */
    const char *linear_module; /**< The output layer's module name: "out" (default) gives
                                    `out.weight` and `out.bias`; "" gives `weight` and `bias`. */
    const char *embedding_module; /**< A categorical model's embedding (seqgen_model_config::vocab
                                    > 0): "embedding" (default) gives `embedding.weight`. */
    int start_step;            /**< Loading a file without `seqgen.start_step`: the model's
                                    seqgen_model_config::start_step, 0 or 1. Default 0 (the
                                    original project: pixel t predicts pixel t + 1). */
    int steps;                 /**< Loading a file without `seqgen.steps`: the model's
                                    seqgen_model_config::steps, >= 0. Default 0 (any length). */
} seqgen_safetensors_options;

/**
 * @brief The defaults: no prefix, GRU tensors unprefixed, the output layer `out`, the
 *        embedding `embedding`, no start step, any length.
 * @return The options, by value.
 */
SEQGEN_API seqgen_safetensors_options seqgen_safetensors_options_default(void);

/**
 * @brief Loads a model from a safetensors file (see the checks above).
 * @param[out] out Receives the new model (seqgen_model_free()); unchanged on failure.
 * @param path The file; only a regular file is read (a FIFO, a directory or a device is refused
 *        with ::SEQGEN_EFORMAT before anything can block on it).
 * @param opts NULL for seqgen_safetensors_options_default(); its strings must not be NULL.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (a NULL argument, a start step not 0 or 1, negative
 *         steps, a prefix or module name that is not UTF-8, an embedding beside `O.ar_weight`,
 *         a nonzero `O.ar_weight` entry on or above the diagonal), ::SEQGEN_ENOENT, ::SEQGEN_EIO, ::SEQGEN_ENOMEM, or a format status as above.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_model_load_safetensors(seqgen_model **out, const char *path,
                                                              const seqgen_safetensors_options *opts);

/**
 * @brief Saves a model as a safetensors file, atomically.
 *
 * Every tensor in F32, under the names the options give, in the order of
 * seqgen_model_tensor_info() and laid out in that order; `__metadata__` holds `"format": "pt"`
 * (as PyTorch's writers put it) and libseqgen's keys (`seqgen.version`,
 * `seqgen.units_per_step`, `seqgen.hidden`, `seqgen.layers`, `seqgen.vocab`, `seqgen.embedding`,
 * `seqgen.start_step`, `seqgen.steps`, `seqgen.seed`); the header is padded with spaces to a multiple of 8 bytes, as
 * the reference writer does, so the data is aligned. The file is written under a temporary name
 * in the same directory, flushed and renamed over @p path: a crash leaves the old file or the
 * new one. `torch.nn.Module.load_state_dict()` takes the tensors of a file saved with the
 * module's names (docs/interop.md).
 * @param path The file to create or replace.
 * @param model The model (only read).
 * @param opts NULL for seqgen_safetensors_options_default() (its start step and steps are not
 *        used: the model's are saved); its strings must not be NULL.
 * @return ::SEQGEN_OK, ::SEQGEN_EINVAL (a NULL argument, a prefix or module name that is not
 *         UTF-8), ::SEQGEN_ENUMERIC (a parameter is NaN or infinite: nothing is written),
 *         ::SEQGEN_EIO or ::SEQGEN_ENOENT (cannot write; an old file is left intact),
 *         ::SEQGEN_ENOMEM.
 */
SEQGEN_API SEQGEN_NODISCARD int seqgen_model_save_safetensors(const char *path,
                                                              const seqgen_model *model,
                                                              const seqgen_safetensors_options *opts);

#ifdef __cplusplus
}
#endif

#endif /* SEQGEN_SAFETENSORS_H */
