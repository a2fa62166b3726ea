"""Submitting a built package: signed client, resumable uploads to single-use URLs, confirm,
submit, poll. Knows nothing of the checker or of the local stand-in service.

    >>> client = connect(region="cn-north-4")
    >>> result = send(manifest, client, spec_path="avatar.toml", wait=True)

`preflight.submit` (`preflight.workflows.submit`) checks and packages a spec first.
"""
