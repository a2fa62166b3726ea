"""Printed commands are quoted for the user's shell: POSIX (``shlex``) or PowerShell, chosen
by ``os.name`` or ``PREFLIGHT_SHELL``. Both renderings are read back with a parser of that
shell's quoting and must give the same arguments."""

from __future__ import annotations

import re
import shlex

import pytest

from preflight import shell

ODD = ["preflight", "fix", "take 3.mp4", "it's.mov", "$HOME.mp4", "a`b;c.mp4", "-r.mp4",
       "‘curly’.mp4", "", "--", "50%,x@y.mp4", "C:\\footage\\take.mp4",
       "scale=1080:1920,setsar=1"]


def powershell_split(line: str) -> list[str]:
    """Arguments of a PowerShell native-command line made only of bare words and single-quoted
    strings (the two forms `shell.quote` writes): inside quotes, a doubled quote is one."""
    out: list[str] = []
    token = re.compile(r"\s*(?:'((?:[^'\u2018\u2019\u201a\u201b]|''|\u2018\u2018|\u2019\u2019"
                       r"|\u201a\u201a|\u201b\u201b)*)'|([^\s'\u2018\u2019\u201a\u201b]+))")
    pos = 0
    line = line.removeprefix("& ")
    while pos < len(line.rstrip()):
        m = token.match(line, pos)
        assert m is not None, f"unparsable at {pos}: {line[pos:]!r}"
        if m.group(1) is not None:
            out.append(re.sub(r"(['\u2018\u2019\u201a\u201b])\1", r"\1", m.group(1)))
        else:
            bare = m.group(2)
            assert re.fullmatch(r"[A-Za-z0-9_./:=+\\-]+", bare) and bare != "--", bare
            out.append(bare)
        pos = m.end()
    return out


def test_posix_rendering_round_trips() -> None:
    line = shell.join(ODD, "posix")
    assert shlex.split(line) == ODD
    assert line.startswith("preflight fix 'take 3.mp4' ")


def test_powershell_rendering_round_trips() -> None:
    line = shell.join(ODD, "powershell")
    assert powershell_split(line) == ODD
    assert "'$HOME.mp4'" in line and "'it''s.mov'" in line and " '--' " in line
    assert "'scale=1080:1920,setsar=1'" in line  # a comma would make an array
    assert "C:\\footage\\take.mp4" in line  # backslashes are plain in PowerShell


def test_powershell_calls_a_quoted_program_with_the_call_operator() -> None:
    line = shell.join(["C:\\Program Files\\ffmpeg.exe", "-i", "a b.mov"], "powershell")
    assert line == "& 'C:\\Program Files\\ffmpeg.exe' -i 'a b.mov'"
    assert shell.join(["ffmpeg", "-i", "a.mov"], "powershell") == "ffmpeg -i a.mov"


def test_the_shell_follows_the_platform_and_the_override() -> None:
    assert shell.current({}, "posix") == "posix"
    assert shell.current({}, "nt") == "powershell"
    assert shell.current({shell.SHELL_ENV: "posix"}, "nt") == "posix"
    assert shell.current({shell.SHELL_ENV: "PowerShell"}, "posix") == "powershell"
    assert shell.current({shell.SHELL_ENV: "fish"}, "posix") == "posix"  # unknown: ignored


def test_the_default_rendering_uses_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(shell.SHELL_ENV, "powershell")
    assert shell.join(["preflight", "fix", "a b.mp4"]) == "preflight fix 'a b.mp4'"
    assert shell.stop_process(42) == "Stop-Process -Id 42"
    monkeypatch.setenv(shell.SHELL_ENV, "posix")
    assert shell.stop_process(42) == "kill 42"


@pytest.mark.parametrize(("sh", "expected"), [
    ("posix", ". '/tmp/my dir/credentials.env'"),
    ("powershell", "Get-Content '/tmp/my dir/credentials.env' | ForEach-Object "
                   "{ if ($_ -match '^export (\\w+)=(.*)$') "
                   "{ Set-Item \"env:$($Matches[1])\" $Matches[2] } }"),
])
def test_loading_a_credentials_file(sh: shell.Shell, expected: str) -> None:
    assert shell.source_env("/tmp/my dir/credentials.env", sh) == expected


def test_setting_a_variable() -> None:
    assert shell.set_env("HUAWEICLOUD_SDK_AK", "a b", "posix") == "export HUAWEICLOUD_SDK_AK='a b'"
    assert shell.set_env("X", "it's", "powershell") == "$env:X = 'it''s'"
    assert shell.set_env("X", "", "powershell") == "$env:X = ''"


def test_a_leading_dash_is_never_an_option() -> None:
    assert shell.path_arg("-r take.mp4") == "./-r take.mp4"
    assert shell.path_arg("/abs/-r.mp4") == "/abs/-r.mp4"
    assert shell.path_arg("take.mp4") == "take.mp4"


def test_fix_lines_in_both_shells() -> None:
    from pathlib import Path

    from preflight.rules.conform import fix_line

    src = Path("my take.mov")
    assert fix_line(src, sh="posix") == "preflight fix 'my take.mov' -o 'my take.fixed.mp4'"
    assert fix_line(src, sh="powershell", rotate=90, edition="flexus") == (
        "preflight fix 'my take.mov' --edition flexus --rotate 90 -o 'my take.fixed.mp4'")
    line = fix_line(Path("-x's.mov"), sh="powershell")
    assert powershell_split(line) == ["preflight", "fix", "./-x's.mov", "-o", "./-x's.fixed.mp4"]
