"""The one read/write path for records: every list, read and write goes through here."""

from engine.records.deleting import delete_record, delete_records
from engine.records.listing import ListQuery, Page, list_records, parse_list_query
from engine.records.reading import get_record
from engine.records.writing import create_record, update_record

__all__ = [
    "ListQuery",
    "Page",
    "create_record",
    "delete_record",
    "delete_records",
    "get_record",
    "list_records",
    "parse_list_query",
    "update_record",
]
