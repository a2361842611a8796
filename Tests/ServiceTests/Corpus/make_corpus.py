#!/usr/bin/env python3
"""Writes the hostile-image corpus (Tests/ServiceTests/Corpus/images) and its manifest.

Each file is an upload a hostile or unlucky client could send; `manifest.json` says what the
service must answer (status and a piece of the message). The files are small and committed; this
script documents how they were made and remakes them: python3 make_corpus.py
"""
import json, os, struct, zlib

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "images")
os.makedirs(out, exist_ok=True)
manifest = []


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(width, height, channels=3, rows=None, bad_crc=False, level=9):
    color = {1: 0, 3: 2, 4: 6}[channels]
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    if rows is None:
        row = b"\x00" + bytes(width * channels)
        compressor = zlib.compressobj(level)
        data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    else:
        data = zlib.compress(rows, level)
    ihdr_chunk = chunk(b"IHDR", ihdr)
    if bad_crc:
        ihdr_chunk = ihdr_chunk[:-4] + b"\x00\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n" + ihdr_chunk + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def write(name, data, status, message, note):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    manifest.append({"file": name, "status": status, "message": message, "note": note})


# Aspect-ratio bombs: valid, tiny files whose enlargement to a short side of 512 px is enormous.
for w, h in [(3, 100000), (100000, 3), (64, 16000)]:
    write(f"bomb_{w}x{h}.png", png(w, h), 413, "too large to restore",
          f"{w}x{h} passes the 25 MP header check; enlarged to a short side of 512 it would not")
write("bomb_1x25000000.png", png(1, 25_000_000, channels=1), 413, "too large to restore",
      "exactly 25 MP, one pixel wide: 512 x 12.8 G pixels once enlarged")
# Header claims.
write("header_only_100000x100000.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 6, 0, 0, 0)),
      413, "over the limit of",
      "a signature and an IHDR claiming 10 G pixels, nothing else")
write("jpeg_sof_65500x65500.jpg",
      b"\xff\xd8" + b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, 65500, 65500, 3) + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01" + b"\xff\xd9",
      400, "cannot be decoded", "a JPEG frame header claiming 65500x65500 and nothing after it")
write("png_zero_width.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 16, 8, 2, 0, 0, 0)) + png(1, 1)[33:],
      400, "no pixels", "IHDR width 0, CRC correct: ended the process before (an infinite enlargement)")
# Broken files.
good = png(32, 24, rows=b"".join(b"\x00" + bytes((x * 7 + y * 5) % 256 for x in range(96)) for y in range(24)))
write("truncated.png", good[: len(good) // 2], 400, "cannot be decoded", "the first half of a valid PNG")
write("png_bad_crc.png", png(8, 8, bad_crc=True), 400, "cannot be decoded", "IHDR with a wrong CRC")
write("empty.png", b"", 400, "", "zero bytes")
write("text.png", b"hello, this is not an image\n", 400, "cannot be decoded", "text under an image name")
write("gif.gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
      400, "cannot be decoded", "a valid GIF: not a supported format")
write("jpeg_truncated.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb", 400, "cannot be decoded",
      "a JPEG cut off in its quantisation table")
write("webp_truncated.webp", b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00\x30\x01\x00\x9d\x01\x2a", 400, "cannot be decoded",
      "a WebP cut off after its frame tag")
write("random.bin", bytes((i * 2654435761 >> 7) & 0xFF for i in range(4096)), 400, "cannot be decoded", "4 KiB of noise")

with open(os.path.join(here, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
    f.write("\n")
print("\n".join(f"{m['file']}: {os.path.getsize(os.path.join(out, m['file']))} bytes -> {m['status']}" for m in manifest))
