"""`preflight rule CODE`: one rule in full, like ``ruff rule``."""

from __future__ import annotations

import click


@click.command("rule")
@click.argument("rule")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def rule_cmd(rule: str, fmt: str) -> None:
    """Explain one rule (code like VID006 or name like video-resolution): why it exists, what
    it judges, severity and options per edition, its source and a failing and passing case."""
    from preflight.rules.catalog import render_rule

    click.echo(render_rule(rule, fmt), nl=False)
