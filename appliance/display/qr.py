"""A QR code as an ASS vector drawing, so mpv's OSD can draw it with no image files."""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_M

QUIET = 4  # modules of white around the code: phones' readers need the quiet zone


def qr_modules(text: str) -> list[list[bool]]:
    """The code's dark modules, row by row, quiet zone included."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET)
    code.add_data(text)
    code.make(fit=True)
    return [[bool(cell) for cell in row] for row in code.get_matrix()]


def qr_drawing(modules: list[list[bool]], px: int) -> tuple[str, str]:
    """(white square, dark modules) as ASS drawing commands at `px` pixels per module.
    Each row's runs of dark modules become one rectangle: a few hundred shapes, not
    thousands."""
    side = len(modules) * px
    paper = f"m 0 0 l {side} 0 {side} {side} 0 {side}"
    shapes: list[str] = []
    for r, row in enumerate(modules):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            x0, x1, y0, y1 = start * px, c * px, r * px, (r + 1) * px
            shapes.append(f"m {x0} {y0} l {x1} {y0} {x1} {y1} {x0} {y1}")
    return paper, " ".join(shapes)
