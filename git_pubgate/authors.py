"""Who a public commit says made it: internal identities mapped to public ones. Pure.

Applied to the author and committer headers and to ``Co-authored-by`` trailers, after
``.mailmap`` when asked. A mapping target may use ``{name}`` and ``{local}`` (the part of the
address before the @). ``fail_on`` names domains that must never be published.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

_IDENTITY = re.compile(rb"^(author|committer) (.*?) <([^<>]*)> (-?\d+ [+-]\d{4})$", re.M)
_CO_AUTHOR = re.compile(rb"^(Co-authored-by:[ \t]*)(.*?) <([^<>]*)>[ \t]*$", re.M | re.I)
_TARGET = re.compile(r"^(?P<name>[^<>]*?)\s*<(?P<email>[^<>]+)>$")

Resolver = Callable[[str, str], tuple[str, str]]


class IdentityError(Exception):
    """An identity would publish an internal domain."""

    def __init__(self, who: str, domain: str):
        super().__init__(who)
        self.who = who
        self.domain = domain


@dataclass(frozen=True)
class People:
    exact: Mapping[str, str] = field(default_factory=dict)  # address -> "Name <email>"
    domains: Mapping[str, str] = field(default_factory=dict)  # domain -> "Name <email>"
    fail_on: tuple[str, ...] = ()
    mailmap: Resolver | None = None

    @classmethod
    def compile(
        cls,
        mapping: Mapping[str, str],
        fail_on: Sequence[str] = (),
        mailmap: Resolver | None = None,
    ) -> People:
        exact = {k.lower(): v for k, v in mapping.items() if not k.startswith("@")}
        domains = {k[1:].lower(): v for k, v in mapping.items() if k.startswith("@")}
        return cls(exact, domains, tuple(d.lower().lstrip("@") for d in fail_on), mailmap)

    @property
    def is_empty(self) -> bool:
        return not (self.exact or self.domains or self.fail_on or self.mailmap)

    def identity(self, name: str, email: str) -> tuple[str, str]:
        """The public (name, email) for an internal one."""
        if self.mailmap is not None:
            name, email = self.mailmap(name, email)
        target = self.exact.get(email.lower())
        if target is None:
            domain = email.rpartition("@")[2].lower()
            target = next(
                (t for d, t in self.domains.items() if domain == d or domain.endswith("." + d)),
                None,
            )
        if target is not None:
            local = email.partition("@")[0]
            match = _TARGET.match(target.format(name=name, local=local))
            if match:
                name, email = match.group("name"), match.group("email")
        domain = email.rpartition("@")[2].lower()
        for banned in self.fail_on:
            if domain == banned or domain.endswith("." + banned):
                raise IdentityError(f"{name} <{email}>", banned)
        return name, email

    def headers(self, headers: bytes) -> bytes:
        """Author and committer lines rewritten; dates and every other byte kept."""
        return _IDENTITY.sub(
            lambda m: self._line(m, prefix=m.group(1) + b" ", tail=b" " + m.group(4)), headers
        )

    def message(self, message: bytes) -> bytes:
        """``Co-authored-by`` trailers rewritten."""
        return _CO_AUTHOR.sub(lambda m: self._line(m, prefix=m.group(1), tail=b""), message)

    def _line(self, m: re.Match[bytes], prefix: bytes, tail: bytes) -> bytes:
        name = m.group(2).decode("utf-8", "surrogateescape")
        email = m.group(3).decode("utf-8", "surrogateescape")
        new_name, new_email = self.identity(name, email)
        if (new_name, new_email) == (name, email):
            return m.group(0)  # untouched: keep the exact bytes
        encoded = f"{new_name} <{new_email}>".encode("utf-8", "surrogateescape")
        return prefix + encoded + tail
