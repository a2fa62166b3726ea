"""`preflight cache`: manage the result cache."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("cache")
def cache_group() -> None:
    """Manage the result cache (.preflight_cache)."""


@cache_group.command("clear")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=str),
              help="Cache folder (default: .preflight_cache here).")
def cache_clear(cache_dir: str | None) -> None:
    """Forget every cached result."""
    from preflight.rules.cache import ResultCache, default_dir

    with ResultCache(Path(cache_dir) if cache_dir else default_dir()) as rc:
        n = rc.clear()
    click.echo(f"preflight: removed {n} cached result{'' if n == 1 else 's'} from {rc.directory}")
