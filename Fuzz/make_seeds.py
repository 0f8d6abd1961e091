#!/usr/bin/env python3
"""Writes the seed corpora in Fuzz/Corpus/<target>/ from the test fixtures (Tests/Fixtures).

Run from anywhere: `python3 Fuzz/make_seeds.py`. Needs numpy only. Seeds are small on purpose:
libFuzzer mutates them, and a few hundred bytes reach the same code as megabytes.

- http: valid requests (GET, POST with Content-Length, chunked with extensions and trailers,
  pipelined, HTTP/1.0 keep-alive, Expect: 100-continue, absolute-form, OPTIONS *, percent-escapes)
  and a few malformed ones, each behind the harness's two option bytes.
- safetensors: small valid files covering every dtype, zero-size and rank-0 tensors, metadata,
  unaligned offsets; plus the fixtures' real headers with their data cut off.
- image: every JPEG/PNG under Tests/Fixtures/images.
- tokenizer: the fixtures' texts (max_length and variant byte first; some cased), pairs (0x00
  between), invalid UTF-8.
- json: request bodies of the native features API and the Open Inference Protocol (DESIGN.md),
  for the JSON request parser target (added when Sources/Service lands).
"""
import json
import struct
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "Fixtures"
CORPUS = ROOT / "Fuzz" / "Corpus"


def write(target: str, name: str, data: bytes) -> None:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


# MARK: - HTTP

def http_seeds() -> None:
    # Option byte 0: bit 0 small limits, bit 1 route body limit (byte >> 2); byte 1: piece-size seed.
    default, small, routed = b"\x00\x11", b"\x01\x37", b"\x42\x05"
    host = "Host: localhost:8080\r\n"
    body = json.dumps({"text": ["Hello, world!"], "layers": ["encoder.layer.0", -1], "pool": "mean"}).encode()
    requests = {
        "get_healthz": f"GET /healthz HTTP/1.1\r\n{host}\r\n".encode(),
        "get_models_query": f"GET /v1/models?limit=5&after=resnet%2D50 HTTP/1.1\r\n{host}Accept: */*\r\nX-Request-Id: abc-123\r\n\r\n".encode(),
        "post_features": (f"POST /v1/models/bert-tiny/features HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n").encode() + body,
        "post_chunked_trailers": (f"POST /v1/models/resnet/versions/2/features HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n"
                                  "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Checksum: 42\r\nX-Other: a b\r\n\r\n").encode(),
        "pipelined": (f"GET /healthz HTTP/1.1\r\n{host}\r\n"
                      f"POST /v2/models/m/infer HTTP/1.1\r\n{host}Content-Length: 4\r\n\r\nabcd"
                      f"PUT /x HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n"
                      f"DELETE /v1/models/a%20b HTTP/1.1\r\n{host}Connection: close\r\n\r\n").encode(),
        "http10_keepalive": b"GET /readyz HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /metrics HTTP/1.0\r\n\r\n",
        "expect_continue": (f"POST /v1/models HTTP/1.1\r\n{host}Expect: 100-continue\r\nContent-Length: 2\r\n\r\n{{}}").encode(),
        "absolute_form": b"GET http://localhost:8080/v2/health/live?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "options_asterisk": f"OPTIONS * HTTP/1.1\r\n{host}\r\n".encode(),
        "bare_lf_leading_crlf": b"\r\n\r\nGET /v2 HTTP/1.1\nHost: h\n\n",
        "repeated_content_length": f"POST /e HTTP/1.1\r\n{host}Content-Length: 3, 3\r\n\r\nabc".encode(),
        "octet_stream": (f"POST /v1/models/vit/features HTTP/1.1\r\n{host}Content-Type: application/octet-stream\r\n"
                         "Accept: application/octet-stream\r\nContent-Length: 16\r\n\r\n").encode() + bytes(range(16)),
        "conflicting_framing": f"POST /e HTTP/1.1\r\n{host}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n".encode(),
        "obs_fold": f"GET / HTTP/1.1\r\n{host} folded\r\n\r\n".encode(),
        "bad_chunk": f"POST /e HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\nZZ\r\n".encode(),
    }
    for name, data in requests.items():
        write("http", name, default + data)
    write("http", "pipelined_small_limits", small + requests["pipelined"])
    write("http", "chunked_small_limits", small + requests["post_chunked_trailers"])
    write("http", "post_route_limit", routed + requests["post_features"])
    # Regression (docs/reliability.md): over the size and the field-count limit at once.
    fields = "".join(f"X-{i}: v\r\n" for i in range(7))
    write("http", "regression_limit_order", small + f"GET / HTTP/1.1\r\nHost: a\r\n{fields}X-Long: {'b' * 200}\r\n\r\n".encode())


