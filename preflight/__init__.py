"""metastudio-preflight: check, package and submit MetaStudio avatar-training jobs.

    >>> import preflight
    >>> report = preflight.check("avatar.toml")
    >>> [f.code for f in report.errors]

Heavy modules load on first use; importing the package does no work.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from preflight._version import __version__
from preflight.errors import (
    CommandFailed,
    ConfigError,
    HookError,
    NetworkError,
    PackageRefused,
    PackagingError,
    PreflightError,
    ProbeError,
    ServiceError,
    SetupError,
    SpecError,
    SubmitBusy,
    SubmitError,
    TargetNotFound,
    UploadRefused,
)
from preflight.model import Finding, Report, Severity

if TYPE_CHECKING:
    from preflight.rules.cache import ResultCache
    from preflight.rules.config import Config
    from preflight.spec import JobSpec, load_spec
    from preflight.submitter.session import status
    from preflight.workflows.check import check
    from preflight.workflows.pipeline import package, submit

__all__ = [
    "CommandFailed",
    "Config",
    "ConfigError",
    "Finding",
    "HookError",
    "JobSpec",
    "NetworkError",
    "PackageRefused",
    "PackagingError",
    "PreflightError",
    "ProbeError",
    "Report",
    "ResultCache",
    "ServiceError",
    "SetupError",
    "Severity",
    "SpecError",
    "SubmitBusy",
    "SubmitError",
    "TargetNotFound",
    "UploadRefused",
    "__version__",
    "check",
    "load_spec",
    "package",
    "status",
    "submit",
]

#: The one lazy-attribute table: public name -> module that defines it (loaded on first use).
_LAZY = {
    "check": "preflight.workflows.check",
    "Config": "preflight.rules.config",
    "JobSpec": "preflight.spec",
    "load_spec": "preflight.spec",
    "package": "preflight.workflows.pipeline",
    "ResultCache": "preflight.rules.cache",
    "status": "preflight.submitter.session",
    "submit": "preflight.workflows.pipeline",
    # subpackages reachable as attributes without importing them first
    "sandbox": "preflight.sandbox",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'preflight' has no attribute {name!r}")
    loaded = importlib.import_module(module)
    value = loaded if module == f"preflight.{name}" else getattr(loaded, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
