"""Running where the crew works (Windows, macOS): the reproduction of Windows on Linux, the
set-up script, and the marks of tests that need POSIX or Linux, so the suite runs elsewhere
and says why a test was skipped."""

from __future__ import annotations

import sys

import pytest

#: FIFOs, POSIX signals (SIGKILL, SIGINT sent to a child), devices such as /dev/zero.
posix_only = pytest.mark.skipif(
    sys.platform == "win32", reason="needs POSIX: FIFOs, devices or signals Windows lacks")
#: /proc (memory high-water marks of a child process).
linux_only = pytest.mark.skipif(sys.platform != "linux", reason="needs Linux: reads /proc")
