#!/usr/bin/env python3
"""Tokenizer throughput of Hugging Face's BertTokenizer (Rust `tokenizers` backend, transformers 5)
and of the legacy pure-Python BertTokenizer, on a corpus of one sentence per line, so that the Swift
WordPieceTokenizer can be compared side by side:

    python3 scripts/bench_tokenizer.py CORPUS.txt           # prints tokens/s (median of 7 runs)
    PERISCOPE_TOKENIZER_CORPUS=CORPUS.txt swift test -c release -Xswiftc -enable-testing \
        --filter WordPieceTokenizerTests/throughput

Without CORPUS.txt it writes one to /tmp/periscope-tokenizer-corpus.txt from the license texts in
/usr/share/common-licenses (English prose, a few thousand sentences).
"""
import pathlib
import re
import statistics
import sys
import time

from transformers import BertTokenizer
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

root = pathlib.Path(__file__).resolve().parents[1]
if len(sys.argv) > 1:
    corpus = pathlib.Path(sys.argv[1])
else:
    corpus = pathlib.Path("/tmp/periscope-tokenizer-corpus.txt")
    text = " ".join(p.read_text(errors="replace") for p in sorted(pathlib.Path("/usr/share/common-licenses").iterdir())
                    if p.is_file() and not p.is_symlink())
    sentences = [s.strip() for s in re.split(r"(?<=[.!?;])\s+", re.sub(r"\s+", " ", text)) if len(s.strip()) > 3]
    corpus.write_text("\n".join(sentences) + "\n")
sentences = corpus.read_text().splitlines()
directory = str(root / "Tests/Fixtures/bert_tiny")


def measure(name, tokenizer, runs=7):
    total = sum(len(ids) for ids in tokenizer(sentences, add_special_tokens=False)["input_ids"])
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for sentence in sentences:
            tokenizer(sentence, add_special_tokens=False)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"{name}: {len(sentences)} sentences, {total} tokens, median {median * 1000:.1f} ms, {total / median:,.0f} tokens/s")


print(f"corpus {corpus}")
measure("transformers BertTokenizer (Rust tokenizers), one call per sentence", BertTokenizer.from_pretrained(directory))
measure("transformers BertTokenizerLegacy (pure Python), one call per sentence", BertTokenizerLegacy.from_pretrained(directory), runs=3)
fast = BertTokenizer.from_pretrained(directory)
times = []
for _ in range(7):
    start = time.perf_counter()
    fast(sentences, add_special_tokens=False)
    times.append(time.perf_counter() - start)
total = sum(len(ids) for ids in fast(sentences, add_special_tokens=False)["input_ids"])
print(f"transformers BertTokenizer, whole corpus as one batch call: median {statistics.median(times) * 1000:.1f} ms, "
      f"{total / statistics.median(times):,.0f} tokens/s")
