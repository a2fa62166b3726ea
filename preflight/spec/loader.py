"""Read an `avatar.toml` (or JSON) job spec into a `JobSpec`."""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from preflight.errors import SpecError
from preflight.metastudio import MULTI_FILE_SLOTS, SLOTS
from preflight.safeio import read_capped
from preflight.spec import toml
from preflight.spec.positions import Key, Positions, json_positions, locate, toml_positions
from preflight.spec.schema import ACCOUNT_FIELDS, SECTIONS, SPEC_KEYS, json_type, matches_type


@dataclass(frozen=True)
class Account:
    """Who submits: NA-whitelisted accounts are exempt from ID documents (dossier §1.3 R10)."""

    na_whitelisted: bool = False
    app_user_id: str | None = None


@dataclass(frozen=True)
class JobSpec:
    """One training job: the API body as written, local media per slot, and the account."""

    job: Mapping[str, Any]
    media: Mapping[str, tuple[Path, ...]] = field(default_factory=lambda: MappingProxyType({}))
    account: Account = Account()
    path: Path | None = None
    #: How reports name the spec and each media file (see `shown_path`), by absolute path.
    shown: Mapping[Path, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Where each key is written in the spec file: (line, column) by key path.
    positions: Positions = field(default_factory=lambda: MappingProxyType({}))
    #: Rules (codes, names, families) whose findings are known and accepted for this job.
    ignore: tuple[str, ...] = ()

    @property
    def base_dir(self) -> Path:
        """Folder that relative media paths are resolved against."""
        return self.path.parent if self.path else Path.cwd()

    def display(self, path: Path) -> str:
        """How reports name `path`: as the user typed it (see `shown_path`)."""
        return self.shown.get(path, str(path))

    @property
    def label(self) -> str | None:
        """How reports name the spec file, or None for a spec built in memory."""
        return self.display(self.path) if self.path else None

    def position(self, key: Key) -> tuple[int, int] | None:
        """(line, column) of `key` in the spec file, else of its table, else None."""
        return locate(self.positions, key)

    def files(self) -> list[tuple[str, Path]]:
        """Every (slot, path) pair in slot order."""
        return [(slot, p) for slot in SLOTS for p in self.media.get(slot, ())]


#: Only names up to this length get a spelling suggestion (difflib is quadratic in length).
SUGGEST_MAX_CHARS = 64
#: Deepest nesting of tables/arrays accepted in a spec or body (a real one has 3 levels).
MAX_DEPTH = 32
#: Longest media path accepted (Linux PATH_MAX) and longest single name (NAME_MAX).
MAX_PATH_CHARS, MAX_NAME_BYTES = 4096, 255


def suggest(key: str, valid: Sequence[str]) -> str:
    """A ``; did you mean 'x'?`` suffix for a mistyped key, or an empty string.

    Only for short keys: a long value is not a typo, and comparing it would cost time.
    """
    if not isinstance(key, str) or len(key) > SUGGEST_MAX_CHARS:
        return ""
    close = difflib.get_close_matches(key, [v for v in valid if len(v) <= SUGGEST_MAX_CHARS],
                                      n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_depth(value: object, *, path: Path | None = None, where: str = "the spec",
                limit: int = MAX_DEPTH) -> None:
    """Refuse nesting deeper than `limit` and strings that cannot be encoded (lone
    surrogates such as ``"\\ud800"``), without recursion.

    :raises SpecError: too deep, or a string that is not valid Unicode text.
    """
    stack: list[tuple[object, int, str]] = [(value, 0, "")]
    while stack:
        item, depth, key = stack.pop()
        if depth > limit:
            raise SpecError(f"{where} is nested more than {limit} levels deep", path=path,
                            key=key or None)
        label = key if where == "the spec" and key else f"{where} {key}".strip()
        if isinstance(item, str):
            _text(item, path, label)
        elif isinstance(item, dict):
            for k, v in item.items():
                _text(str(k), path, label)
                stack.append((v, depth + 1, f"{key}.{k}" if key else str(k)))
        elif isinstance(item, list):
            stack.extend((v, depth + 1, key) for v in item)


def _text(value: str, path: Path | None, key: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SpecError(f"{_short(key)} holds {value[exc.start]!r} at character {exc.start}, "
                        "which is not valid Unicode text", path=path, key=key) from None


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _read(path: Path) -> tuple[dict[str, Any], str]:
    if not path.exists():
        raise SpecError("spec file not found", path=path)
    if path.is_dir():
        raise SpecError("is a directory, not a spec file", path=path)
    try:
        raw = read_capped(path)
    except OSError as exc:
        raise SpecError(f"cannot read spec: {exc.strerror or exc}", path=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"spec is not UTF-8 text (byte {exc.start})", path=path) from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(
                f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", path=path
            ) from None
        except RecursionError:
            raise SpecError(f"invalid JSON: nested more than {MAX_DEPTH} levels deep",
                            path=path) from None
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            raise SpecError(f"invalid JSON: {exc}", path=path) from None
    else:
        try:
            data = toml.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"invalid TOML: {exc}{_escape_hint(str(exc))}", path=path) from None
        except RecursionError:
            raise SpecError(f"invalid TOML: nested more than {MAX_DEPTH} levels deep",
                            path=path) from None
        except ValueError as exc:
            raise SpecError(f"invalid TOML: {exc}", path=path) from None
    if not isinstance(data, dict):
        raise SpecError("the spec must be a table/object at the top level", path=path)
    return data, text


#: Control characters a backslash escape in a TOML basic string makes of a Windows path
#: (``"C:\footage\take.mp4"`` holds a form feed and a tab).
_ESCAPED = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_WINDOWS_HINT = ("in a TOML \"double-quoted\" string a backslash starts an escape: write a "
                 "Windows path with forward slashes (\"C:/footage/take.mp4\") or in single "
                 "quotes ('C:\\footage\\take.mp4')")


def _escape_hint(message: str) -> str:
    """The Windows-path hint for a TOML error about a backslash escape, else ''."""
    if "escape" in message.lower() or "\\'" in message or "hex value" in message.lower():
        return f"; {_WINDOWS_HINT}"
    return ""


def escaped_path(value: str, base: Path) -> str | None:
    """Why `value` looks like a Windows path mangled by TOML escapes (it holds a control
    character such as a form feed or a tab, and no such file exists), else None."""
    found = [c for c in value if c in _ESCAPED]
    if not found:
        return None
    try:
        if (base / value).exists():
            return None
    except (OSError, ValueError):
        pass
    shown = value
    for c, esc in _ESCAPED.items():
        shown = shown.replace(c, esc)
    return (f"the path \"{_short(shown)}\" holds the control character {_ESCAPED[found[0]]}; "
            f"{_WINDOWS_HINT}")


def shown_path(typed: str | os.PathLike[str], spec: str | None = None) -> str:
    """How reports name a path: as the user would type it in the current directory.

    A path typed relative stays relative (normalised: ``./a/../b.mp4`` is ``b.mp4``), one typed
    absolute stays absolute. A media path relative to the spec `spec` (itself as shown) joins
    the spec's folder; when that makes it absolute, it is shown relative to the current
    directory if it lies inside it.
    """
    text = os.path.normpath(os.fspath(typed))
    if spec is None or os.path.isabs(text):
        return text
    joined = os.path.normpath(os.path.join(os.path.dirname(spec), text))
    if not os.path.isabs(joined):
        return joined
    try:
        return str(Path(joined).relative_to(Path.cwd()))
    except ValueError:
        return joined


def _media(raw: object, path: Path | None, base: Path, shown: dict[Path, str] | None = None,
           problems: list[SpecError] | None = None) -> dict[str, tuple[Path, ...]]:
    """The media table; each problem goes to `problems` (raised at once when None)."""
    report = _collector(problems)
    if not isinstance(raw, dict):
        report(SpecError(f"[media] must be a table, not {json_type(raw)}", path=path,
                         key="media"))
        return {}
    out: dict[str, tuple[Path, ...]] = {}
    for key, value in raw.items():
        if key not in SLOTS:
            report(SpecError(f"unknown key media.{key}{suggest(key, list(SLOTS))}", path=path,
                             key=f"media.{key}"))
            continue
        multi = key in MULTI_FILE_SLOTS and isinstance(value, list)
        values: list[object] = list(value) if multi else [value]
        expected = "string or array of string" if key in MULTI_FILE_SLOTS else "string"
        bad = False
        for v in values:
            if not isinstance(v, str) or not v.strip():
                report(SpecError(
                    f"media.{key} must be a {expected} (a file path), got {json_type(v)}",
                    path=path, key=f"media.{key}"))
                bad = True
                break
            problem = path_problem(v) or escaped_path(v, base) or device_problem(v, base)
            if problem:
                report(SpecError(f"media.{key}: {problem}", path=path, key=f"media.{key}"))
                bad = True
                break
        if bad:
            continue
        out[key] = tuple(Path(os.path.normpath(base / str(v))) for v in values)
        if shown is not None:
            label = shown.get(path) if path is not None else None
            for v, p in zip(values, out[key], strict=True):
                shown.setdefault(p, shown_path(str(v), label))
    return out


def path_problem(value: str) -> str | None:
    """Why `value` cannot name a file on this system (NUL, not encodable, too long), or None."""
    if "\0" in value:
        return f"the path {_short(value)!r} contains a NUL character"
    try:
        raw = os.fsencode(value)
    except UnicodeEncodeError as exc:
        return (f"the path {_short(value)!r} holds {value[exc.start]!r}, which cannot be "
                "part of a file name")
    if len(value) > MAX_PATH_CHARS:
        return f"the path is {len(value)} characters long (over {MAX_PATH_CHARS})"
    longest = max((len(part) for part in raw.split(b"/")), default=0)
    if longest > MAX_NAME_BYTES:
        return f"the path {_short(value)!r} has a name over {MAX_NAME_BYTES} bytes"
    return None


def _collector(problems: list[SpecError] | None) -> Callable[[SpecError], None]:
    """Where a problem goes: into `problems`, or raised when there is no list."""
    def report(exc: SpecError) -> None:
        if problems is None:
            raise exc
        problems.append(exc)

    return report


#: Folders of the running system, not media: a spec path is never followed into them.
SYSTEM_FOLDERS = ("/proc", "/sys", "/dev")
#: Windows device names (any extension, any case): ``NUL``, ``CON``, ``COM1``...
_DEVICE = re.compile(r"(?i)^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)"
                     r"(\.[^.]*)*[ .]*$")


def device_problem(value: str, base: Path) -> str | None:
    """Why the path `value` (relative to `base`) leads into a system folder (/proc, /sys,
    /dev, links followed) or names a Windows device (NUL, CON, COM1, \\\\.\\...), else None."""
    if value.startswith(("\\\\.\\", "\\\\?\\", "//./", "//?/")):
        return f"the path {_short(value)!r} names a Windows device, not a media file"
    for part in re.split(r"[\\/]", value):
        if part and _DEVICE.match(part):
            return (f"the path {_short(value)!r} names the Windows device {part.split('.')[0]!r},"
                    " not a media file; rename the file")
    full = base / value
    for candidate in (os.path.normpath(full), os.path.realpath(full)):
        for folder in SYSTEM_FOLDERS:
            if candidate == folder or candidate.startswith(folder + "/"):
                return (f"the path {_short(value)!r} leads into {folder}, a system folder "
                        "(not a regular file)")
    return None


def outside(spec: JobSpec) -> list[tuple[str, Path]]:
    """(slot, path) of every media file outside the spec's folder (allowed: media often live
    elsewhere, but worth a look before they are uploaded)."""
    if spec.path is None:
        return []
    home = os.path.realpath(spec.base_dir)
    out = []
    for slot, p in spec.files():
        real = os.path.realpath(p)
        if real != home and not real.startswith(home.rstrip(os.sep) + os.sep):
            out.append((slot, p))
    return out


def outside_warnings(spec: JobSpec, label: str | None) -> list[str]:
    """One warning per media path of `spec` outside its folder, the spec named as `label`
    (what `check`, `package` and `submit` print before reading and uploading such a file)."""
    return [f"warning: {label}: media.{slot} = {spec.display(path)} is outside the spec's "
            "folder (it is checked and uploaded: make sure it is the file you mean)"
            for slot, path in outside(spec)]


def _account(raw: object, path: Path | None,
             problems: list[SpecError] | None = None) -> Account:
    report = _collector(problems)
    if not isinstance(raw, dict):
        report(SpecError(f"[account] must be a table, not {json_type(raw)}", path=path,
                         key="account"))
        return Account()
    good: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in ACCOUNT_FIELDS:
            report(SpecError(f"unknown key account.{key}{suggest(key, list(ACCOUNT_FIELDS))}",
                             path=path, key=f"account.{key}"))
            continue
        expected = ACCOUNT_FIELDS[key]
        if not matches_type(value, expected):
            report(SpecError(f"account.{key} must be a {expected}, got {json_type(value)}",
                             path=path, key=f"account.{key}"))
            continue
        good[key] = value
    return Account(
        na_whitelisted=bool(good.get("na_whitelisted", False)),
        app_user_id=good.get("app_user_id"),
    )


def spec_from_dict(data: Mapping[str, Any], *, path: Path | None = None,
                   shown: str | None = None, positions: Positions | None = None) -> JobSpec:
    """Validate the structure of a parsed spec. Body fields are judged later by REQ rules.

    `shown` is how reports name the spec file (default: `path` as given); `positions` where
    its keys are written (see `preflight.spec.positions`).

    :raises SpecError: every structural problem found (see `SpecError.problems`), with the
        spec without its broken parts as `SpecError.partial` when the ``[job]`` table is usable.
    """
    problems: list[SpecError] = []
    for key in data:
        if key not in SECTIONS and key not in SPEC_KEYS:
            problems.append(SpecError(
                f"unknown section [{key}]{suggest(key, [*SECTIONS, *SPEC_KEYS])}", path=path,
                key=key))
    check_depth(data, path=path)
    ignore = data.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(v, str) for v in ignore):
        problems.append(SpecError("ignore must be a list of rule codes, names or families, "
                                  'e.g. ignore = ["GRN003"]', path=path, key="ignore"))
        ignore = []
    job = data.get("job", {})
    if not isinstance(job, dict):
        raise SpecError(f"[job] must be a table, not {json_type(job)}", path=path, key="job")
    base = path.parent if path else Path.cwd()
    names: dict[Path, str] = {}
    if path is not None:
        names[path] = shown if shown is not None else str(path)
    spec = JobSpec(
        job=MappingProxyType(dict(job)),
        media=MappingProxyType(_media(data.get("media", {}), path, base, names, problems)),
        account=_account(data.get("account", {}), path, problems),
        path=path,
        shown=MappingProxyType(names),
        positions=MappingProxyType(dict(positions or {})),
        ignore=tuple(ignore),
    )
    if problems:
        raise SpecError.gathered(problems, spec)
    return spec


def load_spec(path: str | Path) -> JobSpec:
    """Read and structurally validate a spec file.

    :raises SpecError: unreadable file, invalid TOML/JSON, unknown section or key, wrong type
        (every structural problem at once, each with its line and column).
    """
    shown = shown_path(path)
    p = Path(path).absolute()
    scan = json_positions if p.suffix.lower() == ".json" else toml_positions
    text = ""
    try:
        data, text = _read(p)
        spec = spec_from_dict(data, path=p, shown=shown)
    except SpecError as exc:
        positions: Positions = {}
        if text and any(e.key for e in exc.problems):
            try:
                positions = scan(text)
            except RecursionError:  # nested too deeply: the problem says so, without a place
                positions = {}
        raise _as_shown(exc, p, shown, positions) from None
    return replace(spec, positions=MappingProxyType(dict(scan(text))))


def _as_shown(exc: SpecError, path: Path, shown: str, positions: Positions) -> SpecError:
    """The error naming the spec as typed, each problem with the position of its key."""
    def one(e: SpecError) -> SpecError:
        pos = locate(positions, tuple(e.key.split("."))) if e.key else None
        if e.path != str(path) and pos is None:
            return e
        out = SpecError(e.message, path=shown if e.path == str(path) else e.path, key=e.key,
                        line=pos[0] if pos else None, column=pos[1] if pos else None)
        return out

    partial = exc.partial
    if isinstance(partial, JobSpec):
        partial = replace(partial, positions=MappingProxyType(dict(positions)))
    problems = sorted((one(e) for e in exc.problems), key=lambda e: (e.line or 0, e.column or 0))
    return SpecError.gathered(problems, partial)
