"""The address guard: which buyer addresses may be called (DESIGN §8.6).

Buyers live on the public internet. A host on a loopback, private, link-local or otherwise
non-public address is refused unless an ``allow`` entry covers it, whether the URL names
the address (:meth:`AddressGuard.check_literal_host`, before anything is sent) or a name
resolves to it (:meth:`AddressGuard.permits`, on each resolved address). IPv6 forms that
carry an IPv4 address are judged by where they lead; see :class:`AddressGuard`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from pingtree.delivery.connection import SendError

__all__ = ["AddressGuard", "is_ip_literal"]

#: literal hosts whose verdict is remembered (buyers are few; a bound against the odd spec)
_MAX_REMEMBERED_HOSTS = 4096


class AddressGuard:
    """Which buyer addresses may be called: public ones, and those ``allow`` lists.

    An IPv6 address that carries an IPv4 address is judged by where it leads:

    - IPv4-mapped ``::ffff:a.b.c.d``, IPv4-translated ``::ffff:0:a.b.c.d``,
      IPv4-compatible ``::a.b.c.d`` and the well-known NAT64 prefix ``64:ff9b::/96``
      reach ``a.b.c.d``: permitted when that IPv4 address is public (an IPv6-only network
      with DNS64 resolves every buyer so), refused when it is loopback, private,
      link-local, unspecified, reserved or multicast.
    - The local-use NAT64 prefix ``64:ff9b:1::/48``, 6to4 ``2002::/16`` and Teredo
      ``2001::/32`` are refused whatever they carry: a site's own translator or a relay we
      do not control decides where they lead, and no buyer endpoint needs them. So is the
      deprecated site-local ``fec0::/10``.

    An ``allow`` entry covers the addresses it names, in their own family: allowing
    ``127.0.0.1`` does not allow ``::ffff:127.0.0.1`` (the same host, but a spelling no
    test or demo uses; one rule is simpler to trust than a translation table).
    """

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self._allowed = tuple(ipaddress.ip_network(entry, strict=False) for entry in allow)
        #: a literal host → whether it may be called (every new connection checks its host)
        self._literal_verdicts: dict[str, bool] = {}

    def permits(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip in network for network in self._allowed):
            return True
        if isinstance(ip, ipaddress.IPv6Address):
            if any(ip in network for network in _RELAYED):
                return False
            carried = _carried_ipv4(ip)
            if carried is not None:
                return _public(carried)
        return _public(ip)

    def check_literal_host(self, host: str) -> None:
        """Refuse (``SendError("connect")``) a host that is a non-permitted address: a URL
        naming an address skips the resolver, so it is checked before anything is sent."""
        host = host.strip("[]")
        permitted = self._literal_verdicts.get(host)
        if permitted is None:
            permitted = not is_ip_literal(host) or self.permits(host)
            if len(self._literal_verdicts) < _MAX_REMEMBERED_HOSTS:
                self._literal_verdicts[host] = permitted
        if not permitted:
            raise SendError("connect", f"{host} is not a public address", sent=False)


#: IPv6 prefixes refused unless allowed: a relay or a site's translator delivers their
#: packets (see AddressGuard), or they are a site's own (site-local, which ``is_global``
#: does not know as such)
_RELAYED = (
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # NAT64, local use (RFC 8215)
    ipaddress.IPv6Network("2002::/16"),  # 6to4 (RFC 3056)
    ipaddress.IPv6Network("2001::/32"),  # Teredo (RFC 4380)
    ipaddress.IPv6Network("fec0::/10"),  # site-local, deprecated (RFC 3879)
)
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated (RFC 4291)
#: IPv6 prefixes whose last 32 bits are the IPv4 address reached
_CARRYING = (
    ipaddress.IPv6Network("::ffff:0:0/96"),  # IPv4-mapped (RFC 4291)
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated, SIIT (RFC 6145)
    _IPV4_COMPATIBLE,
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64, well-known prefix (RFC 6052)
)


def _carried_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address of a carrying prefix leads to, else ``None``.
    ``::`` and ``::1`` are IPv6's own unspecified and loopback addresses, not IPv4's."""
    if ip in _IPV4_COMPATIBLE and int(ip) <= 1:
        return None
    if any(ip in network for network in _CARRYING):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # is_global leaves out loopback, private, link-local, shared (100.64/10), unspecified
    # and reserved ranges; multicast is global in places, and never a buyer
    return ip.is_global and not ip.is_multicast


def is_ip_literal(host: str) -> bool:
    """Whether ``host`` is an IP address (an IPv6 one may carry a ``%zone``)."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True
