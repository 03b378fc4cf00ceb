#!/usr/bin/env python3
"""Generate the khaosat app icons (PNG + favicon.svg) from one vector description.

The glyph is a clipboard with a check mark (a survey) and a small gear (industry),
white on deep green. The same primitives are rendered to PNG with Pillow (drawn at
4x and downsampled for anti-aliasing) and written out as SVG, so every icon matches.

Usage (from the repository root):
    python3 -m venv /tmp/iconvenv && /tmp/iconvenv/bin/pip install pillow
    /tmp/iconvenv/bin/python scripts/make_icons.py

Output is deterministic: re-running produces identical files.

The PNGs are indexed (256 colours): every pixel is the green, white, a blend of
the two (the glyph's anti-aliased edges, with the filter's slight overshoot past
the green) or the green with some alpha (the rounded corners). That is a third
of the bytes of RGBA at no visible cost (at most 10/255 on a channel, on a few
edge pixels), and the 192 and 512 icons are in the service worker's precache,
which every phone downloads on its first visit.
"""

import math
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "public" / "icons"
GREEN = (0x0B, 0x6E, 0x4F, 255)
WHITE = (255, 255, 255, 255)
SS = 4  # supersampling factor

# Glyph in a 100x100 design box. Each primitive: (kind, params...).
CLIP_X0, CLIP_X1 = 22, 68
GEAR_C, GEAR_R_OUT, GEAR_R_ROOT, GEAR_R_HOLE, GEAR_TEETH = (69, 73), 16, 12, 5, 8


def gear_points(cx, cy, r_out, r_root, teeth):
    """Polygon of a gear with trapezoid teeth; starts with a tooth pointing up."""
    pts = []
    step = 2 * math.pi / teeth
    for i in range(teeth):
        a = -math.pi / 2 + i * step
        # root -> tooth flank -> tooth top -> flank -> root (angles as fractions of step)
        for frac, r in ((-0.5, r_root), (-0.26, r_root), (-0.17, r_out),
                        (0.17, r_out), (0.26, r_root)):
            t = a + frac * step
            pts.append((cx + r * math.cos(t), cy + r * math.sin(t)))
    return pts


GLYPH = [
    # clipboard board (outline)
    ("rrect_stroke", (CLIP_X0, 20, CLIP_X1, 84), 7, 6, WHITE),
    # clip at the top
    ("rrect_fill", (35, 13, 55, 27), 4, WHITE),
    ("circle_fill", (45, 15.5), 2.4, "bg"),
    # check mark
    ("polyline", [(32, 50), (41.5, 59.5), (57, 39)], 7, WHITE),
    # clear a ring around the gear so it reads as a separate shape
    ("circle_fill", GEAR_C, GEAR_R_OUT + 4, "bg"),
    ("polygon", gear_points(*GEAR_C, GEAR_R_OUT, GEAR_R_ROOT, GEAR_TEETH), WHITE),
    ("circle_fill", GEAR_C, GEAR_R_HOLE, "bg"),
]
# Bounding box of the glyph in design units (clip top to gear bottom/right).
GLYPH_BOX = (CLIP_X0 - 3, 13, GEAR_C[0] + GEAR_R_OUT, GEAR_C[1] + GEAR_R_OUT)


def glyph_transform(size, fraction):
    """Scale/offset mapping design units to pixels so the glyph box is centred
    and its larger side spans `fraction` of `size`."""
    x0, y0, x1, y1 = GLYPH_BOX
    w, h = x1 - x0, y1 - y0
    s = fraction * size / max(w, h)
    ox = size / 2 - (x0 + w / 2) * s
    oy = size / 2 - (y0 + h / 2) * s
    return s, ox, oy


def draw_glyph(draw, s, ox, oy, bg):
    P = lambda x, y: (ox + x * s, oy + y * s)  # noqa: E731
    for prim in GLYPH:
        kind = prim[0]
        color = lambda c: bg if c == "bg" else c  # noqa: E731
        if kind == "rrect_stroke":
            (x0, y0, x1, y1), r, w, c = prim[1:]
            half = w / 2
            # Pillow strokes inward, so grow the box by half the width.
            draw.rounded_rectangle([P(x0 - half, y0 - half), P(x1 + half, y1 + half)],
                                   radius=(r + half) * s, outline=color(c), width=round(w * s))
        elif kind == "rrect_fill":
            (x0, y0, x1, y1), r, c = prim[1:]
            draw.rounded_rectangle([P(x0, y0), P(x1, y1)], radius=r * s, fill=color(c))
        elif kind == "circle_fill":
            (cx, cy), r, c = prim[1:]
            draw.ellipse([P(cx - r, cy - r), P(cx + r, cy + r)], fill=color(c))
        elif kind == "polyline":
            pts, w, c = prim[1:]
            px = [P(*p) for p in pts]
            draw.line(px, fill=color(c), width=round(w * s), joint="curve")
            r = w * s / 2
            for x, y in (px[0], px[-1]):  # round caps
                draw.ellipse([x - r, y - r, x + r, y + r], fill=color(c))
        elif kind == "polygon":
            pts, c = prim[1:]
            draw.polygon([P(*p) for p in pts], fill=color(c))


