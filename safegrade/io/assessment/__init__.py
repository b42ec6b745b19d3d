"""Assessment documents (运行质量评估), read from .yaml/.yml/.json or .xlsx and checked against the rules.

The 2023 circular criticised districts that "only deducted points without recording the deduction
items and content": here a deduction without its item and specific content cannot be read. Like the
ledger reader, every problem is collected as a RowProblem (file, row, column, value, reason) and bad
assessments never stop the reading: read_assessments returns the valid assessments and the problems,
and the caller decides (refusing the whole file when there is any problem). Only a file that cannot
be read as assessments at all (unknown type, not valid YAML/JSON, no 评估 sheet, bad headers) raises
InvalidInput. Checks that need the database (is the enterprise known, in the campaign, already
assessed) are the caller's.

Where a problem is:
- YAML/JSON: row is the assessment's 1-based position in the file (a file holds one assessment, a
  list of them, or several YAML documents of either); column is a path into it with 0-based list
  indices, as written in the file: `deductions[2].content`, `materials.口袋书`, `methods[1]`.
- .xlsx: row is the spreadsheet row; column is `sheet!header` as written, e.g. `扣分!扣分内容`.
  The workbook has a sheet 评估 (one row per assessment) and a sheet 扣分 (one row per deduction,
  attached to the assessment with the same 统一社会信用代码 and 评估批次); other sheets are ignored.
  A title row above the header is allowed, as in ledgers.

AssessmentInput's file and row say where it was read from and take no part in ==, so the same
assessment read from YAML, JSON or a workbook compares equal.
"""

from __future__ import annotations

from safegrade.io.assessment.files import assessments_to_yaml, read_assessments, write_assessments_xlsx
from safegrade.io.assessment.model import (
           ALLOWED_EXTENSIONS,
           ASSESSMENT_COLUMNS,
           ASSESSMENT_SHEET,
           CONTENT_RULE,
           DEDUCTION_COLUMNS,
           DEDUCTION_SHEET,
           MIN_CONTENT_CHARS,
           AssessmentInput,
)

__all__ = ["ALLOWED_EXTENSIONS", "ASSESSMENT_COLUMNS", "ASSESSMENT_SHEET", "AssessmentInput", "CONTENT_RULE",
           "DEDUCTION_COLUMNS", "DEDUCTION_SHEET", "MIN_CONTENT_CHARS", "assessments_to_yaml", "read_assessments",
           "write_assessments_xlsx"]
