"""Keep secrets out of everything shown: URLs lose their query, signatures and tokens are masked."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
SECRET_HEADERS = frozenset({"x-auth-token", "x-security-token", "x-subject-token", "cookie"})
_SIG = re.compile(r"(Signature=)[0-9A-Za-z%+/=_-]+")


def redact_url(url: str) -> str:
    """Drop the query string (a presigned URL's credentials live there) and any userinfo."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = MASK if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Mask token headers and the signature inside ``Authorization``."""
    out: dict[str, str] = {}
    for k, v in headers.items():
        low = k.lower()
        if low in SECRET_HEADERS:
            out[k] = MASK
        elif low == "authorization":
            out[k] = _SIG.sub(r"\1" + MASK, v)
        else:
            out[k] = v
    return out


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of a secret value, and any URL query, in free text."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, MASK)
    text = re.sub(r"(https?://[^\s?\"']+)\?[^\s\"']*", r"\1?" + MASK, text)
    return _SIG.sub(r"\1" + MASK, text)
