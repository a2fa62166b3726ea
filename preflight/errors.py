"""The exception tree. Bad media is a finding; a broken spec, config or tool is an exception.

    PreflightError
    ├── SpecError          the job spec cannot be read or has unknown/mistyped keys
    ├── ConfigError        the configuration or the command line names unknown rules/options
    │   └── TargetNotFound a file or folder given to check does not exist
    ├── ProbeError         a media file cannot be opened or parsed (becomes a finding in checks)
    ├── PackagingError     the upload package cannot be built or verified
    │   └── PackageRefused the check found errors, so nothing was packaged (carries the report)
    ├── HookError          the git hook cannot be installed or removed, or git cannot be asked
    ├── SetupError         a local or usage problem of a submission, found before anything is
    │                      sent (credentials, endpoint, region, X-App-UserId, nothing to look up)
    ├── SubmitBusy         another process is submitting the same job right now (nothing sent)
    └── SubmitError        the service or the network refused the submission
        ├── ServiceError   the service answered with an error body (error_code/error_msg)
        │   └── CommandFailed  a command was answered EXCUTE_FAILED (HTTP 200)
        ├── NetworkError   no answer (``maybe_sent`` says whether the request may have arrived)
        └── UploadRefused  an upload URL refused a PUT (spent, expired or wrong Content-Type)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from preflight.model import Report


class PreflightError(Exception):
    """Root of every error the library raises on purpose."""


class SpecError(PreflightError):
    """The job spec is unreadable or invalid. ``problems`` holds every problem found in one
    pass (this error alone when there is one), each with the ``line``/``column`` of its key when
    known; ``partial`` the spec without the broken parts, when its ``[job]`` body is usable."""

    def __init__(self, message: str, *, path: Path | str | None = None, key: str | None = None,
                 line: int | None = None, column: int | None = None):
        self.path = str(path) if path is not None else None
        self.key = key
        self.message = message
        self.line, self.column = line, column
        self.problems: tuple[SpecError, ...] = (self,)
        self.partial: object = None
        prefix = f"{self.path}{self.where}: " if self.path else ""
        super().__init__(prefix + message)

    @property
    def where(self) -> str:
        """``:line:col`` of the problem's key (empty when unknown)."""
        return f":{self.line}:{self.column}" if self.line is not None else ""

    @classmethod
    def gathered(cls, problems: Sequence[SpecError], partial: object = None) -> SpecError:
        """One error for every problem of a spec (the problem itself when there is one)."""
        if len(problems) == 1:
            one = problems[0]
            one.partial = partial
            return one
        path = problems[0].path
        lines = [f"{len(problems)} problems in the spec:"]
        lines += [f"  {path or ''}{p.where}: {p.message}" for p in problems]
        out = cls("\n".join(lines), path=path)
        out.problems, out.partial = tuple(problems), partial
        return out


class ConfigError(PreflightError):
    """The configuration (file or options) is invalid."""

    def __init__(self, message: str, *, path: Path | str | None = None, key: str | None = None):
        self.path = str(path) if path is not None else None
        self.key = key
        prefix = f"{self.path}: " if self.path else ""
        super().__init__(prefix + message)


class TargetNotFound(ConfigError):
    """A file or folder given to check does not exist; ``path`` names it as given."""

    def __init__(self, path: Path | str):
        super().__init__("no such file or folder", path=path)


class ProbeError(PreflightError):
    """A media file cannot be opened, parsed or decoded."""

    def __init__(self, path: Path | str, detail: str):
        self.path = str(path)
        self.detail = detail
        super().__init__(f"{self.path}: {detail}")


class PackagingError(PreflightError):
    """The upload package cannot be built or verified."""


class PackageRefused(PackagingError):
    """The check found errors, so nothing was packaged. ``report`` holds the findings."""

    def __init__(self, report: Report):
        self.report = report
        s = report.summary()
        super().__init__(
            f"not packaging: the check found {s['errors']} error(s) and {s['warnings']} "
            "warning(s); fix them, or pass --force to package anyway")


class HookError(PreflightError):
    """The hook cannot be installed or removed, or git cannot be asked."""


class SetupError(PreflightError):
    """A submission cannot start: missing credentials, an endpoint without a scheme, an unknown
    region, an invalid X-App-UserId, nothing to look up, a stand-in that no longer runs. Found
    before anything is sent (exit 2 in the CLI)."""


class SubmitBusy(PreflightError):
    """Another process holds the lock of this submission; nothing was sent."""


class SubmitError(PreflightError):
    """The service or network refused the submission."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        request_id: str | None = None,
    ):
        self.status = status
        self.error_code = error_code
        self.request_id = request_id
        parts = [message]
        if status is not None:
            parts.append(f"HTTP {status}")
        if error_code:
            parts.append(f"error_code={error_code}")
        if request_id:
            parts.append(f"request_id={request_id}")
        super().__init__(" | ".join(parts))


class ServiceError(SubmitError):
    """The service answered with an error body (``error_code``/``error_msg``)."""

    def __init__(self, message: str, *, status: int | None = None, error_code: str | None = None,
                 error_msg: str | None = None, request_id: str | None = None):
        self.error_msg = error_msg
        super().__init__(message, status=status, error_code=error_code, request_id=request_id)


class CommandFailed(ServiceError):
    """A command was answered ``commond_result = EXCUTE_FAILED`` (sic) with its reason."""


class NetworkError(SubmitError):
    """No answer. ``maybe_sent`` is False only when the connection was never established."""

    def __init__(self, message: str, *, maybe_sent: bool, cause: str = "network error"):
        self.maybe_sent = maybe_sent
        self.cause = cause
        super().__init__(message)


class UploadRefused(SubmitError):
    """An upload URL refused a PUT with a client error (spent, expired or wrong Content-Type)."""
