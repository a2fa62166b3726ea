"""The layered layout holds: the import contracts in pyproject.toml (checked by import-linter,
which sees imports inside functions too), no import cycle, only the CLI prints or exits, and the
API vocabulary is stated once."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "preflight"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=120)


def test_import_contracts_are_kept() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_breaking_a_layer_fails_naming_both_modules(tmp_path: Path) -> None:
    """An upward import, even one inside a function, breaks the contract and the message names
    the importer and the imported module."""
    shutil.copytree(PACKAGE, tmp_path / "preflight",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    builder = tmp_path / "preflight" / "packager" / "builder.py"
    builder.write_text(builder.read_text(encoding="utf-8")
                       + "\n\ndef _reach_up() -> None:\n"
                       "    from preflight.rules import engine  # noqa: F401\n",
                       encoding="utf-8")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "preflight.packager.builder -> preflight.rules.engine" in result.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_import_cycle() -> None:
    assert _cycles(grimp.build_graph("preflight")) == []


def test_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "knot"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from knot import b\n")
    (pkg / "b.py").write_text("from knot import c\n")
    (pkg / "c.py").write_text("import knot.a\n")
    sys.path.insert(0, str(tmp_path))
    try:
        assert _cycles(grimp.build_graph("knot")) == [["knot.a", "knot.b", "knot.c"]]
    finally:
        sys.path.remove(str(tmp_path))


def _calls_that_print_or_exit(tree: ast.AST) -> list[tuple[int, str]]:
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name in {"print", "exit", "quit", "sys.exit", "os._exit", "click.echo"}:
                hits.append((node.lineno, name))
        elif (isinstance(node, ast.Raise) and node.exc is not None
              and ast.unparse(node.exc).startswith("SystemExit")):
            hits.append((node.lineno, "raise SystemExit"))
    return hits


def test_only_the_cli_prints_or_exits() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] == "cli":
            continue
        for line, what in _calls_that_print_or_exit(ast.parse(path.read_text("utf-8"))):
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert offenders == []


def test_cli_has_one_module_per_command_and_one_exit_point() -> None:
    cli = PACKAGE / "cli"
    for path in cli.glob("*.py"):
        lines = path.read_text("utf-8").count("\n")
        assert lines <= 250, f"{path.name} has {lines} lines"
    exits = []
    for path in sorted(cli.glob("*.py")):
        for line, what in _calls_that_print_or_exit(ast.parse(path.read_text("utf-8"))):
            if what in {"sys.exit", "os._exit", "exit", "quit", "raise SystemExit"}:
                exits.append(f"{path.name}:{line}")
    # _fail (a library error) and run() (the console script); both pass exit_code()'s value.
    assert len(exits) == 2 and all(e.startswith("__init__.py") for e in exits), exits
    text = (cli / "__init__.py").read_text("utf-8")
    assert text.count("sys.exit(exit_code(") == 1 and "sys.exit(main())" in text


#: Facts of the API vocabulary and a pattern that finds a second statement of each.
VOCABULARY = {
    "ALLOWED_SIZES": r"\(1920,\s*1080\)",
    "download fields": r"[\"']\w+_download_url[\"']",
    "upload fields": r"[\"']\w+_upload_url[\"']",
    "SPEC_SUFFIXES": r"\(\s*[\"']\.toml[\"'],\s*[\"']\.json[\"']\s*\)",
    "EDITIONS": r"[\"']fast-flexus[\"'],\s*[\"']live-copy[\"']",
    "regions": r"[\"']cn-east-3[\"']",
    "final states": r"[\"']JOB_FINISH[\"']",
    "commands": r"[\"']GET_MULTIPART_UPLOADED[\"'],\s*[\"']CONFIRM_MULTIPART_UPLOADED[\"']",
    "video extensions": r"[\"']\.mp4[\"'],\s*[\"']\.mov[\"']",
    "jobs path": r"digital-human-training-manage",
    "slots": r"[\"']id_card_front[\"'],\s*[\"']id_card_back[\"']",
}


@pytest.mark.parametrize("fact", sorted(VOCABULARY))
def test_api_vocabulary_is_stated_once(fact: str) -> None:
    pattern = re.compile(VOCABULARY[fact])
    where = [str(p.relative_to(ROOT)) for p in sorted(PACKAGE.rglob("*.py"))
             if pattern.search(p.read_text("utf-8"))]
    assert where == ["preflight/metastudio/__init__.py"], where


METASTUDIO = PACKAGE / "metastudio" / "__init__.py"


def _top_level_names(tree: ast.Module) -> set[str]:
    """Names a module binds at its top level (assignments, functions, classes)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
    return {n for n in names if not n.startswith("__")}


def _vocabulary_strings() -> set[str]:
    """The literal job states, commands, command messages and command results."""
    import preflight.metastudio as m

    words: set[str] = set(m.COMMANDS) | set(m.COMMAND_MESSAGES) | {m.COMMAND_OK, m.COMMAND_FAILED}
    for name in dir(m):
        value = getattr(m, name)
        if name.endswith("STATES") and isinstance(value, frozenset):
            words |= {v for v in value if isinstance(v, str)}
    return words


def _outside_metastudio() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py"))
            if p.relative_to(PACKAGE).parts[0] != "metastudio"]


def repeated_names(files: list[Path], defined: set[str]) -> list[str]:
    """`path: NAME` for each name of `defined` that a file binds again at its top level."""
    return [f"{p.relative_to(ROOT)}: {name}" for p in files
            for name in sorted(_top_level_names(ast.parse(p.read_text("utf-8"))) & defined)]


def repeated_literals(files: list[Path], words: set[str]) -> list[str]:
    """`path:line: "WORD"` for each string literal of `words` in the files."""
    return [f"{p.relative_to(ROOT)}:{node.lineno}: {node.value!r}" for p in files
            for node in ast.walk(ast.parse(p.read_text("utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value in words]


def test_no_metastudio_name_is_defined_again() -> None:
    defined = _top_level_names(ast.parse(METASTUDIO.read_text("utf-8")))
    assert repeated_names(_outside_metastudio(), defined) == []


def test_no_state_or_command_is_written_outside_metastudio() -> None:
    assert repeated_literals(_outside_metastudio(), _vocabulary_strings()) == []


def test_the_repeat_finders_find_repeats(tmp_path: Path) -> None:
    module = tmp_path / "preflight" / "rules" / "odd.py"
    module.parent.mkdir(parents=True)
    module.write_text('ALLOWED_SIZES = ["1920x1080"]\n\n\ndef f(state):\n'
                      '    return state == "MANUAL_VERIFY_FAILED"\n', encoding="utf-8")
    words = _vocabulary_strings()
    assert "MANUAL_VERIFY_FAILED" in words and "SUBMITVERIFYING" in words
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert repeated_names([module], {"ALLOWED_SIZES", "SLOTS"}) == [
            "preflight/rules/odd.py: ALLOWED_SIZES"]
        assert repeated_literals([module], words) == [
            "preflight/rules/odd.py:5: 'MANUAL_VERIFY_FAILED'"]
    finally:
        ROOT = saved
