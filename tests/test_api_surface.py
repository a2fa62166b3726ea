"""The public API is small, typed and pinned: a change to it is a deliberate change here."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import preflight

EXPECTED = [
    "CommandFailed", "Config", "ConfigError", "Finding", "HookError", "JobSpec", "NetworkError",
    "PackageRefused", "SetupError",
    "PackagingError", "PreflightError", "ProbeError", "Report", "ResultCache", "ServiceError",
    "Severity", "SpecError", "SubmitBusy", "SubmitError", "TargetNotFound", "UploadRefused",
    "__version__", "check", "load_spec",
    "package", "status", "submit",
]


def test_all_is_pinned() -> None:
    assert sorted(preflight.__all__) == sorted(EXPECTED)


def test_every_name_resolves_and_calls_are_documented() -> None:
    for name in preflight.__all__:
        value = getattr(preflight, name)
        assert value is not None, name
        if name != "__version__":
            assert inspect.getdoc(value), f"{name} has no docstring"
    for name in ("check", "load_spec", "package", "status", "submit"):
        assert callable(getattr(preflight, name)), name


def test_one_exception_tree() -> None:
    """Every exception the library defines lives in preflight.errors, under PreflightError,
    and is exported. A module-private one (leading underscore, caught where it is raised, like
    the stand-in's error answers) never reaches a caller and may live beside its code."""
    import ast

    import preflight.errors

    root = Path(preflight.__file__).parent
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.ClassDef) and path.name != "errors.py"
                    and not node.name.startswith("_")):
                bases = {ast.unparse(b) for b in node.bases}
                assert not any(b.endswith(("Error", "Exception", "Refused")) for b in bases), (
                    f"{path.relative_to(root)}: exception {node.name} outside preflight.errors")
    for name, value in vars(preflight.errors).items():
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, preflight.PreflightError), name
            assert name in preflight.__all__, name


def test_check_is_fully_annotated() -> None:
    sig = inspect.signature(preflight.check)
    assert sig.return_annotation in ("Report", preflight.Report)
    assert all(p.annotation is not inspect.Parameter.empty for p in sig.parameters.values())


def test_package_is_typed() -> None:
    assert (Path(preflight.__file__).parent / "py.typed").is_file()


def test_import_is_cheap_and_does_no_work() -> None:
    code = ("import sys, preflight; "
            "print(sorted(m for m in ('av', 'numpy', 'PIL', 'httpx', 'click', "
            "'preflight.workflows.check') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
