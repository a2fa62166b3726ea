"""Integrations: hook, cache, batch, output formats."""
