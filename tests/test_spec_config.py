"""Spec parsing and configuration errors: clear, named, raised before any work."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from preflight.errors import ConfigError, SpecError
from preflight.model import Severity
from preflight.rules import registry
from preflight.rules.config import (
    Config,
    config_from_dict,
    find_config,
    load_config,
    load_pack,
    pack_names,
    resolve,
)
from preflight.spec import load_spec
from preflight.workflows.check import check
from tests.helpers import assert_codes
from tests.platform import posix_only

PACKS = Path(__file__).resolve().parent.parent / "rules"


def test_spec_toml_and_json_are_equivalent(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(
        '[job]\nname = "A"\n[media]\ntraining_video = "m/a.mp4"\naudio = ["v1.wav", "v2.wav"]\n'
        "[account]\nna_whitelisted = true\n", encoding="utf-8")
    (tmp_path / "a.json").write_text(
        '{"job": {"name": "A"}, "media": {"training_video": "m/a.mp4", '
        '"audio": ["v1.wav", "v2.wav"]}, "account": {"na_whitelisted": true}}', encoding="utf-8")
    a, b = load_spec(tmp_path / "a.toml"), load_spec(tmp_path / "a.json")
    assert dict(a.job) == dict(b.job) == {"name": "A"}
    assert a.media == b.media
    assert a.media["training_video"] == (tmp_path / "m" / "a.mp4",)
    assert len(a.media["audio"]) == 2
    assert a.account.na_whitelisted and b.account.na_whitelisted


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[job]\nname = "A"\n[media]\ntraning_video = "a.mp4"\n',
         "media.traning_video; did you mean 'training_video'"),
        ('[jobs]\nname = "A"\n', "[jobs]; did you mean 'job'"),
        ('[account]\nna_whitelist = true\n', "account.na_whitelist; did you mean 'na_whitelisted'"),
        ('[account]\nna_whitelisted = "yes"\n', "account.na_whitelisted must be a boolean"),
        ('[media]\ncover = 3\n', "media.cover must be a string"),
        ('[media]\ncover = ["a.jpg"]\n', "media.cover must be a string"),
        ('job = 3\n', "[job] must be a table"),
        ('[job\nname = "A"\n', "invalid TOML"),
    ],
)
def test_spec_errors_name_the_key(tmp_path: Path, text: str, needle: str) -> None:
    p = tmp_path / "avatar.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_spec(p)
    assert needle in str(err.value)
    assert str(p) in str(err.value)


def test_spec_file_problems(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "missing.toml")
    (tmp_path / "d.toml").mkdir()
    with pytest.raises(SpecError, match="directory"):
        load_spec(tmp_path / "d.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(SpecError, match="UTF-8"):
        load_spec(tmp_path / "bin.toml")
    (tmp_path / "x.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(SpecError, match="top level"):
        load_spec(tmp_path / "x.json")
    (tmp_path / "y.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(SpecError, match="invalid JSON at line 1"):
        load_spec(tmp_path / "y.json")


def test_missing_media_are_findings_not_errors(write_spec: Any) -> None:
    spec = write_spec('[job]\nname = "A"\n[media]\ntraining_video = "nope.mp4"\n'
                      'cover = "nope.jpg"\naudio = "v.wav"\n[account]\nna_whitelisted = true\n')
    report = check(spec)
    assert_codes(report, expect=["VID001", "IMG001", "AUD001"])
    assert all("file not found" in f.message for f in report.findings if f.family != "REQ")


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"selct": ["VID"]}, "unknown config key 'selct'; did you mean 'select'"),
        ({"select": ["VID999"]}, "unknown rule 'VID999'"),
        ({"ignore": ["body-unknwn-key"]}, "did you mean 'body-unknown-key'"),
        ({"rules": {"REQ099": "warning"}}, "unknown rule 'REQ099'"),
        ({"rules": {"REQ004": {"options": {"max_len": 3}}}}, "unknown option 'max_len' for REQ004"),
        ({"rules": {"REQ004": {"options": {"max_length": "3"}}}}, "must be integer"),
        ({"rules": {"REQ004": "fatal"}}, "expected one of error, warning, info, off"),
        ({"rules": {"REQ004": {"level": "error"}}}, "unknown key 'level'"),
        ({"edition": "flexis"}, "did you mean 'flexus'"),
        ({"select": "VID"}, "select must be a list"),
    ],
)
def test_config_errors(data: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_dict(data)
    assert needle in str(err.value)


def test_config_found_upward_and_applied(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.preflight]\nignore = ["REQ031"]\n'
        '[tool.preflight.rules]\n"model-version-deprecated" = "error"\n', encoding="utf-8")
    sub = tmp_path / "jobs" / "anna"
    sub.mkdir(parents=True)
    spec = sub / "avatar.toml"
    spec.write_text('[job]\nname = "A"\nmodel_version = "V3"\nis_background_replacement = true\n',
                    encoding="utf-8")
    assert find_config(spec) == tmp_path / "pyproject.toml"
    report = check(spec)
    assert_codes(report, expect=["REQ007"], absent=["REQ031"])
    assert next(f for f in report.findings if f.code == "REQ007").severity is Severity.ERROR
    (sub / "preflight.toml").write_text('select = ["VID"]\n', encoding="utf-8")
    assert find_config(spec) == sub / "preflight.toml"
    assert_codes(check(spec), absent=["REQ007"])


def test_bad_config_file_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "preflight.toml"
    p.write_text('[rules]\nVID999 = "error"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="VID999"):
        load_config(p)


def test_select_ignore_families_and_cli_merge() -> None:
    cfg = Config().with_cli(select=["REQ"], ignore=["REQ031", "name-required"])
    settings = resolve("standard", cfg)
    assert settings["REQ001"].severity is Severity.ERROR
    assert settings["REQ031"].severity is None
    assert settings["REQ003"].severity is None
    assert settings["VID001"].severity is None
    with pytest.raises(ConfigError):
        Config().with_cli(select=["XYZ"])


def test_packs_state_only_what_differs_and_extend() -> None:
    """A pack entry changes what it inherits (the rule's declaration or the pack it extends)."""
    for name in pack_names():
        data = tomllib.loads((PACKS / f"{name}.toml").read_text(encoding="utf-8"))
        parent = data["pack"].get("extends")
        inherited = load_pack(parent) if parent else {}
        for code, raw in data.get("rules", {}).items():
            rule = registry()[code]
            was = inherited.get(code)
            raw = {"severity": raw} if isinstance(raw, str) else raw
            sev = raw.get("severity")
            if sev is not None:
                before = was.severity if was and was.severity else rule.severity.value
                assert sev != before, f"{name}.toml: {code} restates severity {sev}"
            for opt, value in raw.get("options", {}).items():
                before = (was.options.get(opt) if was and opt in was.options
                          else rule.defaults()[opt])
                assert value != before, f"{name}.toml: {code}.{opt} restates {value!r}"
    for edition in ("standard", "flexus", "fast-flexus", "live-copy"):
        assert set(resolve(edition, Config())) == set(registry())
    assert resolve("flexus", Config())["REQ023"].severity is None
    assert resolve("standard", Config())["REQ023"].severity is Severity.INFO


def test_edition_inferred_and_forced(write_spec: Any) -> None:
    spec = write_spec('[job]\nname = "A"\nis_flexus = true\nis_background_replacement = false\n'
                      'audio_source_type = "VIDEO"\n')
    assert check(spec).edition == "flexus"
    assert check(spec, edition="standard").edition == "standard"
    spec2 = write_spec('[job]\nname = "A"\nis_live_copy = true\n', "live.toml")
    assert check(spec2).edition == "live-copy"
    spec3 = write_spec('[job]\nname = "A"\nis_flexus = true\nis_fast_flexus = true\n', "f.toml")
    assert check(spec3).edition == "fast-flexus"


@posix_only
def test_unreadable_and_special_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    with pytest.raises(SpecError, match="not a regular file"):
        load_spec(fifo)  # must not block reading a FIFO
    media_fifo = tmp_path / "pipe.mp4"
    os.mkfifo(media_fifo)
    assert_codes(check([media_fifo]), expect=["VID001"])

    spec = tmp_path / "avatar.toml"
    spec.write_text('[job]\nname = "A"\n', encoding="utf-8")

    def denied(path: Path, limit: int = 0) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("preflight.spec.loader.read_capped", denied)
    with pytest.raises(SpecError, match="Permission denied"):
        load_spec(spec)


# ---- bounded TOML, Windows paths, device paths ---------------------------------------------

_MEASURE = """\
import resource, subprocess, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # the unguarded parse needs more
resource.setrlimit(resource.RLIMIT_CPU, (60, 60))
proc = subprocess.run([sys.executable, "-c",
                       "import sys; from preflight.cli import main; sys.exit(main(sys.argv[1:]))",
                       *sys.argv[1:]], capture_output=True, text=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(proc.returncode, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
print(proc.stderr)
"""


def _measured(cwd: Path, *args: str) -> tuple[int, int, str]:
    """(exit code, peak resident KiB, stderr) of `preflight ARGS` in a child process under
    an address-space and CPU limit."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _MEASURE, *args], cwd=cwd, capture_output=True,
                         text=True, check=True, timeout=300).stdout
    head, _, err = out.partition("\n")
    code, rss, cpu = head.split()
    print(f"exit {code}, peak RSS {int(rss) // 1024} MiB, {float(cpu):.2f} s CPU")
    return int(code), int(rss), err


def test_a_dotted_key_of_20000_parts_is_refused_before_parsing(tmp_path: Path) -> None:
    spec = tmp_path / "avatar.toml"
    spec.write_text('[job]\nname = "x"\n' + "a" + ".a" * 20_000 + " = 1\n", encoding="utf-8")
    assert 40_000 < spec.stat().st_size < 41_000
    code, rss, err = _measured(tmp_path, "check", "--no-cache", str(spec))
    assert code == 2 and "a key has more than 32 dotted parts (at line 3)" in err
    assert rss < 300 * 1024
    with pytest.raises(SpecError, match="dotted parts"):
        load_spec(spec)


def test_a_huge_table_header_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "avatar.toml"
    spec.write_text("[" + ".".join(["job"] * 100_000) + "]\n", encoding="utf-8")
    assert spec.stat().st_size > 400_000
    with pytest.raises(SpecError, match="more than 32 dotted parts"):
        load_spec(spec)
    (tmp_path / "preflight.toml").write_text(spec.read_text(encoding="utf-8"),
                                             encoding="utf-8")
    with pytest.raises(ConfigError, match="more than 32 dotted parts"):
        load_config(tmp_path / "preflight.toml")


def test_a_pyproject_found_above_is_read_only_for_its_tool_preflight_part(
        tmp_path: Path) -> None:
    hostile = "[tool.other]\n" + "a" + ".a" * 100_000 + " = 1\n"
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.preflight]\nignore = ["VID001"]\n' + hostile,
        encoding="utf-8")
    assert (tmp_path / "pyproject.toml").stat().st_size > 200_000
    (tmp_path / "footage").mkdir()
    (tmp_path / "footage" / "take.mp4").write_bytes(b"")
    found = find_config(tmp_path / "footage")
    assert found == tmp_path / "pyproject.toml"
    assert_codes(check(tmp_path / "footage" / "take.mp4"), absent=["VID001"])
    code, rss, err = _measured(tmp_path / "footage", "check", "--no-cache", "take.mp4")
    assert code == 0 and rss < 300 * 1024, err
    # named outright, the whole file is read (and its absurd key refused)
    with pytest.raises(ConfigError, match="dotted parts"):
        load_config(tmp_path / "pyproject.toml")
    # the part itself is pre-scanned too
    (tmp_path / "pyproject.toml").write_text("[tool.preflight]\n" + hostile.split("\n")[1],
                                             encoding="utf-8")
    code, rss, err = _measured(tmp_path / "footage", "check", "--no-cache", "take.mp4")
    assert code == 2 and "dotted parts" in err and rss < 300 * 1024


def test_ordinary_dotted_keys_and_floats_pass_the_prescan() -> None:
    from preflight.spec.toml import loads, problem

    text = ('a.b.c = 1\n"x.y".z = 2\nv = [1.5, 2.5, 3.5]\n[t . u]\n'
            'w = "' + ".".join("1" * 40) + '"\n') * 20
    assert problem(text) is None
    assert loads(text.split("[t")[0].replace("a.b.c = 1\n", "", 0))["a"] == {"b": {"c": 1}}
    assert problem("k = 1\n" + ".".join(["p"] * 33) + " = 1\n") is not None
    assert problem("k = 1\n" + ".".join(["p"] * 32) + " = 1\n") is None


def test_a_windows_path_in_a_basic_string_gets_a_clear_error(tmp_path: Path) -> None:
    spec = tmp_path / "avatar.toml"
    spec.write_text('[job]\nname = "A"\n[media]\ntraining_video = "C:\\footage\\take.mp4"\n',
                    encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    text = str(info.value)
    assert 'the path "C:\\footage\\take.mp4" holds the control character \\f' in text
    assert '"C:/footage/take.mp4"' in text and "'C:\\footage\\take.mp4'" in text
    spec.write_text('[job]\n[media]\ntraining_video = "C:\\Users\\take.mp4"\n',
                    encoding="utf-8")
    with pytest.raises(SpecError, match="forward slashes"):
        load_spec(spec)
    spec.write_text("[job]\n[media]\ntraining_video = 'C:\\footage\\take.mp4'\n",
                    encoding="utf-8")
    assert load_spec(spec).media["training_video"][0].name == "C:\\footage\\take.mp4"


@pytest.mark.parametrize(("value", "message"), [
    ("/dev/zero", "leads into /dev"),
    ("/proc/self/environ", "leads into /proc"),
    ("../../../../../../../../sys/kernel/notes", "leads into /sys"),
    ("NUL", "names the Windows device 'NUL'"),
    ("media/con.mp4", "names the Windows device 'con'"),
    ("COM1.wav", "names the Windows device 'COM1'"),
    ("\\\\\\\\.\\\\PhysicalDrive0", "names a Windows device"),
])
def test_spec_paths_never_lead_into_devices(tmp_path: Path, value: str, message: str) -> None:
    spec = tmp_path / "avatar.toml"
    spec.write_text(f'[job]\n[media]\ngrant_file = "{value}"\n', encoding="utf-8")
    with pytest.raises(SpecError, match=message):
        load_spec(spec)


def test_a_link_into_proc_is_refused_and_ordinary_names_are_not(tmp_path: Path) -> None:
    (tmp_path / "voice.wav").symlink_to("/proc/self/environ")
    spec = tmp_path / "avatar.toml"
    spec.write_text('[job]\n[media]\naudio = "voice.wav"\n', encoding="utf-8")
    with pytest.raises(SpecError, match="leads into /proc"):
        load_spec(spec)
    spec.write_text('[job]\n[media]\naudio = ["console.wav", "nullable.wav", "con-take.wav"]\n',
                    encoding="utf-8")
    assert len(load_spec(spec).media["audio"]) == 3


def test_paths_outside_the_spec_folder_are_named_in_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from preflight.cli import cli
    from preflight.spec.loader import outside

    (tmp_path / "jobs").mkdir()
    spec = tmp_path / "jobs" / "avatar.toml"
    spec.write_text('[job]\nname = "A"\n[media]\ntraining_video = "../take.mp4"\n'
                    'id_card_front = "front.jpg"\n', encoding="utf-8")
    assert [slot for slot, _ in outside(load_spec(spec))] == ["training_video"]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["check", "--no-cache", "jobs/avatar.toml"])
    assert ("preflight: warning: jobs/avatar.toml: media.training_video = take.mp4 is "
            "outside the spec's folder") in result.stderr
    assert "front.jpg is outside" not in result.stderr


@pytest.mark.parametrize("command", [["package", "jobs/avatar.toml", "--out", "pkg"],
                                     ["submit", "jobs/avatar.toml", "--dry-run"]])
def test_package_and_submit_name_paths_outside_the_spec_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    """What is read and uploaded from outside the spec's folder is named before it is, by
    `package` and `submit` as by `check`."""
    from click.testing import CliRunner

    from preflight.cli import cli

    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "avatar.toml").write_text(
        '[job]\nname = "A"\n[media]\ntraining_video = "../take.mp4"\n'
        'id_card_front = "front.jpg"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, command)
    assert ("warning: jobs/avatar.toml: media.training_video = take.mp4 is outside the "
            "spec's folder") in result.stderr, result.stderr
    assert "front.jpg is outside" not in result.stderr
