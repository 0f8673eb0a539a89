"""The clear identifying fields of a person record: the one list everything else reads.

A spec column with one of these linkage roles is copied in clear to the restricted
identity.person_records table (its column of the same name and SQL type), and the person
linker compares those marked ``compared``. The spec's ``LinkageRole`` type, the identity DDL,
the row and batch builders and linkage's standard fields are all derived from this tuple, so a
new field is one line here.
"""

from __future__ import annotations

from typing import NamedTuple


class IdentityField(NamedTuple):
    name: str  # the linkage role in a spec, and the column in identity.person_records
    sql_type: str  # its type there
    compared: bool = True  # a standard field of the person linker (linkage.standardise)


# In identity.person_records column order.
IDENTITY_FIELDS: tuple[IdentityField, ...] = (
    IdentityField("given_name", "text"),
    IdentityField("family_name", "text"),
    IdentityField("date_of_birth", "date"),
    IdentityField("sex", "text"),
    IdentityField("postcode", "text"),
    IdentityField("address", "text"),
    IdentityField("nhs_number", "text"),
    # Used to attach a property to the record (linkage.addresses), not to compare people.
    IdentityField("uprn", "text", compared=False),
)
FIELD_NAMES: tuple[str, ...] = tuple(field.name for field in IDENTITY_FIELDS)

# The role of the body's local person identifier: the record's key, not one of its fields.
PERSON_REF = "person_ref"
# Every linkage role a spec column may take.
LINKAGE_ROLES: tuple[str, ...] = (PERSON_REF, *FIELD_NAMES)
