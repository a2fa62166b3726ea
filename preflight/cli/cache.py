"""`preflight cache`: manage the result cache."""

from __future__ import annotations

from pathlib import Path

import click

from preflight.cli._common import Outcome


@click.group("cache")
def cache_group() -> None:
    """Manage the result cache (.preflight_cache)."""


@cache_group.command("clear")
@click.argument("targets", nargs=-1, metavar="[SPEC|FOLDER]...",
                type=click.Path(exists=True, path_type=str))
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=str),
              help="A cache folder given to check --cache-dir (cleared as well).")
def cache_clear(targets: tuple[str, ...], cache_dir: str | None) -> Outcome:
    """Remove the result cache that checks of each SPEC or FOLDER wrote.

    A spec's cache is next to it, a folder's is in it (checks run there, and `preflight
    hook` at the repository top); with nothing given, the one in the current folder.
    A folder that is not a preflight cache is never deleted (exit 2).

    \b
    preflight cache clear
    preflight cache clear shoots/anna/avatar.toml shoots/ben/
    preflight cache clear --cache-dir /tmp/pf-cache
    """
    from preflight.errors import PreflightError
    from preflight.metastudio import SPEC_SUFFIXES
    from preflight.rules.cache import default_dir, dir_for, remove

    for t in targets:
        if not Path(t).is_dir() and Path(t).suffix.lower() not in SPEC_SUFFIXES:
            raise click.BadParameter(
                f"{t} is not a spec or a folder (a media file checked alone uses the cache "
                "of the folder the check ran in)", param_hint="SPEC|FOLDER")
    folders = [dir_for(t) for t in targets]
    if cache_dir:
        folders.append(Path(cache_dir))
    if not folders:
        folders.append(default_dir())
    seen: set[Path] = set()
    refused = False
    for folder in folders:
        if folder.absolute() in seen:
            continue
        seen.add(folder.absolute())
        try:
            n = remove(folder)
        except PreflightError as exc:
            click.echo(f"preflight: error: {exc}", err=True)
            refused = True
            continue
        if n is None:
            click.echo(f"preflight: no result cache at {folder}")
        else:
            click.echo(f"preflight: removed {folder} ({n} cached result{'' if n == 1 else 's'})")
    return Outcome(unchecked=refused)
