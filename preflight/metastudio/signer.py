"""AK/SK request signing, SDK-HMAC-SHA256 (dossier §4.1).

Pure functions over (method, url, headers, body); the result is byte-identical to the official
SDK signer's, including its quirks: every header present is signed except names containing
``_``, the canonical URI always ends with ``/``, query pairs are sorted by raw name then value,
and non-JSON bodies are signed as ``UNSIGNED-PAYLOAD``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
HEADER_DATE = "X-Sdk-Date"
HEADER_CONTENT_SHA = "X-Sdk-Content-Sha256"


def _encode(text: str) -> str:
    # RFC 3986 unreserved characters kept, everything else %XY (space -> %20)
    return quote(text, safe="~")


def canonical_uri(path: str) -> str:
    """Each path segment percent-decoded then re-encoded; always ends with ``/``."""
    out = "/".join(_encode(seg) for seg in unquote(path or "/").split("/"))
    return out if out.endswith("/") else out + "/"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Sorted ``name=value`` pairs (repeats kept), names and values encoded."""
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(pairs))


def query_value(value: object) -> str:
    """How the SDK renders a query value: booleans lower-case, everything else ``str()``."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): str(v).strip() for k, v in headers.items()}


def signed_header_names(headers: Mapping[str, str]) -> list[str]:
    """Every header except names containing ``_``, lower-case, sorted (names that differ only
    in case are listed twice, as the SDK does)."""
    return sorted(k.lower() for k in headers if "_" not in k)


def payload_hash(body: bytes, headers: Mapping[str, str]) -> str:
    """Hex SHA-256 of the body, or the ``X-Sdk-Content-Sha256`` value when present."""
    if not body:
        return EMPTY_SHA256
    for k, v in headers.items():
        if k.lower() == HEADER_CONTENT_SHA.lower() and v:
            return v
    return hashlib.sha256(body).hexdigest()


def canonical_request(method: str, path: str, query: Iterable[tuple[str, str]],
                      headers: Mapping[str, str], body: bytes,
                      signed: list[str] | None = None) -> str:
    """The canonical request text (§4.1 step 2)."""
    names = signed if signed is not None else signed_header_names(headers)
    lower = _lower_headers(headers)
    block = "".join(f"{n}:{lower.get(n, '')}\n" for n in names)
    return "\n".join([method.upper(), canonical_uri(path), canonical_query(query), block,
                      ";".join(names), payload_hash(body, headers)])


def string_to_sign(canonical: str, date: str) -> str:
    """§4.1 step 3."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{date}\n{digest}"


def signature(sk: str, text: str) -> str:
    """Lower-case hex HMAC-SHA256 keyed with the SK bytes directly (§4.1 step 4)."""
    return hmac.new(sk.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Signed:
    """Headers to send (including ``Authorization``) and the canonical query string to send."""

    headers: dict[str, str]
    query: str


def sign(method: str, host: str, path: str, query: Iterable[tuple[str, str]],
         headers: Mapping[str, str], body: bytes, *, ak: str, sk: str,
         now: datetime | None = None) -> Signed:
    """Sign a request the way the SDK does.

    ``headers`` should already hold everything that will be sent (Content-Type, X-Project-Id,
    X-App-UserId, User-Agent ...); ``X-Sdk-Date`` and ``Host`` are added when missing, and
    ``X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`` for non-JSON bodies.
    """
    pairs = list(query)
    out = dict(headers)
    ctype = next((v for k, v in out.items() if k.lower() == "content-type"), "")
    if ctype and not ctype.startswith(("application/json", "application/bson")):
        out[HEADER_CONTENT_SHA] = UNSIGNED_PAYLOAD
    date = next((v for k, v in out.items() if k.lower() == HEADER_DATE.lower()), None)
    if date is None:
        date = (now or datetime.now(UTC)).strftime(DATE_FORMAT)
        out[HEADER_DATE] = date
    if not any(k.lower() == "host" for k in out):
        out["Host"] = host
    names = signed_header_names(out)
    canon = canonical_request(method, path, pairs, out, body, names)
    sig = signature(sk, string_to_sign(canon, date))
    out = {k: str(v).strip() for k, v in out.items()}
    out["Authorization"] = (f"{ALGORITHM} Access={ak}, SignedHeaders={';'.join(names)}, "
                            f"Signature={sig}")
    return Signed(headers=out, query=canonical_query(pairs))


@dataclass(frozen=True)
class ParsedAuthorization:
    """The parts of an ``Authorization: SDK-HMAC-SHA256 ...`` header."""

    access: str
    signed_headers: list[str]
    signature: str


def parse_authorization(value: str) -> ParsedAuthorization | None:
    """Split an Authorization header; None when it is not SDK-HMAC-SHA256."""
    if not value.startswith(ALGORITHM + " "):
        return None
    fields: dict[str, str] = {}
    for item in value[len(ALGORITHM) + 1:].split(","):
        key, sep, val = item.strip().partition("=")
        if sep:
            fields[key] = val
    if not {"Access", "SignedHeaders", "Signature"} <= fields.keys():
        return None
    return ParsedAuthorization(fields["Access"], fields["SignedHeaders"].split(";"),
                               fields["Signature"])


def verify(method: str, path: str, query: Iterable[tuple[str, str]],
           headers: Mapping[str, str], body: bytes, *, sk: str, auth: ParsedAuthorization,
           date: str) -> bool:
    """Recompute the signature of a received request (server side) and compare in constant time."""
    canon = canonical_request(method, path, query, headers, body, auth.signed_headers)
    return hmac.compare_digest(signature(sk, string_to_sign(canon, date)), auth.signature)
