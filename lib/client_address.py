"""The address of the client, the one every rate limit and every stored address uses.

`X-Forwarded-For` is a header anyone can send. It counts only when settings name the
proxies in front of the portal (TRUSTED_PROXIES, read by settings.py into
TRUSTED_PROXY_COUNT or TRUSTED_PROXY_NETWORKS):

- a count N: each of our N proxies appended the address it got the request from, so
  the client is the N-th address from the right (what a client wrote before is ignored);
- networks: the request must come from one of them; the header is read from the right,
  skipping our own proxies, and the first address outside them is the client.

With no proxy configured the header is ignored and REMOTE_ADDR is the client.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from django.http import HttpRequest

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(specs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(spec, strict=False) for spec in specs)


def _parse(text: str) -> str | None:
    """A canonical address from one hop of the header ('[v6]:port' and 'v4:port' too)."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _hops(request: HttpRequest) -> list[str]:
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return [hop for hop in (part.strip() for part in header.split(",")) if hop]


def behind_proxy() -> bool:
    return bool(settings.TRUSTED_PROXY_COUNT or settings.TRUSTED_PROXY_NETWORKS)


def is_trusted_proxy(address: str) -> bool:
    """Whether `address` is one of the configured proxy networks."""
    parsed = _parse(address)
    if parsed is None:
        return False
    ip = ipaddress.ip_address(parsed)
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXY_NETWORKS)))


def client_address(request: HttpRequest) -> str:
    remote: str = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        hops = _hops(request)
        if not hops:
            return remote  # the proxy's own request (a health check)
        return _parse(hops[-count] if len(hops) >= count else hops[0]) or remote
    if not settings.TRUSTED_PROXY_NETWORKS or not is_trusted_proxy(remote):
        return remote
    nearest = remote
    for hop in reversed(_hops(request)):
        address = _parse(hop)
        if address is None:
            break  # whatever stands left of an unreadable hop was not written by our proxies
        if not is_trusted_proxy(address):
            return address
        nearest = address
    return nearest


def client_of(request: HttpRequest) -> tuple[str, str]:
    """``(address, user agent)`` of the request's client, as the screening reads them."""
    return client_address(request), request.META.get("HTTP_USER_AGENT", "")[:512]
