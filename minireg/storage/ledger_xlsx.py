"""The XLSX ledger (openpyxl). Not built yet: see the spreadsheet issue."""

from __future__ import annotations

from minireg.domain.records import Event, VersionRecord
from minireg.errors import InvalidInput


def workbook_bytes(records: list[VersionRecord], events: list[Event]) -> bytes:
    """The bytes of ``ledger.xlsx`` for ``records`` with the audit trail on a second sheet."""
    raise InvalidInput('The xlsx ledger format is not available yet; set format = "csv".')


def compare_workbook(records: list[VersionRecord], events: list[Event], data: bytes) -> list[str]:
    """How the workbook bytes ``data`` differ from the view of ``records``."""
    raise InvalidInput('The xlsx ledger format is not available yet; set format = "csv".')
