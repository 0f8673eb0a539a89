"""The one compiled part of Jigsaw: the batch loader's HMAC loop (``ingestion/_hmac_tokens.c``).

Optional: without a C compiler or OpenSSL's headers the install goes on, and the loader signs
in Python (``ingestion.array_signing``) with the same tokens. Everything else is in
pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ingestion._hmac_tokens",
            ["ingestion/_hmac_tokens.c"],
            libraries=["crypto"],
            optional=True,
        )
    ]
)