def render_png(size, maskable):
    big = size * SS
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if maskable:
        # Full-bleed background; the glyph must stay inside the central safe circle
        # (radius 40% of the size). The glyph box's corners are empty, so its
        # diagonal may be a little over 0.8 * size; the painted pixels stay
        # within ~0.37 * size of the centre (checked when this was written).
        d.rectangle([0, 0, big, big], fill=GREEN)
        x0, y0, x1, y1 = GLYPH_BOX
        w, h = x1 - x0, y1 - y0
        fraction = 0.84 * max(w, h) / math.hypot(w, h)
    else:
        d.rounded_rectangle([0, 0, big - 1, big - 1], radius=round(big * 0.22), fill=GREEN)
        fraction = 0.70
    s, ox, oy = glyph_transform(big, fraction)
    draw_glyph(d, s, ox, oy, GREEN)
    return img.resize((size, size), Image.LANCZOS)


# The palette: OPAQUE entries on the line from a little darker than the green
# (T0 < 0, the filter's overshoot) to white, then ALPHA entries of the green
# from transparent to opaque.
OPAQUE, ALPHA, T0 = 176, 80, -0.35


def to_indexed(img):
    """The RGBA image as a palette image with per-entry transparency (tRNS)."""
    palette, alphas = [], []
    for i in range(OPAQUE):
        t = T0 + (1 - T0) * i / (OPAQUE - 1)
        palette += [max(0, min(255, round(g + (255 - g) * t))) for g in GREEN[:3]]
        alphas.append(255)
    for i in range(ALPHA):
        palette += GREEN[:3]
        alphas.append(round(255 * i / (ALPHA - 1)))
    out = Image.new("P", img.size)
    out.putpalette(palette)
    src, dst = img.load(), out.load()
    for y in range(img.height):
        for x in range(img.width):
            *rgb, a = src[x, y]
            if a == 255:
                t = sum((c - g) / (255 - g) for c, g in zip(rgb, GREEN)) / 3
                t = max(T0, min(1.0, t))
                dst[x, y] = round((t - T0) / (1 - T0) * (OPAQUE - 1))
            else:
                dst[x, y] = OPAQUE + round(a / 255 * (ALPHA - 1))
    out.info["transparency"] = bytes(alphas)
    return out


def fmt(v):
    return f"{v:.2f}".rstrip("0").rstrip(".")


def render_svg():
    size = 64
    s, ox, oy = glyph_transform(size, 0.72)
    P = lambda x, y: f"{fmt(ox + x * s)} {fmt(oy + y * s)}"  # noqa: E731
    green = "#0b6e4f"
    col = lambda c: green if c == "bg" else "#fff"  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}">',
           f'<rect width="{size}" height="{size}" rx="{fmt(size * 0.22)}" fill="{green}"/>']
    for prim in GLYPH:
        kind = prim[0]
        if kind == "rrect_stroke":
            (x0, y0, x1, y1), r, w, c = prim[1:]
            out.append(f'<rect x="{fmt(ox + x0 * s)}" y="{fmt(oy + y0 * s)}" '
                       f'width="{fmt((x1 - x0) * s)}" height="{fmt((y1 - y0) * s)}" '
                       f'rx="{fmt(r * s)}" fill="none" stroke="{col(c)}" '
                       f'stroke-width="{fmt(w * s)}"/>')
        elif kind == "rrect_fill":
            (x0, y0, x1, y1), r, c = prim[1:]
            out.append(f'<rect x="{fmt(ox + x0 * s)}" y="{fmt(oy + y0 * s)}" '
                       f'width="{fmt((x1 - x0) * s)}" height="{fmt((y1 - y0) * s)}" '
                       f'rx="{fmt(r * s)}" fill="{col(c)}"/>')
        elif kind == "circle_fill":
            (cx, cy), r, c = prim[1:]
            out.append(f'<circle cx="{fmt(ox + cx * s)}" cy="{fmt(oy + cy * s)}" '
                       f'r="{fmt(r * s)}" fill="{col(c)}"/>')
        elif kind == "polyline":
            pts, w, c = prim[1:]
            d = "M" + " L".join(P(*p) for p in pts)
            out.append(f'<path d="{d}" fill="none" stroke="{col(c)}" '
                       f'stroke-width="{fmt(w * s)}" stroke-linecap="round" '
                       f'stroke-linejoin="round"/>')
        elif kind == "polygon":
            pts, c = prim[1:]
            d = "M" + " L".join(P(*p) for p in pts) + "Z"
            out.append(f'<path d="{d}" fill="{col(c)}"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    for name, size, maskable in (("icon-192.png", 192, False),
                                 ("icon-512.png", 512, False),
                                 ("icon-maskable-512.png", 512, True)):
        # optimize=True keeps files small; no metadata, so output is reproducible.
        icon = to_indexed(render_png(size, maskable))
        icon.save(OUT / name, optimize=True, transparency=icon.info["transparency"])
    (OUT / "favicon.svg").write_text(render_svg(), encoding="utf-8")


if __name__ == "__main__":
    main()
