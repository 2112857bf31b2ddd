"""`python -m tracker` runs the CLI."""

from .cli import cli

cli()
