"""Submitting: signed client, resumable uploads to single-use URLs, confirm, submit, poll.

    >>> result = preflight.submit("avatar.toml", region="cn-north-4", wait=True)
    >>> result.job_id, result.state

``preflight.submit`` is both this subpackage and the library call: the module is callable and
forwards to `preflight.submit.api.submit`, whatever was imported first.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from preflight.submit.api import JobStatus, status, submit
    from preflight.submit.credentials import Credentials
    from preflight.submit.flow import DryRun, SubmitResult
    from preflight.submit.progress import ProgressEvent

__all__ = ["Credentials", "DryRun", "JobStatus", "ProgressEvent", "SubmitResult", "status",
           "submit"]

_LAZY = {
    "submit": "preflight.submit.api",
    "status": "preflight.submit.api",
    "JobStatus": "preflight.submit.api",
    "Credentials": "preflight.submit.credentials",
    "DryRun": "preflight.submit.flow",
    "SubmitResult": "preflight.submit.flow",
    "ProgressEvent": "preflight.submit.progress",
}


def __getattr__(name: str) -> Any:
    import importlib

    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'preflight.submit' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


class _CallableModule(types.ModuleType):
    """This module, callable as `preflight.submit.api.submit`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from preflight.submit.api import submit as run

        return run(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
