#!/usr/bin/env python3
"""Draws the Latchkey icon (a padlock on a blue tile) as a PNG, with the
standard library only, so that it can be made again anywhere:

    python3 crates/desktop/assets/make-icon.py 128 > crates/desktop/assets/latchkey-desktop.png
"""
import math
import struct
import sys
import zlib

SIZE = int(sys.argv[1]) if len(sys.argv) > 1 else 128
TILE = (0x1F, 0x5F, 0x8B)
WHITE = (0xFF, 0xFF, 0xFF)


def coverage(inside, x, y, samples=4):
    """Fraction of the pixel (x, y) that `inside` covers, for smooth edges."""
    hits = 0
    for i in range(samples):
        for j in range(samples):
            u = (x + (i + 0.5) / samples) / SIZE
            v = (y + (j + 0.5) / samples) / SIZE
            hits += inside(u, v)
    return hits / (samples * samples)


def rounded_rect(u, v, x0, y0, x1, y1, r):
    cx = min(max(u, x0 + r), x1 - r)
    cy = min(max(v, y0 + r), y1 - r)
    return x0 <= u <= x1 and y0 <= v <= y1 and (u - cx) ** 2 + (v - cy) ** 2 <= r * r


def tile(u, v):
    return rounded_rect(u, v, 0.04, 0.04, 0.96, 0.96, 0.18)


def padlock(u, v):
    body = rounded_rect(u, v, 0.25, 0.45, 0.75, 0.82, 0.06)
    # The shackle: a ring cut off below its middle.
    d = math.hypot(u - 0.5, v - 0.42)
    shackle = 0.13 <= d <= 0.2 and v <= 0.47
    keyhole = math.hypot(u - 0.5, v - 0.58) <= 0.055 or (
        abs(u - 0.5) <= 0.025 and 0.58 <= v <= 0.72
    )
    return (body or shackle) and not keyhole


def pixel(x, y):
    a_tile = coverage(tile, x, y)
    a_lock = coverage(padlock, x, y)
    rgb = [round(t * (1 - a_lock) + w * a_lock) for t, w in zip(TILE, WHITE)]
    return bytes(rgb + [round(255 * max(a_tile, a_lock))])


def png(width, height, rows):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


rows = [b"".join(pixel(x, y) for x in range(SIZE)) for y in range(SIZE)]
sys.stdout.buffer.write(png(SIZE, SIZE, rows))
