"""Media inspection: thin typed wrappers over pymediainfo (probe), PyAV (frames, audio) and
Pillow (images). Heavy libraries are imported inside functions so that importing this package
stays cheap; every failure to read a file is raised as `ProbeError`.
"""


def reason(exc: BaseException) -> str:
    """A short reason from an FFmpeg/Pillow/OS error, without errno numbers or file paths."""
    text = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    return str(text).split(": '")[0][:200]
