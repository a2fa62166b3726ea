"""`preflight init [FOLDER]`: draft a commented avatar.toml from the media in a folder."""

from __future__ import annotations

import click

from preflight import shell
from preflight.cli._common import Outcome


@click.command("init")
@click.argument("folder", default=".", type=click.Path(file_okay=False, path_type=str))
@click.option("--force", is_flag=True,
              help="Replace an existing avatar.toml (written to a temporary file, then renamed).")
@click.option("--print", "show", is_flag=True, help="Print the spec instead of writing it.")
@click.option("--no-faces", is_flag=True,
              help="Do not look for faces (faster; ID card sides are then told apart by name).")
def init_cmd(folder: str, force: bool, show: bool, no_faces: bool) -> Outcome:
    """Write a commented avatar.toml in FOLDER (default: here) from the media it holds.

    Each file is judged by its content: the training video is the video that shows a face
    most often (with the face extra) and whose length fits the edition; ID card sides are
    card-shaped images, the front the one with a face; the grant letter is a PDF; audio files
    are the voice recording. An existing avatar.toml is never replaced without --force.

    \b
    preflight init shoot-0412/
    preflight check shoot-0412/avatar.toml
    """
    from preflight.workflows.init import draft_spec, write_spec

    draft = draft_spec(folder, faces=not no_faces)
    if show:
        click.echo(draft.text, nl=False)
        return Outcome()
    path = write_spec(draft, force=force)
    click.echo(f"wrote {path}:")
    for slot, files in draft.slots.items():
        for p in files:
            click.echo(f"  {slot:<16} {p.relative_to(draft.folder).as_posix()}")
    for p, reason in draft.unused:
        click.echo(f"  (not used)       {p.relative_to(draft.folder).as_posix()}: {reason}")
    click.echo("next: " + shell.join(["preflight", "check", shell.path_arg(str(path))]))
    return Outcome()
