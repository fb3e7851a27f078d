"""The sealed link between a participation and its ballot (pure: no Django).

The register and the ballot box share no column. To annul the ballot of a named
participation after the close (the commission's verification), the participation
carries its ballot's receipt hash sealed with the commission's public key (libsodium's
sealed box: X25519 + XSalsa20-Poly1305, anonymous sender). Only the private key opens
it, and the private key is handed to the commission and never stays on the server, so
neither an official, a superuser nor a reader of the database can open any link. The
private key can be split into n shares of which any k open it (Shamir's scheme over
GF(2^128), two 16-byte halves), so that no single member can open links alone.

Files the command writes:

* the private key: ``portal-commission-key-v1:<campaign id>:<hex key>``
* a share: ``portal-commission-share-v1:<campaign id>:<k>:<index>:<hex 32 bytes>``
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from Crypto.Protocol.SecretSharing import Shamir
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

KEY_PREFIX = "portal-commission-key-v1"
SHARE_PREFIX = "portal-commission-share-v1"
HALF = 16  # Shamir's scheme in pycryptodome shares 16-byte secrets


class SealingError(ValueError):
    """A key, a share or a sealed link that cannot be used, with a reason to show."""


@dataclass(frozen=True)
class KeyPair:
    public_hex: str
    private: bytes


def keypair_new() -> KeyPair:
    key = PrivateKey.generate()
    return KeyPair(public_hex=bytes(key.public_key).hex(), private=bytes(key))


def link_seal(public_hex: str, receipt_hash: str) -> bytes:
    """The receipt hash sealed for the holder of the private key (80 bytes)."""
    return SealedBox(PublicKey(bytes.fromhex(public_hex))).encrypt(bytes.fromhex(receipt_hash))


def link_open(private: bytes, sealed: bytes) -> str:
    """The receipt hash a sealed link holds; `SealingError` for the wrong key or a damaged link."""
    try:
        return SealedBox(PrivateKey(private)).decrypt(bytes(sealed)).hex()
    except CryptoError:
        raise SealingError("this key does not open the link (another campaign's key, or a damaged link)") from None


def private_matches(private: bytes, public_hex: str) -> bool:
    return bytes(PrivateKey(private).public_key).hex() == public_hex


def key_text(campaign_id: int, private: bytes) -> str:
    return f"{KEY_PREFIX}:{campaign_id}:{private.hex()}\n"


def shares_text(campaign_id: int, private: bytes, *, threshold: int, count: int) -> list[str]:
    """n share texts of which any `threshold` rebuild the private key."""
    if not 2 <= threshold <= count <= 255:
        raise SealingError("shares need 2 <= k <= n <= 255")
    low = Shamir.split(threshold, count, private[:HALF])
    high = Shamir.split(threshold, count, private[HALF:])
    return [
        f"{SHARE_PREFIX}:{campaign_id}:{threshold}:{index}:{low_part.hex()}{high_part.hex()}\n"
        for (index, low_part), (_index, high_part) in zip(low, high, strict=True)
    ]


def private_from_texts(campaign_id: int, texts: Iterable[str]) -> bytes:
    """The private key from its file, or from at least k share files of one campaign."""
    texts = [text.strip() for text in texts if text.strip()]
    if not texts:
        raise SealingError("no key or share given")
    if len(texts) == 1 and texts[0].startswith(KEY_PREFIX + ":"):
        _prefix, key_campaign, key_hex = texts[0].split(":")
        if int(key_campaign) != campaign_id:
            raise SealingError(f"this key is for campaign {key_campaign}")
        return bytes.fromhex(key_hex)
    shares: dict[int, bytes] = {}
    thresholds = set()
    for text in texts:
        parts = text.split(":")
        if len(parts) != 5 or parts[0] != SHARE_PREFIX:
            raise SealingError("not a commission key or share file")
        _prefix, share_campaign, share_threshold, index, value = parts
        if int(share_campaign) != campaign_id:
            raise SealingError(f"a share is for campaign {share_campaign}")
        thresholds.add(int(share_threshold))
        shares[int(index)] = bytes.fromhex(value)
    if len(thresholds) != 1:
        raise SealingError("the shares come from different splits")
    (threshold,) = thresholds
    if len(shares) < threshold:
        raise SealingError(f"{len(shares)} share(s) given; {threshold} are needed")
    chosen = sorted(shares.items())[:threshold]
    low = Shamir.combine([(index, value[:HALF]) for index, value in chosen])
    high = Shamir.combine([(index, value[HALF:]) for index, value in chosen])
    return low + high
