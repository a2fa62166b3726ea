"""The public API is small, typed and pinned: a change to it is a deliberate change here."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import preflight

EXPECTED = [
    "Config", "ConfigError", "Finding", "JobSpec", "PackagingError", "PreflightError",
    "ProbeError", "Report", "ResultCache", "Severity", "SpecError", "SubmitError",
    "__version__", "check", "load_spec", "package", "submit",
]


def test_all_is_pinned() -> None:
    assert sorted(preflight.__all__) == sorted(EXPECTED)


def test_every_name_resolves_and_calls_are_documented() -> None:
    for name in preflight.__all__:
        value = getattr(preflight, name)
        assert value is not None, name
        if name != "__version__":
            assert inspect.getdoc(value), f"{name} has no docstring"
    for name in ("check", "load_spec", "package", "submit"):
        assert callable(getattr(preflight, name)), name


def test_one_exception_tree() -> None:
    for name in ("ConfigError", "PackagingError", "ProbeError", "SpecError", "SubmitError"):
        assert issubclass(getattr(preflight, name), preflight.PreflightError)


def test_check_is_fully_annotated() -> None:
    sig = inspect.signature(preflight.check)
    assert sig.return_annotation in ("Report", preflight.Report)
    assert all(p.annotation is not inspect.Parameter.empty for p in sig.parameters.values())


def test_package_is_typed() -> None:
    assert (Path(preflight.__file__).parent / "py.typed").is_file()


def test_import_is_cheap_and_does_no_work() -> None:
    code = ("import sys, preflight; "
            "print(sorted(m for m in ('av', 'numpy', 'PIL', 'httpx', 'click', 'preflight.api') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
