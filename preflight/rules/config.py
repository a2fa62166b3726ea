"""Edition packs (data in the wheel) and user configuration, validated before any work."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from preflight.errors import ConfigError
from preflight.metastudio import EDITIONS
from preflight.model import FAMILIES, Severity
from preflight.rules import Rule, by_name, registry
from preflight.safeio import read_text
from preflight.spec import toml
from preflight.spec.loader import suggest

if TYPE_CHECKING:
    import pathspec

_LEVELS = ("error", "warning", "info", "off")


@dataclass(frozen=True)
class RuleSetting:
    """Severity (None = off) and options of one rule after packs and config are applied."""

    severity: Severity | None
    options: Mapping[str, Any]


@dataclass(frozen=True)
class RuleOverride:
    """What a pack or config file says about one rule."""

    severity: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    """User configuration: `[tool.preflight]` in pyproject.toml or a preflight.toml."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    rules: Mapping[str, RuleOverride] = field(default_factory=dict)
    edition: str | None = None
    path: Path | None = None
    #: .gitignore-style patterns of files a folder check leaves out (relative to the folder).
    exclude: tuple[str, ...] = ()
    #: Rules ignored per file: (.gitignore-style pattern, selectors), patterns relative to the
    #: configuration file's folder.
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: Whether folder checks leave out the files git ignores.
    respect_gitignore: bool = True
    #: Error rules of the REQ family run and report whatever the selections say (a body the
    #: service refuses must stop `package` and `submit`).
    binding: bool = False

    def with_cli(
        self, select: Iterable[str] = (), ignore: Iterable[str] = (), edition: str | None = None
    ) -> Config:
        """Command-line selections replace/extend the file's (validated like the file's)."""
        sel, ign = tuple(select), tuple(ignore)
        for s in (*sel, *ign):
            _check_selector(s, None, "command line")
        if edition is not None:
            _check_edition(edition, None, "--edition")
        return replace(self, select=sel or self.select, ignore=self.ignore + ign,
                       edition=edition or self.edition)

    def binding_body(self) -> Config:
        """This configuration, except that no selection or ignore turns off a REQ error (what
        `package` and `submit` check with)."""
        return replace(self, binding=True)

    def file_ignores(self, path: str | Path) -> tuple[str, ...]:
        """The selectors `per-file-ignores` ignores for the file at `path`."""
        if not self.per_file_ignores:
            return ()
        base = self.path.parent if self.path is not None else Path.cwd()
        try:
            rel = Path(os.path.abspath(path)).relative_to(base.absolute()).as_posix()
        except ValueError:
            return ()
        return tuple(sel for pattern, sels in self.per_file_ignores
                     if _pattern(pattern).match_file(rel) for sel in sels)

    def ignores_req(self) -> bool:
        """Whether a selection or ignore here can hide a REQ error."""
        sels = [*self.ignore, *(s for _, group in self.per_file_ignores for s in group)]
        req = [r for r in registry().values() if binds(r)]
        if self.select and not all(any(_matches(r, s) for s in self.select) for r in req):
            return True
        return ignores_req(sels) or any(
            self.rules.get(r.code, RuleOverride()).severity == "off" for r in req)


def ignores_req(selectors: Iterable[str]) -> bool:
    """Whether these ignore selectors cover a REQ error rule."""
    sels = tuple(selectors)
    return bool(sels) and any(binds(r) and any(_matches(r, s) for s in sels)
                              for r in registry().values())


@lru_cache(maxsize=256)
def _pattern(pattern: str) -> pathspec.GitIgnoreSpec:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines([pattern])


def _resolve_rule(key: str, path: Path | None, where: str) -> Rule:
    reg, names = registry(), by_name()
    if key in reg:
        return reg[key]
    if key in names:
        return names[key]
    raise ConfigError(
        f"unknown rule {key!r} in {where}{suggest(key, [*reg, *names])}", path=path, key=key
    )


def _check_selector(sel: str, path: Path | None, where: str) -> None:
    if sel in FAMILIES or sel == "ALL":
        return
    reg = registry()
    if any(code.startswith(sel) for code in reg) and sel[:3] in FAMILIES:
        return
    _resolve_rule(sel, path, where)


def _check_edition(edition: str, path: Path | None, where: str) -> None:
    if edition not in EDITIONS:
        raise ConfigError(
            f"unknown edition {edition!r} in {where}; expected one of {', '.join(EDITIONS)}"
            f"{suggest(edition, EDITIONS)}", path=path, key="edition",
        )


