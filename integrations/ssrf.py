"""Where a webhook may be sent: never into our own network.

A target URL is resolved and every address it resolves to is checked, when an endpoint is
saved and again before each batch of sends. The sender then connects to the address it
checked (integrations/sending.py pins it), so a name that resolves to a public address at
the check and to 127.0.0.1 a moment later (DNS rebinding) cannot steer a request inside.

Loopback, private, shared, reserved, multicast and unspecified addresses are refused
unless WEBHOOK_ALLOW_PRIVATE_URLS is set (a self-hosted receiver on the LAN; tests);
link-local addresses (169.254.0.0/16 with the cloud metadata service, fe80::/10) are
refused whatever the setting.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from agents.exceptions import DomainError

SCHEMES = {"http": 80, "https": 443}


class UnsafeUrl(DomainError):
    """The URL is malformed or points somewhere webhooks may not go (HTTP 400 on `url`)."""

    def __init__(self, detail: str):
        super().__init__(detail, field="url", code="unsafe_url")


class UnresolvableUrl(DomainError):
    """The host name does not resolve (now): a save refuses it, a send retries later."""

    def __init__(self, detail: str):
        super().__init__(detail, field="url", code="unresolvable_url")


@dataclass(frozen=True)
class Target:
    scheme: str
    hostname: str  # as in the URL (the TLS name and the Host header)
    port: int
    address: str  # the checked IP address to connect to


def resolve(hostname: str, port: int) -> list[str]:
    """The host's addresses (tests replace this to play DNS)."""
    infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def address_refusal(address: str, *, allow_private: bool) -> str | None:
    """Why `address` may not receive webhooks, or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if ip.is_link_local:
        return f"{ip} is a link-local address (e.g. a cloud metadata service)"
    if allow_private:
        return None
    if ip.is_loopback:
        return f"{ip} is a loopback address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return f"{ip} is not a unicast public address"
    if ip.is_private or not ip.is_global:
        return f"{ip} is a private address"
    return None


def url_parse(url: str) -> tuple[str, str, int]:
    """(scheme, hostname, port) of an http(s) URL, or UnsafeUrl."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("Enter a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UnsafeUrl("Only http and https URLs are allowed.")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.")
    return scheme, parts.hostname, port or SCHEMES[scheme]


def url_check(url: str) -> Target:
    """Resolve `url`'s host and check every address; the target to connect to."""
    scheme, hostname, port = url_parse(url)
    allow_private = bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_URLS", False))
    try:
        addresses = resolve(hostname, port)
    except (OSError, UnicodeError):
        raise UnresolvableUrl(f"The host {hostname!r} does not resolve.") from None
    if not addresses:
        raise UnresolvableUrl(f"The host {hostname!r} does not resolve.")
    for address in addresses:
        refusal = address_refusal(address, allow_private=allow_private)
        if refusal:
            raise UnsafeUrl(f"Refused: {hostname} resolves to {refusal}.")
    return Target(scheme=scheme, hostname=hostname, port=port, address=addresses[0])
