"""HMAC tokens signed in a second process while the loader builds and COPYs, where the compiled
HMAC loop (``ingestion.array_signing``) is not built; where it is, the builder signs a batch in
one call, in less time than this process's pipes take.

The HMAC of each identifier is the largest part of the batch loader's client work, and in
Python it is about a microsecond a value whatever the code (measured: hashlib with pre-keyed
states, ``hmac.digest``, DuckDB's ``sha256`` and a per-file cache of tokens all cost as much or
more). So, in Python, it runs on the other core: the loader sends a batch's canonical values to the
signing process (``ingestion.signing_worker``) one batch ahead, and collects the tokens when it
builds that batch. The tokens are those of ``Pseudonymiser.signer``: the worker calls it.
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.pseudonymise import Pseudonymiser
from ingestion.signing_worker import REQUEST_FRAME, TOKEN_CHARS


class SigningProcess:
    """A signing process for one load; ``close`` it (or use it as a context manager)."""

    def __init__(self, pseudonymiser: Pseudonymiser) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "ingestion.signing_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._requests = self._process.stdin
        pseudonymiser.send_key(self._requests)
        # Answers are read by a thread of their own: a request and an answer can both be larger
        # than a pipe holds, so writing the next while the last is unread would block both sides.
        self._waiting: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="signing answers", daemon=True)
        self._reader.start()
        # Requests are written by a thread of their own too: a request is larger than the pipe,
        # so writing it waits until the process has signed the one before; the loader's
        # builder measured a fifth of its time blocked there.
        self._outbox: queue.Queue = queue.Queue()
        self._writer = threading.Thread(target=self._write, name="signing requests", daemon=True)
        self._writer.start()
        self._order = threading.Lock()  # a request's answer is awaited in the order it is sent

    def __enter__(self) -> SigningProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, domain: str, canonical: Sequence[str] | pa.StringArray) -> Future:
        """The tokens of ``canonical`` (non-empty values without a newline), as a string array."""
        future: Future = Future()
        name = domain.encode()
        if isinstance(canonical, pa.Array):  # joined by Arrow, no Python string a value
            lists = pa.ListArray.from_arrays(pa.array([0, len(canonical)], pa.int32()), canonical)
            payload = pc.binary_join(lists, "\n")[0].as_buffer() if len(canonical) else b""
        else:
            payload = "\n".join(canonical).encode()
        head = REQUEST_FRAME.pack(len(name), len(canonical), len(payload))
        with self._order:
            self._waiting.put((len(canonical), future))
            self._outbox.put((head, name, payload))
        return future

    def _write(self) -> None:
        requests = self._requests
        while (item := self._outbox.get()) is not None:
            try:
                for part in item:
                    requests.write(part)
                requests.flush()
            except OSError:  # the process ended: its answers' reader reports it
                return

    def _read(self) -> None:
        answers: IO[bytes] = self._process.stdout
        while (item := self._waiting.get()) is not None:
            count, future = item
            size = count * TOKEN_CHARS
            data = answers.read(size)
            if len(data) != size:
                future.set_exception(RuntimeError("the signing process ended early"))
                continue
            offsets = np.arange(0, size + 1, TOKEN_CHARS, dtype=np.int32)
            tokens = pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data))
            future.set_result(tokens)

    def close(self) -> None:
        self._outbox.put(None)
        self._writer.join()
        self._waiting.put(None)
        with contextlib.suppress(OSError):  # the process may have gone already
            self._requests.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join()
        self._process.stdout.close()