def _override(rule: Rule, raw: object, path: Path | None, where: str) -> RuleOverride:
    if isinstance(raw, str):
        raw = {"severity": raw}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}.{rule.code} must be a severity string or a table",
                          path=path, key=rule.code)
    for key in raw:
        if key not in ("severity", "options"):
            raise ConfigError(
                f"unknown key {key!r} in {where}.{rule.code}; expected severity or options"
                f"{suggest(key, ['severity', 'options'])}", path=path, key=key,
            )
    sev = raw.get("severity")
    if sev is not None and sev not in _LEVELS:
        raise ConfigError(
            f"{where}.{rule.code}.severity = {sev!r}; expected one of {', '.join(_LEVELS)}",
            path=path, key="severity",
        )
    opts = raw.get("options", {})
    if not isinstance(opts, dict):
        raise ConfigError(f"{where}.{rule.code}.options must be a table", path=path, key="options")
    for name, value in opts.items():
        if name not in rule.options:
            valid = ", ".join(rule.options) or "none"
            raise ConfigError(
                f"unknown option {name!r} for {rule.code} {rule.name} (options: {valid})"
                f"{suggest(name, list(rule.options))}", path=path, key=name,
            )
        if not rule.options[name].accepts(value):
            raise ConfigError(
                f"option {rule.code}.{name} must be {rule.options[name].type_name}, "
                f"got {value!r}", path=path, key=name,
            )
    return RuleOverride(severity=sev, options=MappingProxyType(dict(opts)))


def _rule_table(raw: object, path: Path | None, where: str) -> dict[str, RuleOverride]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table", path=path, key="rules")
    out: dict[str, RuleOverride] = {}
    for key, value in raw.items():
        rule = _resolve_rule(key, path, where)
        out[rule.code] = _override(rule, value, path, where)
    return out


_CONFIG_KEYS = ("select", "ignore", "rules", "edition", "exclude", "per-file-ignores",
                "respect-gitignore")


def _strings(data: Mapping[str, Any], key: str, what: str, path: Path | None) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key} must be a list of {what}", path=path, key=key)
    return tuple(value)


def _check_pattern(pattern: str, path: Path | None, key: str) -> None:
    import pathspec

    if not pattern.strip():
        raise ConfigError(f"{key}: an empty pattern matches nothing", path=path, key=key)
    try:
        pathspec.GitIgnoreSpec.from_lines([pattern])
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{key}: invalid pattern {pattern!r}: {exc}", path=path,
                          key=key) from None


def _per_file_ignores(raw: object, path: Path | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    key = "per-file-ignores"
    if not isinstance(raw, dict):
        raise ConfigError(f"{key} must be a table of pattern = [rule codes, names or families]",
                          path=path, key=key)
    out = []
    for pattern, sels in raw.items():
        _check_pattern(pattern, path, key)
        if not isinstance(sels, list) or not all(isinstance(v, str) for v in sels):
            raise ConfigError(f"{key}.{pattern!r} must be a list of rule codes, names or "
                              "families", path=path, key=key)
        for v in sels:
            _check_selector(v, path, f"{key}.{pattern!r}")
        out.append((pattern, tuple(sels)))
    return tuple(out)


def config_from_dict(data: Mapping[str, Any], path: Path | None = None) -> Config:
    """Validate a `[tool.preflight]` table.

    :raises ConfigError: unknown key, rule, option, severity, edition or invalid pattern.
    """
    for key in data:
        if key not in _CONFIG_KEYS:
            raise ConfigError(f"unknown config key {key!r}{suggest(key, _CONFIG_KEYS)}",
                              path=path, key=key)
    sel: dict[str, tuple[str, ...]] = {}
    for key in ("select", "ignore"):
        sel[key] = _strings(data, key, "rule codes, names or families", path)
        for v in sel[key]:
            _check_selector(v, path, key)
    exclude = _strings(data, "exclude", ".gitignore-style patterns", path)
    for pattern in exclude:
        _check_pattern(pattern, path, "exclude")
    gitignore = data.get("respect-gitignore", True)
    if not isinstance(gitignore, bool):
        raise ConfigError("respect-gitignore must be true or false", path=path,
                          key="respect-gitignore")
    edition = data.get("edition")
    if edition is not None:
        if not isinstance(edition, str):
            raise ConfigError("edition must be a string", path=path, key="edition")
        _check_edition(edition, path, "config")
    return Config(
        select=sel["select"], ignore=sel["ignore"],
        rules=MappingProxyType(_rule_table(data.get("rules", {}), path, "rules")),
        edition=edition, path=path, exclude=exclude,
        per_file_ignores=_per_file_ignores(data.get("per-file-ignores", {}), path),
        respect_gitignore=gitignore,
    )


def _load_toml(path: Path, error: type[ConfigError] = ConfigError,
               part: bool = False) -> dict[str, Any]:
    """A TOML file (only its ``[tool.preflight]`` part when `part`), pre-scanned."""
    try:
        text = read_text(path)
        return toml.loads(toml.tool_part(text) if part else text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"invalid TOML: {exc}", path=path) from None
    except RecursionError:
        raise error("invalid TOML: nested too deeply", path=path) from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}", path=path) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise error(f"cannot read: {exc}", path=path) from None


