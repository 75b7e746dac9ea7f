"""`python -m cli` runs the animagent command."""

from cli.main import app

app()
