"""Tokens are standard HMAC-SHA256, checked against vectors computed outside this code.

The expected digests were computed with OpenSSL, e.g.
    printf 'nhs_number\\x1f9434765919' \\
        | openssl dgst -sha256 -hmac 'jigsaw-demo-region-not-a-secret'
so a change in the construction (domain separator, normalisation, key handling) shows here
rather than silently re-keying every person.
"""

from __future__ import annotations

import pytest

from ingestion.pseudonymise import DEMO_KEY, Pseudonymiser

VECTORS = [
    # (key, domain, value as delivered, HMAC-SHA256 of "<domain>\x1f<canonical value>")
    (
        DEMO_KEY,
        "nhs_number",
        "943 476 5919",
        "8acea1c46cbb4845c96c9ccffc57d60b20cbc5cecb31ad9939e7d02826c4fd62",
    ),
    (
        DEMO_KEY,
        "family_name",
        "  o brien-smith ",
        "994d44135e2e89173ff7157c4d99659e4e564360233af9b6118c355e189503a6",
    ),
    # A key longer than SHA-256's block is hashed first (RFC 2104): the precomputed-pad path.
    (
        "k" * 100,
        "nhs_number",
        "9434765919",
        "b9ad64e420655b88546acbcec18b61468f8bc73b5b09cf3f94b635320812f9f3",
    ),
    (
        "another-key",
        "nhs_number",
        "943-476-5919",
        "9e3443438340789bcb191dcc988fcbc4b7570ce41f8ceb5e9b9d107a86a9c1a9",
    ),
]


@pytest.mark.parametrize(("key", "domain", "value", "expected"), VECTORS)
def test_tokens_match_independently_computed_hmac_sha256(key, domain, value, expected):
    pseudonymiser = Pseudonymiser(key=key.encode())
    assert pseudonymiser.token(domain, value) == expected
    assert pseudonymiser.tokeniser(domain)(value) == expected


def test_another_key_gives_other_tokens_and_domains_do_not_collide():
    value = "9434765919"
    demo = Pseudonymiser(key=DEMO_KEY.encode())
    other = Pseudonymiser(key=b"another-key")
    assert demo.token("nhs_number", value) != other.token("nhs_number", value)
    assert demo.token("nhs_number", value) != demo.token("person_ref", value)
    assert demo.token("nhs_number", "   ") is None and demo.token("nhs_number", None) is None


def test_the_signing_process_gives_the_same_tokens_in_order():
    """The batch loader's signing process (``ingestion.signing``): the vectors above, and a
    request larger than a pipe holds sent before the previous answer is read."""
    from ingestion.pseudonymise import normalise
    from ingestion.signing import SigningProcess

    pseudonymiser = Pseudonymiser(key=b"k" * 100)
    many = [f"P{i:08d}" for i in range(50_000)]
    with SigningProcess(pseudonymiser) as signing:
        first = signing.submit("person_ref", many)
        nothing = signing.submit("person_ref", [])
        vectors = [
            signing.submit(domain, [normalise(domain, value)])
            for key, domain, value, _ in VECTORS
            if key == "k" * 100
        ]
        assert first.result().to_pylist() == [pseudonymiser.token("person_ref", v) for v in many]
        assert nothing.result().to_pylist() == []
        assert [v.result().to_pylist() for v in vectors] == [
            [expected] for key, _, _, expected in VECTORS if key == "k" * 100
        ]


def test_the_compiled_loop_gives_the_same_tokens():
    """The batch loader's compiled HMAC loop (``ingestion.array_signing``): the vectors above,
    and many values of other shapes (multibyte, longer than a SHA-256 block, a slice of an
    array, 64-bit offsets), each against ``token``."""
    import os

    import pyarrow as pa

    from ingestion import array_signing
    from ingestion.pseudonymise import normalise

    if not array_signing.available():
        # CI's machines have a C compiler and OpenSSL's headers: there it must have been built.
        assert not os.environ.get("CI"), "ingestion._hmac_tokens was not built (setup.py)"
        pytest.skip("ingestion._hmac_tokens not built here (no C compiler or OpenSSL headers)")
    for key, domain, value, expected in VECTORS:
        canonical = pa.array([normalise(domain, value)])
        signed = array_signing.sign_array(Pseudonymiser(key=key.encode()), domain, canonical)
        assert signed.to_pylist() == [expected]
    pseudonymiser = Pseudonymiser(key=b"another-key")
    values = [f"P{i:08d}" for i in range(20_000)] + ["É ß 東京", "X" * 200, "A"]
    canonical_values = [normalise("person_ref", v) for v in values]  # as the loader hands them
    array = pa.array(["skipped", *canonical_values]).slice(1)
    for canonical in (array, array.cast(pa.large_string()), array.slice(0, 0)):
        signed = array_signing.sign_array(pseudonymiser, "person_ref", canonical)
        assert signed.to_pylist() == [
            pseudonymiser.token("person_ref", v) for v in canonical.to_pylist()
        ]
    with pytest.raises(ValueError, match="null"):
        array_signing.sign_array(pseudonymiser, "person_ref", pa.array(["A", None]))
