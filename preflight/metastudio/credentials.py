"""Credentials and endpoints (dossier §5): from the environment, never from the command line."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from preflight.errors import SetupError
from preflight.metastudio import REGIONS

ENV_AK = "HUAWEICLOUD_SDK_AK"
ENV_SK = "HUAWEICLOUD_SDK_SK"
ENV_PROJECT_ID = "HUAWEICLOUD_SDK_PROJECT_ID"
ENV_TOKEN = "HUAWEICLOUD_SDK_TOKEN"  # an IAM X-Subject-Token (§5.3)
ENV_SECURITY_TOKEN = "HUAWEICLOUD_SDK_SECURITY_TOKEN"  # temporary AK/SK

@dataclass(frozen=True)
class Credentials:
    """AK/SK (optionally temporary, with a security token) or an IAM token, plus the project id.

    ``repr`` never shows the secret parts.
    """

    project_id: str
    ak: str | None = field(default=None)
    sk: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        """``aksk`` or ``token``."""
        return "aksk" if self.ak and self.sk else "token"

    def secrets(self) -> list[str]:
        """Values that must never be shown."""
        return [s for s in (self.sk, self.token, self.security_token) if s]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *,
                 project_id: str | None = None) -> Credentials:
        """Read ``HUAWEICLOUD_SDK_AK``/``_SK``/``_PROJECT_ID`` or ``HUAWEICLOUD_SDK_TOKEN``.

        :raises SetupError: nothing usable is set.
        """
        e = os.environ if env is None else env
        pid = project_id or e.get(ENV_PROJECT_ID, "").strip()
        ak, sk = e.get(ENV_AK, "").strip(), e.get(ENV_SK, "").strip()
        token = e.get(ENV_TOKEN, "").strip()
        if bool(ak) != bool(sk):
            missing = ENV_SK if ak else ENV_AK
            raise SetupError(f"{missing} is not set (AK/SK authentication needs both)")
        if not (ak and sk) and not token:
            raise SetupError(f"no credentials: set {ENV_AK} and {ENV_SK} (or {ENV_TOKEN}) "
                              "in the environment; they are never read from the command line")
        if not pid:
            raise SetupError(f"no project id: set {ENV_PROJECT_ID} (console: My Credentials → "
                              "API Credentials, docs/constraints.md §5.2)")
        if ak and sk:
            return cls(project_id=pid, ak=ak, sk=sk,
                       security_token=e.get(ENV_SECURITY_TOKEN, "").strip() or None)
        return cls(project_id=pid, token=token)


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_endpoint(region: str | None = None, endpoint: str | None = None, *,
                     insecure_http: bool = False) -> str:
    """The base URL (scheme://host[:port]) from ``--region`` or ``--endpoint``.

    Requests are signed with the SK: plain ``http://`` is allowed only to this machine (the
    stand-in service) unless `insecure_http`; credentials in the URL (``user:pass@``) are
    refused, since they would replace the signature and show up in logs.

    :raises SetupError: unknown region, both or neither given, a malformed URL, credentials
        in it, or plain http to another host.
    """
    if region and endpoint:
        raise SetupError("give either a region or an endpoint, not both")
    if endpoint:
        if any(ord(c) < 33 or c == "\x7f" for c in endpoint):
            raise SetupError("the endpoint URL contains spaces or control characters")
        if "://" not in endpoint:
            raise SetupError(f"endpoint {endpoint!r} has no scheme: write https://{endpoint} "
                             f"(or http://{endpoint} for a local stand-in)")
        parts = urlsplit(endpoint)
        if "@" in parts.netloc:
            raise SetupError("the endpoint URL contains credentials (user:password@); "
                             "credentials come only from the environment")
        try:
            host, _port = parts.hostname, parts.port
        except ValueError as exc:
            raise SetupError(f"the endpoint URL is malformed: {exc}") from None
        if parts.scheme not in ("http", "https") or not host:
            raise SetupError(f"endpoint {endpoint!r} is not an http(s) URL with a host")
        if parts.scheme == "http" and not is_loopback(host) and not insecure_http:
            raise SetupError(f"refusing plain http:// to {host}: signed requests and upload "
                             "URLs would travel unencrypted; use https://, or pass "
                             "--insecure-http if you really mean it")
        return f"{parts.scheme}://{parts.netloc}"
    if region:
        host = REGIONS.get(region)
        if host is None:
            raise SetupError(f"unknown region {region!r}; expected one of {', '.join(REGIONS)}")
        return f"https://{host}"
    raise SetupError("no endpoint: give --region (" + "|".join(REGIONS) + ") or --endpoint URL")