def load_config(path: str | Path, named: bool = True) -> Config:
    """Read a preflight.toml (top-level keys) or a pyproject.toml (`[tool.preflight]`; only
    that part of one found on the way up, not `named` by the user)."""
    p = Path(path)
    data = _load_toml(p, part=not named and p.name == "pyproject.toml")
    if p.name == "pyproject.toml":
        data = data.get("tool", {}).get("preflight", {})
        if not isinstance(data, dict):
            raise ConfigError("[tool.preflight] must be a table", path=p)
    return config_from_dict(data, p)


def find_config(start: Path) -> Path | None:
    """The nearest preflight.toml, or pyproject.toml with [tool.preflight], at or above `start`."""
    here = start if start.is_dir() else start.parent
    for folder in (here, *here.parents):
        candidate = folder / "preflight.toml"
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                part = toml.tool_part(read_text(pyproject))
            except (OSError, ValueError):
                continue
            try:
                data = toml.loads(part)
            except (ValueError, RecursionError):
                if toml.has_own_table(part):
                    return pyproject  # a broken [tool.preflight]: reported when it is read
                continue
            if "preflight" in data.get("tool", {}):
                return pyproject
    return None


def config_for(config: Config | str | Path | None, near: Path) -> Config:
    """The given configuration (object or file), else the one found at or above `near`, else
    the default."""
    if isinstance(config, Config):
        return config
    if config is not None:
        return load_config(config)
    found = find_config(near)
    return load_config(found, named=False) if found else Config()


# ---- packs ------------------------------------------------------------------------------------

def _packs_dir() -> Path:
    """Where the built-in packs live: inside the wheel, or `rules/` of a source checkout."""
    installed = resources.files("preflight").joinpath("packs")
    if installed.is_dir():
        return Path(str(installed))
    return Path(__file__).resolve().parents[2] / "rules"


def pack_names() -> tuple[str, ...]:
    """The packs that ship with the tool (editions plus their bases)."""
    return tuple(sorted(p.stem for p in _packs_dir().glob("*.toml")))


def load_pack(name: str) -> dict[str, RuleOverride]:
    """A pack's rule table with its `extends` chain applied (base first)."""
    chain: list[dict[str, RuleOverride]] = []
    seen: list[str] = []
    current: str | None = name
    while current is not None:
        if current in seen:
            raise ConfigError(f"pack {name!r} extends itself via {' -> '.join(seen)}")
        seen.append(current)
        path = _packs_dir() / f"{current}.toml"
        if not path.is_file():
            raise ConfigError(f"no built-in pack {current!r}{suggest(current, pack_names())}")
        data = _load_toml(path)
        meta = data.get("pack", {})
        chain.append(_rule_table(data.get("rules", {}), path, "rules"))
        current = meta.get("extends")
    merged: dict[str, RuleOverride] = {}
    for table in reversed(chain):
        for code, ov in table.items():
            prev = merged.get(code, RuleOverride())
            merged[code] = RuleOverride(
                severity=ov.severity if ov.severity is not None else prev.severity,
                options=MappingProxyType({**prev.options, **ov.options}),
            )
    return merged


def _matches(rule: Rule, selector: str) -> bool:
    return selector in ("ALL", rule.name) or rule.code.startswith(selector)


def matches(code: str, selectors: Iterable[str]) -> bool:
    """Whether any selector (code, prefix, name, family or ALL) picks the rule `code`."""
    rule = registry().get(code)
    return rule is not None and any(_matches(rule, s) for s in selectors)


def binds(rule: Rule) -> bool:
    """A rule no ignore turns off when the body is about to be sent: a REQ error (the service
    would refuse the body)."""
    return rule.family == "REQ" and rule.severity is Severity.ERROR


def check_selectors(selectors: Iterable[str], path: Path | str | None, where: str) -> None:
    """Validate rule selectors (codes, names, families, prefixes, ALL).

    :raises ConfigError: an unknown rule, with a suggestion.
    """
    for s in selectors:
        _check_selector(s, Path(path) if path is not None else None, where)


def resolve(edition: str, config: Config) -> dict[str, RuleSetting]:
    """Effective severity and options of every rule for this edition and configuration."""
    _check_edition(edition, None, "edition")
    pack = load_pack(edition)
    out: dict[str, RuleSetting] = {}
    for code, rule in registry().items():
        layers = [pack.get(code, RuleOverride()), config.rules.get(code, RuleOverride())]
        level = rule.severity.value
        options = rule.defaults()
        for layer in layers:
            level = layer.severity or level
            options.update(layer.options)
        enabled = level != "off"
        if config.select and not any(_matches(rule, s) for s in config.select):
            enabled = False
        if any(_matches(rule, s) for s in config.ignore):
            enabled = False
        if config.binding and binds(rule):
            level, enabled = rule.severity.value, True
        out[code] = RuleSetting(
            severity=Severity(level) if enabled else None, options=MappingProxyType(options)
        )
    return out
