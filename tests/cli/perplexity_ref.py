#!/usr/bin/env python3
"""Independent reader of tinylm's logits file (docs/FORMATS.md).

Usage: perplexity_ref.py LOGITS_FILE
Checks the header against the file size and prints, computed from the file
alone, the perplexity and the number of scored rows: "PPL N_ROWS".
Pure Python (no numpy), written from the format description.
"""
import math
import struct
import sys
from array import array

path = sys.argv[1]
with open(path, "rb") as f:
    head = f.read(40)
    if head[:8] != b"TLMLOGIT":
        sys.exit("bad magic")
    version, n_vocab, n_ctx, first = struct.unpack("<IIII", head[8:24])
    n_tokens, n_rows = struct.unpack("<QQ", head[24:40])
    if version != 1 or first != n_ctx // 2:
        sys.exit("bad header: version %d first %d n_ctx %d" % (version, first, n_ctx))
    k = n_ctx - 1 - first
    if n_tokens % n_ctx or n_rows != (n_tokens // n_ctx) * k:
        sys.exit("inconsistent counts: %d tokens, %d rows" % (n_tokens, n_rows))
    tokens = array("i")
    tokens.fromfile(f, n_tokens)
    if sys.byteorder != "little":
        tokens.byteswap()
    nll = 0.0
    for r in range(n_rows):
        row = array("f")
        row.fromfile(f, n_vocab)
        if sys.byteorder != "little":
            row.byteswap()
        c, j = divmod(r, k)
        target = tokens[c * n_ctx + first + j + 1]
        m = max(row)
        lse = m + math.log(sum(math.exp(x - m) for x in row))
        nll += lse - row[target]
    if f.read(1):
        sys.exit("trailing bytes after the rows")
print("%.6f %d" % (math.exp(nll / n_rows), n_rows))
