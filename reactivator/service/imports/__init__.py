"""Imports: files of customers and orders in any format FORMATS knows.

formats   one entry per kind of file: required columns, row parser, grouping, customer key
readers   streaming CSV and JSON lines, the header peek, the rejects file
rows      one raw row to a validated record, or the reason it cannot be
grouping  consecutive rows that make one record
run       the import loop, the summary, and single records given in code
"""

from reactivator.service.imports.formats import (
    FORMATS,
    FUTURE_SLACK,
    NATIVE,
    CustomerKey,
    ImportFormat,
    ImportKind,
    ParseContext,
    format_named,
    formats_for,
    recognise,
)
from reactivator.service.imports.run import (
    ImportSummary,
    choose_format,
    import_file,
    record_customers,
    record_purchase,
)

__all__ = [
    "FORMATS",
    "FUTURE_SLACK",
    "NATIVE",
    "CustomerKey",
    "ImportFormat",
    "ImportKind",
    "ImportSummary",
    "ParseContext",
    "choose_format",
    "format_named",
    "formats_for",
    "import_file",
    "recognise",
    "record_customers",
    "record_purchase",
]
