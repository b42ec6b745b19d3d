"""The circular as a Word document (python-docx), laid out as the bureau's documents are (GB/T 9704):
A4, margins 37/35/28/26 mm, title in 二号 小标宋, body in 三号 仿宋 at a fixed 28 pt line, headings
一、… in 黑体, tables in 五号 (smaller when wide), issuer and date at the right; the chart is a PNG
drawn by matplotlib.

Fonts are named (with their East Asian slot set, which Word uses for Chinese); a machine without them
substitutes its own CJK font.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from docx import Document as new_document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from safegrade.reports.chart import results_png
from safegrade.reports.circular_text import CHART_TITLE, Chart, Document, Table, compose, result_bars

if TYPE_CHECKING:  # the figures' contract: only its type (reports/ stays free of the database)
    from safegrade.services.reporting.circular import CircularFigures

TITLE_FONT, BODY_FONT, HEADING_FONT = "方正小标宋简体", "仿宋_GB2312", "黑体"
BODY_PT, TITLE_PT, LINE_PT = 16, 22, 28
TABLE_SIZES = (10.5, 9.0, 7.5)  # 五号, 小五, 六号: the first at which the table's figures fit
TEXT_WIDTH_MM, CELL_PADDING_MM, MM_PER_PT = 156, 4.2, 25.4 / 72  # A4 less the 28 and 26 mm margins


def _font(run: Run, name: str, size: float, bold: bool = False) -> Run:
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)  # Chinese text uses this slot
    return run


def _paragraph(doc: DocxDocument, text: str, *, font: str = BODY_FONT, size: float = BODY_PT, indent: bool = True,
               align: Any = WD_ALIGN_PARAGRAPH.JUSTIFY, bold: bool = False) -> Paragraph:
    p = doc.add_paragraph()
    fmt = p.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(LINE_PT if size <= BODY_PT else size + 10)
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.first_line_indent = Pt(size * 2) if indent else None
    p.alignment = align
    _font(p.add_run(text), font, size, bold)
    return p


def _table(doc: DocxDocument, block: Table) -> DocxTable:
    _paragraph(doc, block.caption, font=HEADING_FONT, size=12, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    rows = [block.header, *block.rows, *([block.total] if block.total else [])]
    table: DocxTable = doc.add_table(rows=len(rows), cols=len(block.header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    size, widths = _layout(block)
    for c, width in enumerate(widths):
        table.columns[c].width = width  # the grid, which LibreOffice follows
    for r, values in enumerate(rows):
        bold = r == 0 or (block.total is not None and r == len(rows) - 1)
        for c, value in enumerate(values):
            cell = table.cell(r, c)
            cell.width = widths[c]  # each cell's own width, which Word follows
            p = cell.paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _font(p.add_run(value), BODY_FONT, size, bold)
    doc.add_paragraph()
    return table


def _layout(block: Table) -> tuple[float, list[Mm]]:
    """The font size and column widths of a table: each column as wide as its longest value needs (a
    digit about 0.72 em in a bold fallback font, a Chinese character 1 em, plus the cell's padding;
    headers may wrap), at 五号 (10.5 pt), or 小五 or smaller when the figures would not fit otherwise."""
    body = [*block.rows, *([block.total] if block.total else [])]
    ems = [max(1.0, *(sum(1.0 if ord(ch) > 0x2E80 else 0.72 for ch in row[c]) for row in body))
           for c in range(len(block.header))]
    for size in TABLE_SIZES:
        need = [em * size * MM_PER_PT + CELL_PADDING_MM for em in ems]
        if sum(need) <= TEXT_WIDTH_MM:
            break
    spare = TEXT_WIDTH_MM / sum(need)  # spread what is left (or squeeze, at the smallest size) in proportion
    return size, [Mm(n * spare) for n in need]


def _chart(doc: DocxDocument, block: Chart, figures: CircularFigures) -> None:
    png = results_png(result_bars(figures), list(figures.results), CHART_TITLE)
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.add_run().add_picture(io.BytesIO(png), width=Cm(15))
    _paragraph(doc, block.caption, font=HEADING_FONT, size=12, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)


def _page(doc: DocxDocument) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)


def _write(doc: DocxDocument, d: Document, figures: CircularFigures) -> None:
    _paragraph(doc, d.title, font=TITLE_FONT, size=TITLE_PT, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(doc, "", indent=False)
    _paragraph(doc, d.addressees, indent=False, align=WD_ALIGN_PARAGRAPH.LEFT)
    _paragraph(doc, d.opening)
    for section in d.sections:
        _paragraph(doc, section.heading, font=HEADING_FONT)
        for block in section.blocks:
            if isinstance(block, Table):
                _table(doc, block)
            elif isinstance(block, Chart):
                _chart(doc, block, figures)
            else:
                _paragraph(doc, block)
    _ending(doc, d)
    _others(doc, d)


def _ending(doc: DocxDocument, d: Document) -> None:
    """The ledger request, the attachment, the issuer and the date, kept on one page with the last
    paragraph before them (GB/T 9704: the issuer and date never stand alone on a page)."""
    ending = [_paragraph(doc, line) for line in d.closing]
    if d.attachment:
        ending += [_paragraph(doc, ""), _paragraph(doc, f"附件：{d.attachment}")]
    ending += [_paragraph(doc, ""), _paragraph(doc, "")]
    for line in (d.issuer, d.dated):
        p = _paragraph(doc, line, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
        p.paragraph_format.right_indent = Pt(BODY_PT * 4)
        ending.append(p)
    for p in [doc.paragraphs[len(doc.paragraphs) - len(ending) - 1], *ending[:-1]]:
        p.paragraph_format.keep_with_next = True


def _others(doc: DocxDocument, d: Document) -> None:
    """其他撤销, after the signature on a page of its own: not part of the circular's text."""
    if not d.others:
        return
    doc.add_page_break()  # type: ignore[no-untyped-call]  # python-docx has no annotations there
    for block in d.others:
        if isinstance(block, Table):
            _table(doc, block)
        elif isinstance(block, str):
            _paragraph(doc, block)


def render_docx(figures: CircularFigures) -> bytes:
    """The .docx file's bytes. The chart needs a CJK font (chart.MissingFont otherwise)."""
    d = compose(figures)
    doc = new_document()
    _page(doc)
    doc.core_properties.title = d.title
    doc.core_properties.author = d.issuer
    doc.core_properties.subject = figures.campaign.name
    _write(doc, d, figures)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
