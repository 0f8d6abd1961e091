#!/usr/bin/env python3
"""The official `openai` Python SDK against a live Periscope (run by the suite's OpenAISDKTests).

Usage: scripts/openai-sdk-check.py BASE_URL REFERENCE_JSON
  BASE_URL        http://127.0.0.1:PORT; the server has `all-minilm-l6-v2` (the real weights,
                  registered with `"embedding": {"matryoshka_dimensions": [384, 256, 128, 64]}`)
                  and `bert` (the BERT fixture, no Matryoshka dimensions)
  REFERENCE_JSON  Tests/Fixtures/embeddings/minilm_reference.json (sentence-transformers' vectors)

Prints one JSON line with what was measured; exits 1 naming every failed check. Pure Python besides
the SDK (no numpy), so CI needs only `pip install openai`.
"""
import json
import math
import sys
import time

import openai
from openai import OpenAI

base_url, reference_path = sys.argv[1], sys.argv[2]
reference = json.load(open(reference_path))
texts, expected, token_ids = reference["texts"], reference["embeddings"], reference["token_ids"]
client = OpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0, timeout=300)
failures, measured = [], {"openai": openai.__version__}
started = time.monotonic()


def check(condition, message):
    if not condition:
        failures.append(message)


def cosine_distance(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return 1 - dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def compare(name, vectors, references):
    check(len(vectors) == len(references), f"{name}: {len(vectors)} vectors, expected {len(references)}")
    worst = max(cosine_distance(v, r) for v, r in zip(vectors, references))
    measured[name] = worst
    check(worst < 1e-5, f"{name}: cosine distance {worst} to sentence-transformers")


# Default settings: the SDK asks for base64 and decodes it.
raw = client.embeddings.with_raw_response.create(model="all-minilm-l6-v2", input=texts)
wire = raw.http_response.json()
check(all(isinstance(item["embedding"], str) for item in wire["data"]), "default request did not get base64 on the wire")
default = raw.parse()
check([item.index for item in default.data] == list(range(len(texts))), "indices")
check(default.usage.prompt_tokens == sum(len(ids) + 2 for ids in token_ids), f"usage.prompt_tokens {default.usage.prompt_tokens}")
check(default.usage.total_tokens == default.usage.prompt_tokens, "usage.total_tokens")
check(default.model == "all-minilm-l6-v2", f"model {default.model}")
compare("base64", [item.embedding for item in default.data], expected)

floats = client.embeddings.create(model="all-minilm-l6-v2", input=texts, encoding_format="float")
compare("float", [item.embedding for item in floats.data], expected)

single = client.embeddings.create(model="all-minilm-l6-v2", input=texts[0])
compare("single_string", [single.data[0].embedding], expected[:1])

ids = client.embeddings.create(model="all-minilm-l6-v2", input=token_ids)
compare("token_ids", [item.embedding for item in ids.data], expected)

# Matryoshka: truncated to 128 and renormalized, where declared; a 400 elsewhere.
short = client.embeddings.create(model="all-minilm-l6-v2", input=texts, dimensions=128)
check(all(len(item.embedding) == 128 for item in short.data), "dimensions=128 length")
truncated = [[x / math.sqrt(sum(y * y for y in row[:128])) for x in row[:128]] for row in expected]
compare("dimensions_128", [item.embedding for item in short.data], truncated)
try:
    client.embeddings.create(model="bert", input=texts, dimensions=16)
    failures.append("dimensions on a model without Matryoshka dimensions was accepted")
except openai.BadRequestError as error:
    measured["dimensions_refused"] = error.status_code
    check(error.status_code == 400, f"status {error.status_code}")
    check(isinstance(error.body, dict) and error.body.get("param") == "dimensions", f"error body {error.body}")

# Periscope's extensions ride in extra_body: any layer.
layered = client.embeddings.create(model="all-minilm-l6-v2", input=texts[:2], encoding_format="float",
                                   extra_body={"layers": ["encoder.layer.3", "last_hidden_state"]})
layers = [item.model_extra.get("layer") for item in layered.data]
check(layers == ["encoder.layer.3", "last_hidden_state"] * 2, f"layers {layers}")
compare("extra_body_layers", [item.embedding for item in layered.data if item.model_extra.get("layer") == "last_hidden_state"], expected[:2])
check(all(len(item.embedding) == 384 for item in layered.data), "layer widths")

# The per-input report rides along (no silent truncation).
check(all(item.model_extra.get("truncated") is False for item in default.data), "truncated flags")

listed = client.models.list()
names = sorted(model.id for model in listed.data)
measured["models"] = names
check(names == ["all-minilm-l6-v2", "bert"], f"models.list {names}")
check(all(model.object == "model" and model.owned_by == "periscope" for model in listed.data), "model objects")

measured["seconds"] = round(time.monotonic() - started, 1)
print(json.dumps(measured))
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
