"""Tokens of a whole Arrow array of canonical values in one call.

The batch loader's HMACs (``Pseudonymiser.signer``, one a distinct identifier value of each
batch: 1.85 million for the million-row benchmark) were the largest part of its client work:
in Python about a microsecond a value whatever the code, so they ran in a signing process
(``ingestion.signing``) on the other core. ``ingestion/_hmac_tokens.c``, built by the install
(``setup.py``), is the same HMAC-SHA256 over OpenSSL's SHA-256 in a C loop: about a sixth of
the time, with the GIL released. Where it could not be built (no C compiler or no OpenSSL
headers), ``available()`` is false and the loader signs in Python as before; the tokens are
the same either way (tests compare them with ``Pseudonymiser.token``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ingestion.pseudonymise import Pseudonymiser, domain_prefix
from ingestion.signing_worker import TOKEN_CHARS

try:
    from ingestion import _hmac_tokens
except ImportError:  # not built here: the Python path signs
    _hmac_tokens = None


def available() -> bool:
    """Whether the compiled loop was built on this machine."""
    return _hmac_tokens is not None


def sign_array(pseudonymiser: Pseudonymiser, domain: str, canonical: pa.StringArray) -> pa.Array:
    """The token of each value of ``canonical`` (already normalised; none null), in order, as
    a string array. Needs ``available()``."""
    if _hmac_tokens is None:
        raise RuntimeError("ingestion._hmac_tokens is not built (see setup.py)")
    if canonical.null_count:
        raise ValueError("null values have no token")
    if canonical.type != pa.string():  # the loop reads 32-bit offsets
        canonical = canonical.cast(pa.string())
    count = len(canonical)
    if not count:
        return pa.array([], pa.string())
    _, offsets, data = canonical.buffers()
    offsets = offsets.slice(canonical.offset * 4, (count + 1) * 4)
    inner, outer = pseudonymiser.key_pads()
    hexes = _hmac_tokens.sign(inner, outer, domain_prefix(domain), offsets, data or b"", count)
    ends = np.arange(0, TOKEN_CHARS * count + 1, TOKEN_CHARS, dtype=np.int32)
    return pa.StringArray.from_buffers(count, pa.py_buffer(ends), pa.py_buffer(hexes))
