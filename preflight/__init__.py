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
    ConfigError,
    PackagingError,
    PreflightError,
    ProbeError,
    SpecError,
    SubmitError,
)
from preflight.model import Finding, Report, Severity

if TYPE_CHECKING:
    from preflight.api import check
    from preflight.cache import ResultCache
    from preflight.config import Config
    from preflight.package.builder import package
    from preflight.spec import JobSpec, load_spec
    from preflight.submit.api import submit

__all__ = [
    "Config",
    "ConfigError",
    "Finding",
    "JobSpec",
    "PackagingError",
    "PreflightError",
    "ProbeError",
    "Report",
    "ResultCache",
    "Severity",
    "SpecError",
    "SubmitError",
    "__version__",
    "check",
    "load_spec",
    "package",
    "submit",
]

_LAZY = {
    "check": "preflight.api",
    "Config": "preflight.config",
    "JobSpec": "preflight.spec",
    "load_spec": "preflight.spec",
    "package": "preflight.package",
    "ResultCache": "preflight.cache",
    "submit": "preflight.submit",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'preflight' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
