"""Version of metastudio-preflight."""

__version__ = "0.1.0"
