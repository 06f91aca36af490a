"""Whether two git URLs name the same repository.

One repository has many spellings: ``git@github.com:o/r.git``, ``https://www.github.com/o/r``,
``ssh://git@ssh.github.com:443/o/r.git`` (GitHub's ssh-over-443 host) and ``https://GitHub.com/O/R``
all reach the same place. Deciding that two spellings differ when they do not would let the
pre-push hook wave a public push through, so the comparison leans towards "the same": user,
port, scheme, ``.git`` suffix, slashes and case are ignored.
"""

from __future__ import annotations

import re

# Hosts that serve the same repositories as another one.
_HOST_ALIASES = {
    "ssh.github.com": "github.com",  # ssh over port 443
    "altssh.gitlab.com": "gitlab.com",  # ssh over port 443
    "altssh.bitbucket.org": "bitbucket.org",
}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.S)
# git's scp-like syntax: [user@]host:path, with no slash before the colon.
_SCP = re.compile(r"^(?:[^@/]*@)?(\[[^\]/]*\]|[^:/]+):(.*)$", re.S)


def _host(authority: str) -> str:
    host = authority.rpartition("@")[2]
    if host.startswith("["):  # [::1]:22
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    else:
        host = host.partition(":")[0]
    host = host.lower().rstrip(".").removeprefix("www.")
    return _HOST_ALIASES.get(host, host)


def _path(path: str) -> str:
    parts = [p for p in path.split("/") if p and p != "."]
    joined = "/".join(parts).lower().removesuffix(".git").rstrip("/")
    return joined.removeprefix("~")  # ssh://host/~user/x and host:~user/x alike


def repository_key(url: str) -> str:
    """A spelling-independent key: ``host/path`` for remote URLs; other text unchanged but for
    case and surrounding slashes (local paths are compared by the caller, resolved)."""
    text = url.strip()
    scheme = _SCHEME.match(text)
    if scheme:
        authority, _, path = scheme.group(2).partition("/")
        if scheme.group(1).lower() == "file":
            return _path(path)  # file:///x/y is the path /x/y
        return f"{_host(authority)}/{_path(path)}"
    scp = _SCP.match(text)
    if scp:
        return f"{_host(scp.group(1))}/{_path(scp.group(2))}"
    return _path(text)


def without_credentials(url: str) -> str:
    """``url`` without its ``user:password@`` part, for anything written down or shown."""
    scheme = _SCHEME.match(url.strip())
    if scheme is None:
        return url  # scp syntax and paths carry no password
    authority, slash, path = scheme.group(2).partition("/")
    return f"{scheme.group(1)}://{authority.rpartition('@')[2]}{slash}{path}"


def same_repository(a: str, b: str) -> bool:
    """Whether two remote URLs name the same repository (see the module's note)."""
    return repository_key(a) == repository_key(b)
