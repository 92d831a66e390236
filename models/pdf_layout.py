"""The paper form's look, as drawing primitives over fpdf2: section bars, boxed fields with a
small label above the value, check boxes, signature boxes, a footer on every page.

Kept apart from ``models.record_pdf`` (what goes on the form) so that the form reads top to
bottom like the paper one. The font is DejaVu Sans, shipped in ``models/data/fonts`` (licence
beside it): a fresh clone prints « », œ, É and Ł without any system font.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from io import BytesIO
from pathlib import Path
from typing import NamedTuple

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos

FONTS_DIR = Path(__file__).resolve().parent / "data" / "fonts"
FONT = "DejaVu"
CHECKED, UNCHECKED = "☒", "☐"
BAR = (31, 56, 100)  # the dark bar of a section title, as on the paper form
GREY = (90, 90, 90)
LABEL_SIZE, LABEL_LINE = 6.5, 3.0
VALUE_SIZE = 10.0
PAD = 1.2


class Cell(NamedTuple):
    """One boxed field: its label, its value (lines split on ``\\n``), its share of the width."""
    label: str
    value: str
    share: float = 1.0
    size: float = VALUE_SIZE


def checks(options: Sequence[tuple[str, bool]], *, inline: bool = False) -> str:
    """Check boxes as text, ``☒`` for the chosen ones: what the paper form's boxes say."""
    marks = [f"{CHECKED if chosen else UNCHECKED} {text}" for text, chosen in options]
    return "    ".join(marks) if inline else "\n".join(marks)


class FormPdf(FPDF):
    """An A4 page with the form's margins, its font and a footer given as ``footer(page)``
    (``{nb}`` in it is replaced by the page count when the file is written)."""

    def __init__(self, footer: Callable[[int], str]) -> None:
        super().__init__(format="A4", unit="mm")
        self._footer = footer
        self.add_font(FONT, "", FONTS_DIR / "DejaVuSans.ttf")
        self.add_font(FONT, "B", FONTS_DIR / "DejaVuSans-Bold.ttf")
        self.set_margins(15, 14, 15)
        self.set_auto_page_break(True, margin=16)
        self.set_font(FONT, size=VALUE_SIZE)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=6.5)
        self.set_text_color(*GREY)
        self.cell(0, 4, self._footer(self.page_no()), align="C")
        self.set_text_color(0)

    # -- building blocks --------------------------------------------------------------------

    def _room(self, height: float) -> None:
        """A new page when ``height`` does not fit below the current position."""
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()

    def _lines(self, width: float, text: str, size: float, bold: bool = False) -> list[str]:
        self.set_font(FONT, "B" if bold else "", size)
        lines = self.multi_cell(width, text=text or " ", dry_run=True, output=MethodReturnValue.LINES,
                                padding=0)
        return lines if isinstance(lines, list) else [text]

    def title_block(self, title: str, subtitle: str, cells: Sequence[Cell]) -> None:
        self.set_font(FONT, "B", 15)
        self.multi_cell(0, 7, title, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT, "", 9.5)
        self.multi_cell(0, 5, subtitle, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)
        self.fields(cells)
        self.ln(2)

    def section(self, title: str) -> None:
        self._room(45)  # a title never ends a page: it stays with the first rows under it
        self.ln(2)
        self.set_fill_color(*BAR)
        self.set_text_color(255)
        self.set_font(FONT, "B", 10)
        self.multi_cell(0, 6, title, fill=True, padding=(0, 2), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0)
        self.ln(1)

    def paragraph(self, text: str, size: float = 8.5, bold: bool = False) -> None:
        self.set_font(FONT, "B" if bold else "", size)
        self._room(len(self._lines(self.epw, text, size, bold)) * size * 0.45 + 2)
        self.multi_cell(0, size * 0.45, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def fields(self, cells: Sequence[Cell]) -> None:
        """One row of boxed fields, as tall as its tallest value; never split across pages."""
        total = sum(c.share for c in cells)
        widths = [self.epw * c.share / total for c in cells]
        layouts = [(self._lines(w - 2 * PAD, c.label, LABEL_SIZE),
                    self._lines(w - 2 * PAD, c.value, c.size)) for c, w in zip(cells, widths, strict=True)]
        height = max(len(lab) * LABEL_LINE + len(val) * c.size * 0.48 + 2 * PAD
                     for (lab, val), c in zip(layouts, cells, strict=True))
        self._room(height)
        x, y = self.l_margin, self.get_y()
        for cell, width, (label_lines, _) in zip(cells, widths, layouts, strict=True):
            self.rect(x, y, width, height)
            self.set_xy(x + PAD, y + PAD)
            self.set_font(FONT, "", LABEL_SIZE)
            self.set_text_color(*GREY)
            self.multi_cell(width - 2 * PAD, LABEL_LINE, cell.label, align="L", padding=0)
            self.set_text_color(0)
            self.set_xy(x + PAD, y + PAD + len(label_lines) * LABEL_LINE)
            self.set_font(FONT, "", cell.size)
            self.multi_cell(width - 2 * PAD, cell.size * 0.48, cell.value, align="L", padding=0)
            x += width
        self.set_xy(self.l_margin, y + height)

    def signature_box(self, caption: str, image: bytes | None, note: str, date_label: str, date: str,
                      fallback: str) -> None:
        """The form's signature line: the signature's image (or ``fallback`` when there is none
        or it cannot be read) with ``note`` under it, and the date beside it."""
        height, width = 28.0, self.epw * 0.7
        self._room(height)
        x, y = self.l_margin, self.get_y()
        self.rect(x, y, width, height)
        self.set_xy(x + PAD, y + PAD)
        self.set_font(FONT, "B", LABEL_SIZE)
        self.cell(width - 2 * PAD, LABEL_LINE, caption.upper())
        drawn = False
        if image:
            try:
                self.image(BytesIO(image), x=x + 4, y=y + LABEL_LINE + 2, h=height - LABEL_LINE - 9,
                           w=width - 8, keep_aspect_ratio=True)
                drawn = True
            except Exception:  # noqa: BLE001 - an unreadable image prints as text, not as a crash
                drawn = False
        if not drawn:
            self.set_xy(x + PAD, y + height / 2 - 2)
            self.set_font(FONT, "", 9)
            self.cell(width - 2 * PAD, 4, fallback)
        self.set_xy(x + PAD, y + height - 4.5)
        self.set_font(FONT, "", LABEL_SIZE)
        self.set_text_color(*GREY)
        self.cell(width - 2 * PAD, 3.5, note)
        self.set_text_color(0)
        self.set_xy(x + width, y)
        rest = self.epw - width
        self.rect(x + width, y, rest, height)
        self.set_xy(x + width + PAD, y + PAD)
        self.set_font(FONT, "", LABEL_SIZE)
        self.set_text_color(*GREY)
        self.cell(rest - 2 * PAD, LABEL_LINE, date_label)
        self.set_text_color(0)
        self.set_xy(x + width + PAD, y + height / 2 - 2)
        self.set_font(FONT, "", VALUE_SIZE)
        self.cell(rest - 2 * PAD, 5, date)
        self.set_xy(self.l_margin, y + height)
