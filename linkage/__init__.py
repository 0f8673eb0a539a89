"""Identity resolution: one regional person key per person, one UPRN per address.

Entry points: `link_tables` (any person tables, a column mapping) and `python -m linkage`.
"""

from linkage.linker import LinkResult, link_records, link_tables

__all__ = ["LinkResult", "link_records", "link_tables"]
