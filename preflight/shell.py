"""Command lines printed for people to paste, quoted for the shell they have.

POSIX shells (sh, bash, zsh; also Git Bash on Windows) get `shlex.quote`; on Windows the
default is PowerShell (the default shell of Windows Terminal): single quotes with embedded
single quotes doubled, and ``& `` before a quoted program. The shell is chosen by `os.name`;
``PREFLIGHT_SHELL=posix|powershell`` overrides it (Git Bash or WSL users on Windows, tests).

    >>> join(["preflight", "fix", "my take.mp4"], shell="posix")
    "preflight fix 'my take.mp4'"
    >>> join(["preflight", "fix", "my take.mp4"], shell="powershell")
    "preflight fix 'my take.mp4'"

Every function takes ``shell`` so that a caller (or a test) can ask for either rendering.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Literal

Shell = Literal["posix", "powershell"]
SHELLS: tuple[Shell, ...] = ("posix", "powershell")
#: Environment variable that overrides the shell chosen by the operating system.
SHELL_ENV = "PREFLIGHT_SHELL"

#: Arguments PowerShell passes through unquoted: no spaces, quotes, ``$``, backtick, ``;``,
#: ``,``, ``@``, braces, parentheses, redirections or pipes.
_PS_SAFE = re.compile(r"[A-Za-z0-9_./:=+\\-]+")
#: Characters PowerShell treats as single quotes (the typographic ones too).
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"


def current(environ: Mapping[str, str] | None = None, os_name: str | None = None) -> Shell:
    """The shell printed commands are written for: ``PREFLIGHT_SHELL`` when set to a known
    name, else PowerShell on Windows (``os.name == "nt"``) and POSIX elsewhere."""
    env = os.environ if environ is None else environ
    wanted = env.get(SHELL_ENV, "").strip().lower()
    for name in SHELLS:
        if wanted == name:
            return name
    return "powershell" if (os_name or os.name) == "nt" else "posix"


def quote(arg: str, shell: Shell | None = None) -> str:
    """One argument, quoted so that ``shell`` passes it unchanged."""
    if (shell or current()) == "posix":
        return shlex.quote(arg)
    if arg and arg != "--" and _PS_SAFE.fullmatch(arg):
        return arg
    doubled = "".join(c + c if c in _PS_QUOTES else c for c in arg)
    return f"'{doubled}'"


def join(args: Sequence[str], shell: Shell | None = None) -> str:
    """An argument vector (program first) as one line for ``shell``. PowerShell needs the
    call operator before a quoted program (``& 'C:\\Program Files\\ffmpeg.exe' -i …``)."""
    sh = shell or current()
    words = [quote(a, sh) for a in args]
    if sh == "powershell" and words and words[0].startswith("'"):
        words.insert(0, "&")
    return " ".join(words)


def path_arg(path: str | os.PathLike[str]) -> str:
    """A path as a command argument that no program reads as an option: a relative name that
    starts with ``-`` gets ``./`` in front (``-r take.mp4`` -> ``./-r take.mp4``)."""
    text = os.fspath(path)
    if text.startswith("-"):
        return os.curdir + os.sep + text
    return text


def source_env(path: str | os.PathLike[str], shell: Shell | None = None) -> str:
    """The line that loads an ``export NAME=value`` file into the current shell: ``. FILE``
    on POSIX; on PowerShell a loop that sets each variable from the file's lines."""
    sh = shell or current()
    if sh == "posix":
        return f". {quote(path_arg(path), sh)}"
    return (f"Get-Content {quote(os.fspath(path), sh)} | ForEach-Object "
            "{ if ($_ -match '^export (\\w+)=(.*)$') "
            "{ Set-Item \"env:$($Matches[1])\" $Matches[2] } }")


def set_env(name: str, value: str, shell: Shell | None = None) -> str:
    """The line that sets an environment variable: ``export N=v`` or ``$env:N = 'v'``."""
    sh = shell or current()
    if sh == "posix":
        return f"export {name}={quote(value, sh)}"
    return f"$env:{name} = {quote(value, sh)}"


def stop_process(pid: int, shell: Shell | None = None) -> str:
    """The line that stops a process by id: ``kill PID`` or ``Stop-Process -Id PID``."""
    return f"kill {pid}" if (shell or current()) == "posix" else f"Stop-Process -Id {pid}"

