"""The signing process of a batch load (``ingestion.signing``): HMAC tokens of canonical values.

It reads, on standard input, the key (length-prefixed) and then requests (domain, count,
values joined by newlines), and answers each with the values' tokens, 64 hex characters each,
in order. It imports nothing but the pseudonymiser, so it starts in a few tens of ms.

Values stay bytes and the answer is hex-encoded once, not per value: 15 % less CPU than
signing each as text. A cache of the values signed before (a delivery names most people in
several batches: 1.85 million values, 0.98 million distinct in the million-row benchmark)
was measured slower: a look-up in a dictionary of a million values costs about half an HMAC.
"""

from __future__ import annotations

import binascii
import struct
import sys
from collections.abc import Callable

from ingestion.pseudonymise import Pseudonymiser

KEY_FRAME = struct.Struct("<I")  # key length
REQUEST_FRAME = struct.Struct("<III")  # domain length, number of values, payload length
TOKEN_CHARS = 64


def serve() -> None:
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    head = source.read(KEY_FRAME.size)
    if len(head) < KEY_FRAME.size:
        return
    pseudonymiser = Pseudonymiser(source.read(KEY_FRAME.unpack(head)[0]))
    digesters: dict[str, Callable[[bytes], bytes]] = {}
    while len(head := source.read(REQUEST_FRAME.size)) == REQUEST_FRAME.size:
        domain_length, count, payload_length = REQUEST_FRAME.unpack(head)
        domain = source.read(domain_length).decode()
        payload = source.read(payload_length)
        digest = digesters.get(domain)
        if digest is None:
            digest = digesters[domain] = pseudonymiser.digester(domain)
        values = payload.split(b"\n") if count else []
        sink.write(binascii.hexlify(b"".join(map(digest, values))))
        sink.flush()


if __name__ == "__main__":
    serve()
