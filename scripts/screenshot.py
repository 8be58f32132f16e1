#!/usr/bin/env python3
"""Renders a tmux pane (its text and colours) to a PNG: how assets/console.png was made.

    tmux capture-pane -e -p -t SESSION > pane.ansi
    python3 scripts/screenshot.py pane.ansi assets/console.png

Needs Pillow (`pip install pillow`) and a monospace TrueType font (DejaVu Sans Mono by default,
or --font PATH). Reads the SGR sequences tmux writes: 16/256/true colours, bold, reverse.
A developer's tool only; nothing in the build or the tests uses it.
"""

import argparse
import re
import sys

from PIL import Image, ImageDraw, ImageFont

DEFAULT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
FG, BG = (220, 223, 228), (24, 26, 31)

BASE16 = [
    (0, 0, 0), (205, 49, 49), (13, 188, 121), (229, 229, 16),
    (36, 114, 200), (188, 63, 188), (17, 168, 205), (229, 229, 229),
    (102, 102, 102), (241, 76, 76), (35, 209, 139), (245, 245, 67),
    (59, 142, 234), (214, 112, 214), (41, 184, 219), (255, 255, 255),
]


def xterm256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def parse(text):
    """Lines of (char, fg, bg, bold) cells."""
    lines = []
    fg, bg, bold, reverse = None, None, False, False
    for raw in text.split("\n"):
        cells = []
        pos = 0
        for m in SGR.finditer(raw):
            for ch in raw[pos:m.start()]:
                f, b = (bg, fg) if reverse else (fg, bg)
                cells.append((ch, f, b, bold))
            pos = m.end()
            codes = [int(c) if c else 0 for c in re.split("[;:]", m.group(1) or "0")]
            i = 0
            while i < len(codes):
                c = codes[i]
                if c == 0:
                    fg, bg, bold, reverse = None, None, False, False
                elif c == 1:
                    bold = True
                elif c == 22:
                    bold = False
                elif c == 7:
                    reverse = True
                elif c == 27:
                    reverse = False
                elif 30 <= c <= 37:
                    fg = BASE16[c - 30]
                elif 90 <= c <= 97:
                    fg = BASE16[c - 90 + 8]
                elif 40 <= c <= 47:
                    bg = BASE16[c - 40]
                elif 100 <= c <= 107:
                    bg = BASE16[c - 100 + 8]
                elif c == 39:
                    fg = None
                elif c == 49:
                    bg = None
                elif c in (38, 48) and i + 1 < len(codes):
                    if codes[i + 1] == 5 and i + 2 < len(codes):
                        col = xterm256(codes[i + 2])
                        i += 2
                    elif codes[i + 1] == 2 and i + 4 < len(codes):
                        col = tuple(codes[i + 2:i + 5])
                        i += 4
                    else:
                        col = None
                    if c == 38:
                        fg = col
                    else:
                        bg = col
                i += 1
        for ch in raw[pos:]:
            f, b = (bg, fg) if reverse else (fg, bg)
            cells.append((ch, f, b, bold))
        lines.append(cells)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def render(lines, font_path, size):
    font = ImageFont.truetype(font_path, size)
    try:
        bold_font = ImageFont.truetype(BOLD_FONT, size)
    except OSError:
        bold_font = font
    cw = int(round(font.getlength("M")))
    # The font's own line height, so box-drawing lines join up.
    ascent, descent = font.getmetrics()
    ch = ascent + descent
    cols = max((len(l) for l in lines), default=1)
    pad = 12
    img = Image.new("RGB", (cols * cw + 2 * pad, len(lines) * ch + 2 * pad), BG)
    draw = ImageDraw.Draw(img)
    for y, cells in enumerate(lines):
        for x, (c, f, b, bold) in enumerate(cells):
            px, py = pad + x * cw, pad + y * ch
            if b is not None:
                draw.rectangle([px, py, px + cw, py + ch], fill=b)
            if c != " ":
                draw.text((px, py), c, font=bold_font if bold else font, fill=f or FG)
    return img


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ansi", help="tmux capture-pane -e -p output")
    ap.add_argument("png")
    ap.add_argument("--font", default=DEFAULT_FONT)
    ap.add_argument("--size", type=int, default=14)
    a = ap.parse_args()
    with open(a.ansi, encoding="utf-8", errors="replace") as f:
        lines = parse(f.read())
    if not lines:
        sys.exit("nothing to render")
    render(lines, a.font, a.size).save(a.png, optimize=True)


if __name__ == "__main__":
    main()
