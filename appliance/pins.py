"""Staff PINs: salted scrypt hashes, compared in constant time.

Each scrypt takes about 16 MB and a core for ~50 ms, so at most `CONCURRENT` run at once
box-wide; a check that cannot start within `WAIT` seconds raises TimeoutError (the
console answers 503 busy) instead of queueing memory without bound."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading

_N, _R, _P = 2**14, 8, 1
CONCURRENT = 2
WAIT = 10.0
_slots = threading.BoundedSemaphore(CONCURRENT)


def _scrypt(pin: str, salt: bytes) -> bytes:
    if not _slots.acquire(timeout=WAIT):
        raise TimeoutError("too many PIN checks at once")
    try:
        return hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    finally:
        _slots.release()


def hash_pin(pin: str) -> str:
    salt = secrets.token_bytes(16)
    return f"scrypt${salt.hex()}${_scrypt(pin, salt).hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    return hmac.compare_digest(_scrypt(pin, salt).hex(), digest_hex)


def generate_pin(digits: int = 6) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(digits))
