#!/usr/bin/env python3
"""Writes the benchmark's one-face photo of 1000x750: the fixture photo 04.jpg (one face, 225x225),
its centre cropped to 4:3 and enlarged with OpenCV's bicubic resize. `facerestore bench pipeline` and
`scripts/pytorch_bench.py pipeline` then time the same file (nothing binary is committed).

    ~/torchbench/bin/python scripts/make_bench_photo.py [--fixtures ../shared/fixtures] [--output /tmp/photo_1000x750.jpg]
"""
import argparse
import os

import cv2

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--fixtures", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "fixtures"))
p.add_argument("--output", default="/tmp/photo_1000x750.jpg")
p.add_argument("--width", type=int, default=1000)
p.add_argument("--height", type=int, default=750)
arguments = p.parse_args()

source = cv2.imread(os.path.join(arguments.fixtures, "images", "04.jpg"), cv2.IMREAD_COLOR)
h, w = source.shape[:2]
crop_h = min(h, w * arguments.height // arguments.width)
crop_w = min(w, h * arguments.width // arguments.height)
top, left = (h - crop_h) // 2, (w - crop_w) // 2
photo = cv2.resize(source[top:top + crop_h, left:left + crop_w], (arguments.width, arguments.height), interpolation=cv2.INTER_CUBIC)
cv2.imwrite(arguments.output, photo, [cv2.IMWRITE_JPEG_QUALITY, 95])
print(f"{arguments.output}: {arguments.width}x{arguments.height} from 04.jpg ({crop_w}x{crop_h} centre crop)")
