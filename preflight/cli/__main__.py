"""``python -m preflight.cli``: the same as the ``preflight`` command."""

from preflight.cli import run

run()
