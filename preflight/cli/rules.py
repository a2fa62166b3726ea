"""`preflight rules`: the rule catalogue."""

from __future__ import annotations

import click


@click.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
def rules_cmd(fmt: str) -> None:
    """List every rule: code, name, severity and options per edition, summary and source."""
    from preflight.rules.catalog import render_rules

    click.echo(render_rules(fmt), nl=False)
