"""`preflight rules [PATTERN...]`: the rule catalogue, whole or filtered."""

from __future__ import annotations

import click


@click.command("rules")
@click.argument("patterns", nargs=-1, metavar="[FAMILY|CODE|NAME]...")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
def rules_cmd(patterns: tuple[str, ...], fmt: str) -> None:
    """List the rules: code, name, severity and options per edition, summary and the
    documented facts each relies on (docs/constraints.md).

    Name families (PRS), code prefixes (VID00), codes or rule names to list only those, e.g.
    `preflight rules PRS GRN001 --format json`. A pattern that matches no rule exits 2.
    """
    from preflight.rules.catalog import render_rules

    click.echo(render_rules(fmt, patterns), nl=False)
