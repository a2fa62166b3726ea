"""Packaging: part plans, checksums, audio zip and the manifest.

``preflight.package`` is both this subpackage and the library call
``preflight.package(spec, out_dir, ...)``: the module is callable and forwards to
`preflight.package.builder.package`, so either spelling works whatever was imported first.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from preflight.package.builder import Package


class _CallableModule(types.ModuleType):
    """This module, callable as `preflight.package.builder.package`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Package:
        from preflight.package.builder import package as build

        return build(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
#: ``from preflight import package`` (and the lazy table in ``preflight``) get this module.
package = sys.modules[__name__]
