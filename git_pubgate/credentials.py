"""Credentials written into repository URLs: found, so they can be refused, and never shown.

A password in ``https://user:password@host/x.git`` goes into the argv of every git child (where
``ps`` shows it to every user of the machine), into messages, and, with the configuration
committed, into the public tree. Tokens belong in the environment, where ``github_token_env``
and its siblings name them and ``gitio`` hands them to git without writing them anywhere.

Pure: strings in, strings out.
"""

from __future__ import annotations

import re

# Token shapes that work as the user name alone (https://<token>@github.com/o/r.git): GitHub's
# classic and fine-grained tokens, GitLab's personal, deploy and CI job tokens.
_TOKEN_USER = re.compile(
    r"^(gh[opsur]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|gl(pat|dt|cbt)-[A-Za-z0-9_-]{10,}"
    r"|[0-9a-f]{40})$"
)


def _userinfo(location: str) -> str | None:
    """The ``user[:password]`` part of a URL or scp-style address, if it has one."""
    _, sep, rest = location.partition("://")
    if sep:
        authority = rest.split("/", 1)[0]
        # curl splits at the last '@' of the authority, as this does.
        return authority.rsplit("@", 1)[0] if "@" in authority else None
    # scp syntax, user@host:path: a colon before the '@' can only be a password.
    before_at, at, _ = location.partition("@")
    return before_at if at and "/" not in before_at else None


def has_credentials(location: str) -> bool:
    """Whether ``location`` carries a secret: a password, or a token used as the user name."""
    userinfo = _userinfo(location)
    if userinfo is None:
        return False
    user, colon, _ = userinfo.partition(":")
    return bool(colon) or bool(_TOKEN_USER.match(user))


def redacted(location: str) -> str:
    """``location`` with its user name and password replaced by ``***``, for messages."""
    userinfo = _userinfo(location)
    if userinfo is None:
        return location
    scheme, sep, rest = location.partition("://")
    if sep:
        return f"{scheme}://***{rest[len(userinfo) :]}"
    return f"***{location[len(userinfo) :]}"
