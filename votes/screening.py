"""What the screening after the close reads from a participation's request, and no more.

The network (/24 of IPv4, /48 of IPv6) and the user agent are stored only as keyed hashes
(HMAC-SHA-256 with SCREENING_HASH_KEY), so equal ones can be grouped while the address
itself is never kept; the time only to its bucket. All of it is erased once the results
are published and SCREENING_RETENTION_DAYS passed (votes.services.verification).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress

from django.conf import settings

Client = tuple[str, str]  # (address, user agent), from lib.client_address


def _key() -> bytes:
    key = settings.SCREENING_HASH_KEY or f"screening:{settings.SECRET_KEY}"
    return key.encode()


def keyed_hash(text: str) -> str:
    return hmac.new(_key(), text.encode(), hashlib.sha256).hexdigest()


def network_of(address: str) -> str | None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def client_hashes(client: Client | None) -> tuple[str | None, str | None]:
    """``(client_hash, agent_hash)`` of a request's client; None where unknown."""
    if client is None:
        return None, None
    address, agent = client
    network = network_of(address or "")
    return (keyed_hash(network) if network else None, keyed_hash(agent) if agent else None)


def time_bucket(moment: datetime.datetime) -> datetime.datetime:
    minutes = settings.SCREENING_TIME_BUCKET_MINUTES
    start = moment.replace(second=0, microsecond=0)
    return start - datetime.timedelta(minutes=start.minute % minutes)
