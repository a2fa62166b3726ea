"""Media inspection: thin typed wrappers over pymediainfo (probe), PyAV (frames, audio) and
Pillow (images). Heavy libraries are imported inside functions so that importing this package
stays cheap; every failure to read a file is raised as `ProbeError`.
"""
