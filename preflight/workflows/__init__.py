"""The only pipelines: discover → check → package → submit, the contact sheet, batch checks,
the git hook, and fix → re-check. Everything below this layer does one step.

Imported lazily: ``preflight.workflows.check`` is the module, `preflight.check` the function.
"""