# MARK: - Safetensors

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64, "I32": np.int32, "U8": np.uint8, "BOOL": np.bool_}


def safetensors_bytes(tensors, metadata=None, pad_header_to=8) -> bytes:
    header, chunks, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % pad_header_to)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def tensor(name, dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    count = int(np.prod(shape)) if shape else 1
    if dtype == "BF16":
        raw = (rng.standard_normal(count).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
    elif dtype == "BOOL":
        raw = (rng.random(count) > 0.5).astype(np.uint8).tobytes()
    elif dtype in ("F32", "F16"):
        raw = rng.standard_normal(count).astype(DTYPES[dtype]).tobytes()
    else:
        raw = rng.integers(-100 if dtype != "U8" else 0, 100, count).astype(DTYPES[dtype]).tobytes()
    return (name, dtype, shape, raw)


def safetensors_seeds() -> None:
    write("safetensors", "all_dtypes", safetensors_bytes(
        [tensor(f"t.{d.lower()}", d, (2, 3), i) for i, d in enumerate(DTYPES)], metadata={"format": "pt"}))
    write("safetensors", "input_nchw", safetensors_bytes([tensor("input", "F32", (1, 3, 4, 4))]))
    write("safetensors", "bert_inputs", safetensors_bytes(
        [tensor("input_ids", "I64", (1, 6)), tensor("attention_mask", "I64", (1, 6), 1), tensor("token_type_ids", "I64", (1, 6), 2)]))
    write("safetensors", "zero_size_and_scalar", safetensors_bytes(
        [tensor("empty", "F32", (0, 4)), tensor("scalar", "F32", ()), tensor("vector", "F16", (3,))]))
    # Unaligned: a 1-byte tensor first pushes the F32 data off its alignment (the copy path).
    write("safetensors", "unaligned", safetensors_bytes([tensor("a.byte", "U8", (1,)), tensor("b.weight", "F32", (2, 2))], pad_header_to=1))
    write("safetensors", "metadata_escapes", safetensors_bytes(
        [tensor("layer\u00e9.\"q\"", "F32", (1,))], metadata={"note": "tab\tnewline\n\u00e9\ud83d\ude00", "empty": ""}))
    write("safetensors", "empty_header", safetensors_bytes([]))
    # Regression (docs/reliability.md): an empty tensor whose other dimensions overflow.
    write("safetensors", "regression_empty_overflowing_dims", safetensors_bytes([("x", "F32", (0, 1 << 62, 1 << 62), b"")]))
    # Real headers (layer names, many entries) with the data cut off after 512 bytes.
    for fixture in ["bert_tiny/model.safetensors", "vit_tiny/model.safetensors", "nn_layers/layers.safetensors"]:
        data = (FIXTURES / fixture).read_bytes()
        length = struct.unpack("<Q", data[:8])[0]
        write("safetensors", "truncated_" + fixture.split("/")[0], data[: 8 + length + 512])


# MARK: - Images

def image_seeds() -> None:
    for path in sorted((FIXTURES / "images").iterdir()):
        if path.suffix in (".png", ".jpg"):
            write("image", path.name, path.read_bytes())


# MARK: - Tokenizer

def tokenizer_seeds() -> None:
    texts = []
    for name in ["wordpiece_cases.json"]:
        texts += [case["text"] for case in json.loads((FIXTURES / name).read_text())]
    texts += [case["text"] for case in json.loads((FIXTURES / "wordpiece_extra_cases.json").read_text())["cases"]]
    texts += json.loads((FIXTURES / "minilm" / "inputs.json").read_text())["texts"]
    texts += json.loads((FIXTURES / "bert_tiny" / "inputs.json").read_text())["texts"]
    seen = set()
    for index, text in enumerate(texts):
        if text in seen:
            continue
        seen.add(text)
        write("tokenizer", f"text_{index:02d}", bytes([32]) + text.encode("utf-8", "surrogatepass"))
        if index < 10:  # the cased variants (high bits of byte 0)
            write("tokenizer", f"cased_{index:02d}", bytes([0x40 | 32]) + text.encode("utf-8", "surrogatepass"))
            write("tokenizer", f"cased_strip_{index:02d}", bytes([0x80 | 32]) + text.encode("utf-8", "surrogatepass"))
    write("tokenizer", "pair", bytes([24]) + "What is Periscope?".encode() + b"\x00" + "A service that shows activations.".encode())
    write("tokenizer", "special_tokens", bytes([16]) + b"[CLS] hello [MASK] world [SEP][PAD][UNK]")
    write("tokenizer", "invalid_utf8", bytes([40]) + b"caf\xc3 \xff\xfe na\xefve \xed\xa0\x80 \xf4\x90\x80\x80 ok")
    write("tokenizer", "long_word", bytes([63]) + b"a" * 120 + b" " + "\u00e9".encode() * 60)
    write("tokenizer", "cjk_and_accents", bytes([20]) + "中文字符 Ｆｕｌｌｗｉｄｔｈ ÀÉÎÕÜ ǅ İstanbul ﬁ".encode())
    write("tokenizer", "max_length_too_small", bytes([2]) + b"a\x00b")


# MARK: - JSON requests

def json_seeds() -> None:
    bodies = {
        "features_tensor": {"inputs": {"input": {"shape": [1, 3, 2, 2], "data": [0.5, -1, 2e-3, 3.25e10] * 3}},
                            "layers": ["layer3", "layer4.*.relu", -1], "pool": "mean", "normalize": False,
                            "dtype": "float32", "encoding": "json"},
        "features_text": {"text": ["Hello, world!", "caf\u00e9 \ud83d\ude00"], "layers": ["encoder.layer.0.output"], "pool": "cls"},
        "features_image": {"image": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==",
                           "layers": ["avgpool"], "dtype": "float16", "encoding": "base64"},
        "features_bert_inputs": {"inputs": {"input_ids": {"shape": [1, 4], "data": [101, 7592, 999, 102]},
                                            "attention_mask": {"shape": [1, 4], "data": [1, 1, 1, 1]}},
                                 "layers": [-1, -2], "pool": "none"},
        "v2_infer": {"id": "42", "inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1.0, 2.0]}],
                     "outputs": [{"name": "layer4", "parameters": {"binary_data": True}}, {"name": "fc"}]},
        "v2_infer_binary": {"inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32", "parameters": {"binary_data_size": 8}}],
                            "parameters": {"binary_data_output": True}},
        "register_model": {"name": "resnet-18", "architecture": "resnet", "weights": "resnet18.safetensors", "config": {"depth": 18}},
    }
    # Option byte first (see FuzzJSONRequest): 0 native features, 1 V2 infer, 5 V2 with binary
    # data after a 0x00, +2 small parser limits.
    for name, body in bodies.items():
        flags = 1 if name.startswith("v2") else 0
        if name == "v2_infer_binary":
            write("json", name, bytes([5]) + json.dumps(body).encode() + b"\x00" + struct.pack("<2f", 1.5, -2.0))
            continue
        write("json", name, bytes([flags]) + json.dumps(body).encode())
    write("json", "edge_numbers", b'\x00{"inputs":{"x":{"shape":[4],"data":[1e308,-0.0,123456789012345678901234567890,4.9e-324]}},"layers":[]}')
    write("json", "nested_small_limits", b'\x02{"inputs":{"x":{"shape":[2,2],"data":[[1,2.5e-1],[3,-4E+2]],"dtype":"float16"}},"layers":[[1]]}')
    write("json", "escapes_and_nulls", b'\x00{"text":["\\\\\\"\\/\\b\\f\\n\\r\\t\\u0000"],"layers":null,"pool":"max"}  ')
    write("json", "regression_empty_overflowing_dims", b'\x01{"inputs":[{"name":"x","shape":[0,4611686018427387904,4611686018427387904],"datatype":"FP32","data":[]}]}')
    write("json", "base64_tensor", b'\x00{"inputs":{"input_ids":{"shape":[1,2],"data":"ZQAAAAAAAABmAAAAAAAAAA==","dtype":"int64"}}}')


if __name__ == "__main__":
    http_seeds()
    safetensors_seeds()
    image_seeds()
    tokenizer_seeds()
    json_seeds()
    for target in sorted(p.name for p in CORPUS.iterdir()):
        files = list((CORPUS / target).iterdir())
        print(f"{target}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")
