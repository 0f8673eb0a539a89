"""Keyed hashing of direct identifiers (HMAC-SHA256), the same token for the same value everywhere.

The key comes from ``JIGSAW_PSEUDONYMISATION_KEY``. The demo region uses a documented demo
key (``make demo`` sets it); any other run without a key stops with a clear error. The key is
never logged or written anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import struct
from collections.abc import Callable
from typing import IO

KEY_VARIABLE = "JIGSAW_PSEUDONYMISATION_KEY"
# Public on purpose: it protects nothing, it only lets the synthetic demo region run.
DEMO_KEY = "jigsaw-demo-region-not-a-secret"

_SPACES = re.compile(r"\s+")
_NOT_DIGITS = re.compile(r"\D")
_NOT_ASCII_DIGITS = re.compile(r"[^0-9]")
# Domains whose values are reference numbers: only the digits count. A UPRN is also stripped of
# leading zeros, as dbt's standardise_uprn macro does, so both sides name a property alike.
UPRN_DOMAIN = "uprn"


class MissingKeyError(RuntimeError):
    pass


def pseudonymisation_key() -> bytes:
    key = os.environ.get(KEY_VARIABLE)
    if not key:
        raise MissingKeyError(
            f"{KEY_VARIABLE} is not set: Jigsaw will not load identifiable data without a "
            "pseudonymisation key. Set it from your secret store (the demo uses "
            "`make demo`, which sets the documented demo key)."
        )
    return key.encode("utf-8")


def normalise(domain: str, value: str) -> str:
    """The canonical form that is hashed: case, spacing and punctuation must not split a person."""
    if domain == "nhs_number":
        return _NOT_DIGITS.sub("", value)
    if domain == UPRN_DOMAIN:
        return _NOT_ASCII_DIGITS.sub("", value).lstrip("0")
    return _SPACES.sub(" ", value.strip()).upper()


def domain_prefix(domain: str) -> bytes:
    """What a token's message starts with: its domain and a unit separator, so the same value
    in two domains has two unrelated tokens."""
    return f"{domain}\x1f".encode()


class Pseudonymiser:
    """Turns identifier values into tokens; one instance per load, key read once."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else pseudonymisation_key()

    def send_key(self, stream: IO[bytes]) -> None:
        """Hands the key, length-prefixed, to a signing process over a pipe
        (``ingestion.signing``): it is never written to disk nor logged."""
        stream.write(struct.pack("<I", len(self._key)) + self._key)

    def key_pads(self) -> tuple[bytes, bytes]:
        """The key's inner and outer blocks of RFC 2104 (the key, hashed if longer than a
        block, padded to 64 bytes and XORed with 0x36 and with 0x5C): each token's HMAC starts
        from them (``digester``, and the compiled loop of ``ingestion.array_signing``)."""
        key = self._key if len(self._key) <= 64 else hashlib.sha256(self._key).digest()
        key = key.ljust(64, b"\0")
        return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)

    def digester(self, domain: str) -> Callable[[bytes], bytes]:
        """The HMAC-SHA256 digest of an already normalised value (``normalise``), UTF-8 encoded,
        in one domain.

        The key's inner and outer hash states are computed once per domain, the inner one with
        the domain prefix already in it: the same construction as RFC 2104 (and ``hmac.new``),
        without rebuilding the key pads for every value (about 3x faster; a test checks it
        against ``token``).
        """
        inner_pad, outer_pad = self.key_pads()
        inner = hashlib.sha256(inner_pad)
        inner.update(domain_prefix(domain))
        outer = hashlib.sha256(outer_pad)
        inner_copy, outer_copy = inner.copy, outer.copy

        def digest(canonical: bytes) -> bytes:
            inner_hash = inner_copy()
            inner_hash.update(canonical)
            outer_hash = outer_copy()
            outer_hash.update(inner_hash.digest())
            return outer_hash.digest()

        return digest

    def signer(self, domain: str) -> Callable[[str], str]:
        """The token (hex digest, see ``digester``) of an already normalised value."""
        digest = self.digester(domain)

        def sign(canonical: str) -> str:
            return digest(canonical.encode()).hex()

        return sign

    def tokeniser(self, domain: str) -> Callable[[str | None], str | None]:
        """``token(domain, ·)`` for one domain, about 3x faster (see ``signer``)."""
        sign = self.signer(domain)

        def token(value: str | None) -> str | None:
            if value is None:
                return None
            canonical = normalise(domain, value)
            if not canonical:
                return None
            return sign(canonical)

        return token

    def token(self, domain: str, value: str | None) -> str | None:
        if value is None:
            return None
        canonical = normalise(domain, value)
        if not canonical:
            return None
        message = domain_prefix(domain) + canonical.encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
