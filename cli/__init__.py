"""The `animagent` command."""
