"""Packaging: part plans, checksums, audio zip and the manifest."""
