"""Which network addresses a fetch may connect to.

By default only public ones: loopback, private, link-local, multicast, reserved, unspecified and
other non-global addresses (IPv4 and IPv6; an IPv4-mapped IPv6 address counts as the IPv4 address
it maps) are refused, so a feed URL or a redirect cannot reach the newsroom's own services. A
newsroom allows its own feed hosts with an allow-list: host names (matched exactly, any case) or
addresses and CIDR networks (matched against the resolved address).

Names are resolved once, here; the caller connects to an address this module checked, so a DNS
answer that changes between the check and the connection (rebinding) cannot slip past it.
"""
from __future__ import annotations

import ipaddress
import re
import socket
import threading
from dataclasses import dataclass, field

from pipeline.ingest.readers.common import Deadline, InputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# in the order a reason names them (127.0.0.1 is both loopback and private: loopback says more;
# 240.0.0.0/4 is both reserved and, to Python, private)
REFUSED_KINDS = (
    ("unspecified", "is_unspecified"), ("loopback", "is_loopback"), ("link-local", "is_link_local"),
    ("multicast", "is_multicast"), ("reserved", "is_reserved"), ("private", "is_private"),
)
HOST_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$")


def refused_kind(ip: IPAddress) -> str | None:
    """Why `ip` is not fetched from by default ("loopback", ...), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, attribute in REFUSED_KINDS:
        if getattr(ip, attribute):
            return kind
    return None if ip.is_global else "non-public"


@dataclass(slots=True)
class AllowList:
    """Hosts a fetch may reach although their addresses are not public."""

    names: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, entries) -> AllowList:
        """From host names, addresses and CIDR networks; a ValueError names an entry that is none of them."""
        if isinstance(entries, AllowList):
            return entries
        names, networks = set(), []
        for entry in entries:
            text = str(entry).strip().lower().rstrip(".").strip("[]")
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
                continue
            except ValueError:
                pass
            if not HOST_NAME.match(text):
                raise ValueError(f"not a host name, address or CIDR network: {entry!r}")
            names.add(text)
        return cls(frozenset(names), tuple(networks))

    def allows(self, host: str, ip: IPAddress) -> bool:
        if host.lower().rstrip(".") in self.names:
            return True
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        return any(ip in net or (mapped is not None and mapped in net) for net in self.networks)


def resolve(host: str, port: int, deadline: Deadline) -> list[tuple[int, str]]:
    """(family, address) pairs `host` resolves to; bounded by `deadline` (the lookup runs in a thread
    so a resolver that never answers cannot hold the run)."""
    answer: dict = {}

    def lookup():
        try:
            answer["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            answer["error"] = exc

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(max(deadline.remaining(), 0))
    if worker.is_alive():
        raise TimeoutError
    if "error" in answer:
        raise InputError(f"cannot resolve host {host!r}: {getattr(answer['error'], 'strerror', None) or answer['error']}")
    seen, found = set(), []
    for family, _, _, _, sockaddr in answer["infos"]:
        if family in (socket.AF_INET, socket.AF_INET6) and sockaddr[0] not in seen:
            seen.add(sockaddr[0])
            found.append((family, sockaddr[0]))
    return found


def checked_addresses(host: str, port: int, allow: AllowList, deadline: Deadline) -> list[tuple[int, str]]:
    """The addresses of `host` a fetch may connect to, in resolver order; an InputError if none."""
    found = resolve(host, port, deadline)
    if not found:
        raise InputError(f"cannot resolve host {host!r}: no IPv4 or IPv6 address")
    usable, refused = [], []
    for family, address in found:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope (fe80::1%eth0) is not part of it
        kind = refused_kind(ip)
        if kind is None or allow.allows(host, ip):
            usable.append((family, address))
        else:
            refused.append(f"{address} ({kind})")
    if not usable:
        named = "" if [a for _, a in found] == [host] else f" for host {host}"
        raise InputError(f"refused address {', '.join(refused)}{named}: not a public address "
                         "(fetch_allow_hosts can allow it)")
    return usable
