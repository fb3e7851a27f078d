"""Ballot receipts: a random code the voter keeps, and its hash the ledger publishes.

The code is never stored; only sha256 of its canonical form is, so a voter can find
their ballot on the public ledger and nobody else can tie a ballot to a person.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648 base32: no 0/1/8/9 to misread
GROUPS = 4
GROUP_LENGTH = 5  # 4 x 5 x 5 bits = 100 bits of randomness


def receipt_code_new() -> str:
    # 15 random bytes are 24 base32 letters of ALPHABET (RFC 4648's, no padding); the
    # first 20 carry the first 100 bits, each letter uniform: one call to the OS, not 20.
    letters = base64.b32encode(secrets.token_bytes(15)).decode("ascii")
    return "-".join(letters[i : i + GROUP_LENGTH] for i in range(0, GROUPS * GROUP_LENGTH, GROUP_LENGTH))


def receipt_code_canonical(code: str) -> str:
    """Upper case, groups of five joined by '-', whatever the voter typed."""
    compact = "".join(ch for ch in code.upper() if ch.isalnum())
    return "-".join(compact[i : i + GROUP_LENGTH] for i in range(0, len(compact), GROUP_LENGTH))


def receipt_hash(code: str) -> str:
    return hashlib.sha256(receipt_code_canonical(code).encode("ascii", "ignore")).hexdigest()


def receipt_lookup_hashes(text: str) -> list[str]:
    """The ledger hashes a voter's input may stand for: a hash pasted as it is, or a code
    however it was typed (spaces, dashes, case). Codes of imported ballots were issued
    outside the portal and are hashed as they are written."""
    text = text.strip()
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text.lower()):
        return [text.lower()]
    return sorted({receipt_hash(text), hashlib.sha256(text.encode()).hexdigest()})
