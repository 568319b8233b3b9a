"""Where webhooks may point: a webhook is a request the server makes on a caller's behalf.

Checked twice: on submit (the URL as written) and before each delivery (every address the host
resolves to then), so a name that later resolves to a metadata address is still refused.
Link-local and cloud-metadata addresses are always refused; loopback and private networks only
when the spec allows them (`auth.webhook_private`).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from dockyard.spec.auth import Auth

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str], Sequence[str]]
METADATA = frozenset({
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
})  # fmt: skip
METADATA_NAMES = frozenset({"metadata", "metadata.google.internal", "instance-data"})
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})


def resolve_host(host: str) -> list[str]:
    """Every address `host` resolves to (A and AAAA)."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})


@dataclass(frozen=True)
class WebhookPolicy:
    """The spec's allow-list of hosts (empty: any public host) and whether private nets are ok."""

    hosts: tuple[str, ...] = ()
    private: bool = False

    @classmethod
    def from_spec(cls, auth: Auth) -> WebhookPolicy:
        return cls(tuple(h.lower() for h in auth.webhook_hosts), auth.webhook_private)

    def refusal(self, url: str) -> str | None:
        """Why `url` may not be called, judged from its text alone; None when it may."""
        host = (urlsplit(url).hostname or "").lower()
        if not host:
            return "the webhook URL has no host"
        if self.hosts and not any(fnmatch.fnmatchcase(host, p) for p in self.hosts):
            return f"webhook host {host!r} is not in auth.webhook_hosts"
        if host in METADATA_NAMES:
            return f"webhook host {host!r} is a cloud metadata service"
        if host in LOCAL_NAMES and not self.private:
            return f"webhook host {host!r} is this machine (set auth.webhook_private to allow)"
        try:
            return self._address_refusal(ipaddress.ip_address(host))
        except ValueError:
            return None  # a name: judged again on its addresses at delivery

    def delivery_refusal(self, url: str, resolve: Resolve = resolve_host) -> str | None:
        """`refusal`, plus every address the host resolves to now."""
        refused = self.refusal(url)
        if refused:
            return refused
        host = urlsplit(url).hostname or ""
        try:
            addresses = resolve(host)
        except OSError as exc:
            return f"webhook host {host!r} does not resolve: {exc}"
        for address in addresses:
            refused = self._address_refusal(ipaddress.ip_address(address.split("%")[0]))
            if refused:
                return refused
        return None

    def _address_refusal(self, ip: Address) -> str | None:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if ip in METADATA or ip.is_link_local:
            return f"webhook address {ip} is link-local or a metadata service"
        if ip.is_multicast or ip.is_unspecified:
            return f"webhook address {ip} cannot be called"
        if ip.is_global or self.private:
            return None
        return f"webhook address {ip} is loopback or private (set auth.webhook_private to allow)"
