"""Packaging: part plans, checksums, audio zip and the manifest of a checked job.

The library call that checks first and then packages is `preflight.package`
(`preflight.workflows.package`); this package never runs the checker.
"""
