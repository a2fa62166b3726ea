"""`preflight schema`: the JSON Schema of the job spec, for editors."""

from __future__ import annotations

import json

import click


@click.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema (draft 2020-12) of avatar.toml for editors: save it next to the
    spec and start the spec with a `#:schema` line (taplo, VS Code's Even Better TOML).

    \b
    preflight schema > avatar.schema.json
    #:schema ./avatar.schema.json        (first line of avatar.toml)
    """
    from preflight.spec.json_schema import spec_schema

    click.echo(json.dumps(spec_schema(), indent=2, ensure_ascii=False))
