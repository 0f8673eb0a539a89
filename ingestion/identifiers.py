"""Identifier rules shared by the simulator, the loader and linkage."""

from __future__ import annotations

import re

_NOT_DIGITS = re.compile(r"\D")


def nhs_check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit for nine digits, or None when no valid digit exists (10)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def nhs_number_is_valid(value: str | None) -> bool:
    """Ten digits (spaces and dashes ignored) whose last digit is the modulus-11 check digit."""
    if not value:
        return False
    digits = _NOT_DIGITS.sub("", value)
    if len(digits) != 10 or len(set(digits)) == 1:
        return False
    return nhs_check_digit(digits[:9]) == int(digits[9])
