#!/usr/bin/env python3
"""Decode + ImageNet preprocessing time of one JPEG with Pillow and torchvision (the reference that
ImageDecoder and ImagePreprocessing match), for a side-by-side comparison:

    python3 scripts/bench_image_preprocessing.py [photo.jpg]     # writes /tmp/periscope-photo.jpg if none
    PERISCOPE_IMAGE_BENCH=photo.jpg swift test -c release -Xswiftc -enable-testing \
        --filter ImagePreprocessingTests/imageThroughput
"""
import io
import statistics
import sys
import time

import numpy as np
import torch
import torchvision.transforms.functional as F
from PIL import Image

torch.set_num_threads(1)
if len(sys.argv) > 1:
    path = sys.argv[1]
else:
    path = "/tmp/periscope-photo.jpg"
    y, x = np.mgrid[0:960, 0:1280].astype(np.float64)
    rng = np.random.default_rng(0)
    planes = [127 + 100 * np.sin(x / (40 + 9 * c) + y / (55 + 7 * c)) + rng.normal(0, 12, x.shape) for c in range(3)]
    Image.fromarray(np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)).save(path, quality=90)
data = open(path, "rb").read()


def median_ms(body, runs=21):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        body()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def decode():
    with Image.open(io.BytesIO(data)) as im:
        return np.array(im.convert("RGB"))


rgb = decode()


def preprocess():
    t = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
    t = F.resize(t, [256], interpolation=F.InterpolationMode.BILINEAR, antialias=True)
    t = F.center_crop(t, [224, 224])
    return F.normalize(t, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])[None]


print(f"{path} {rgb.shape}: Pillow decode {median_ms(decode):.2f} ms, torchvision tensor preprocess 256/224 "
      f"(1 thread) {median_ms(preprocess):.2f} ms")
