#!/usr/bin/env python3
"""Feature requests of scripts/container-smoke-test against a running `periscope serve`.

    container-smoke-requests.py BASE_URL [MODEL] IMAGE.png

Follows openapi.yaml: /readyz, /metrics, GET /v1/models, GET /v1/models/{m}/layers, POST
/v1/models/{m}/features with an image (JSON response, then the same request as safetensors),
and a V2 inference of a tensor compared value for value with the native API's answer for the
same tensor. Standard library only. Prints one line per check; exits 1 on the first failure.
"""

import base64
import json
import math
import random
import struct
import sys
import urllib.error
import urllib.request


def fail(message):
    print(f"container-smoke-test: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def request(base_url, method, path, body=None, accept="application/json", content_type="application/json"):
    """Returns (status, headers, body bytes); a non-2xx status is returned, not raised."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Accept": accept}
    if data is not None:
        headers["Content-Type"] = content_type
    req = urllib.request.Request(base_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def expect_json(base_url, method, path, body=None, status=200):
    code, headers, payload = request(base_url, method, path, body)
    if code != status:
        fail(f"{method} {path}: status {code}, expected {status}: {payload[:300]!r}")
    if not headers.get("X-Request-Id"):
        fail(f"{method} {path}: no X-Request-Id header")
    try:
        return json.loads(payload)
    except ValueError as error:
        fail(f"{method} {path}: body is not JSON ({error}): {payload[:200]!r}")


def flatten(values):
    if isinstance(values, list):
        for value in values:
            yield from flatten(value)
    else:
        yield values


def check_tensor(what, tensor):
    """A JSON feature tensor: shape, dtype float32, as many finite numbers as the shape says."""
    shape, data = tensor.get("shape"), tensor.get("data")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        fail(f"{what}: shape {shape!r} is not a list of sizes")
    if tensor.get("dtype") != "float32":
        fail(f"{what}: dtype {tensor.get('dtype')!r}, expected float32")
    values = list(flatten(data))
    if len(values) != math.prod(shape):
        fail(f"{what}: {len(values)} values for shape {shape}")
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        fail(f"{what}: values that are not finite numbers")
    return shape, values


def read_safetensors(what, payload):
    if len(payload) < 8:
        fail(f"{what}: {len(payload)} bytes is no safetensors file")
    (header_length,) = struct.unpack("<Q", payload[:8])
    header = json.loads(payload[8:8 + header_length])
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        if entry["dtype"] != "F32":
            fail(f"{what}: tensor {name} has dtype {entry['dtype']}, expected F32")
        raw = payload[8 + header_length + start:8 + header_length + end]
        tensors[name] = (entry["shape"], list(struct.unpack(f"<{len(raw) // 4}f", raw)))
    return tensors


def main():
    if len(sys.argv) != 4:
        fail("usage: container-smoke-requests.py BASE_URL [MODEL] IMAGE.png")
    base_url, model, image_path = sys.argv[1], sys.argv[2], sys.argv[3]

    code, _, payload = request(base_url, "GET", "/readyz")
    if code != 200:
        fail(f"GET /readyz: {code} {payload[:200]!r}")
    print("GET /readyz: 200")

    code, headers, payload = request(base_url, "GET", "/metrics", accept="text/plain")
    if code != 200 or b"# TYPE " not in payload:
        fail(f"GET /metrics: {code}, Prometheus text expected: {payload[:200]!r}")
    print(f"GET /metrics: 200, {payload.count(b'# TYPE ')} metric families")

    models = expect_json(base_url, "GET", "/v1/models")["models"]
    if not models:
        fail("GET /v1/models: no models registered (the demo models should be)")
    if not model:
        def architecture(entry):
            versions = entry.get("versions") or []
            default = entry.get("default_version")
            chosen = [v for v in versions if v.get("version") == default] or versions[-1:]
            return chosen[0].get("architecture", "") if chosen else ""
        vision = [m["name"] for m in models if architecture(m).startswith(("resnet", "vit"))]
        if not vision:
            fail(f"GET /v1/models: no resnet/vit model among {[m['name'] for m in models]}")
        model = vision[0]
    print(f"GET /v1/models: {len(models)} models; using {model}")

    layers = expect_json(base_url, "GET", f"/v1/models/{model}/layers")["layers"]
    if not layers:
        fail(f"GET /v1/models/{model}/layers: no layers")
    last = layers[-1]["name"]
    print(f"GET /v1/models/{model}/layers: {len(layers)} layers, last {last}")

    # An image, JSON response.
    with open(image_path, "rb") as file:
        image = base64.b64encode(file.read()).decode()
    body = {"image": image, "layers": [last]}
    answer = expect_json(base_url, "POST", f"/v1/models/{model}/features", body)
    if answer.get("model", {}).get("name") != model:
        fail(f"features: model {answer.get('model')!r}, expected {model}")
    if sorted(answer.get("features", {})) != [last]:
        fail(f"features: layers {sorted(answer.get('features', {}))}, expected [{last}]")
    shape, values = check_tensor(f"features[{last}]", answer["features"][last])
    if shape[0] != 1:
        fail(f"features[{last}]: batch dimension {shape[0]} for one image")
    print(f"POST /v1/models/{model}/features (image, JSON): {last} {shape}")

    # The same request as safetensors: the same numbers, bit for bit (JSON floats round-trip).
    code, headers, payload = request(base_url, "POST", f"/v1/models/{model}/features", body,
                                     accept="application/octet-stream")
    if code != 200:
        fail(f"features as safetensors: status {code}: {payload[:200]!r}")
    tensors = read_safetensors("features as safetensors", payload)
    if last not in tensors or tensors[last][0] != shape:
        fail(f"features as safetensors: {last} missing or shape {tensors.get(last, (None,))[0]} != {shape}")
    if any(a != struct.unpack("<f", struct.pack("<f", b))[0] for a, b in zip(tensors[last][1], values)):
        fail("features as safetensors: values differ from the JSON response")
    print(f"POST /v1/models/{model}/features (image, safetensors): {len(payload)} bytes, same values")

    # V2 inference of a tensor vs the native API on the same tensor.
    metadata = expect_json(base_url, "GET", f"/v2/models/{model}")
    tensor_input = metadata["inputs"][0]
    input_shape = [1] + [d if d > 0 else 64 for d in tensor_input["shape"][1:]]
    generator = random.Random(0)
    data = [round(generator.uniform(-1, 1), 6) for _ in range(math.prod(input_shape))]
    v2 = expect_json(base_url, "POST", f"/v2/models/{model}/infer", {
        "inputs": [{"name": tensor_input["name"], "shape": input_shape, "datatype": "FP32", "data": data}],
        "outputs": [{"name": last}],
    })
    outputs = {output["name"]: output for output in v2.get("outputs", [])}
    if last not in outputs or outputs[last].get("datatype") != "FP32":
        fail(f"V2 infer: output {last} missing or not FP32: {list(outputs)}")
    native = expect_json(base_url, "POST", f"/v1/models/{model}/features", {
        "inputs": {tensor_input["name"]: {"shape": input_shape, "data": data}}, "layers": [last],
    })
    native_shape, native_values = check_tensor("native features", native["features"][last])
    if outputs[last]["shape"] != native_shape or list(flatten(outputs[last]["data"])) != native_values:
        fail("V2 infer and the native API disagree on the same input")
    print(f"POST /v2/models/{model}/infer: {last} {native_shape}, equal to the native API")


if __name__ == "__main__":
    main()
