"""The pipelines after the check: check → package, check → package → submit, and fix → re-check.

Each step lives in its own layer (`preflight.packager`, `preflight.submitter`, `preflight.fix`,
`preflight.sandbox`); only this module chains them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from preflight.errors import PackagingError, SetupError
from preflight.manifest import Manifest
from preflight.packager.builder import (
    MANIFEST_NAME,
    Package,
    PartCount,
    Progress,
    build,
    verify,
    with_counts,
)
from preflight.parts import TARGET_PART_SIZE
from preflight.spec import JobSpec, load_spec
from preflight.workflows.check import binding_config, check

if TYPE_CHECKING:
    import httpx

    from preflight.fix import FixJob, FixResult
    from preflight.fix import Progress as FixProgress
    from preflight.metastudio.credentials import Credentials
    from preflight.rules.config import Config
    from preflight.submitter.flow import DryRun, SubmitResult
    from preflight.submitter.progress import ProgressCallback
    from preflight.submitter.retry import RetryPolicy

#: Where `submit` packages a spec when no --package-dir is given (next to the spec).
PACKAGE_DIR = Path(".preflight") / "package"


def package(
    spec: JobSpec | str | Path,
    out_dir: str | Path,
    *,
    parts: PartCount = None,
    action_parts: PartCount = None,
    edition: str | None = None,
    config: Config | str | Path | None = None,
    force: bool = False,
    materialize: bool = False,
    target_part_size: int = TARGET_PART_SIZE,
    progress: Progress | None = None,
) -> Package:
    """Check ``spec`` and build its upload package in ``out_dir``.

    ``parts``/``action_parts`` override the spec's ``video_multipart_count`` /
    ``action_video_multipart_count`` (an integer or "auto"). ``force`` packages despite
    error findings and marks the manifest ``forced``. ``materialize`` also writes each video
    part as a file under ``out_dir/parts``.

    :raises PackageRefused: the check found errors and ``force`` is false.
    :raises PackagingError: a file cannot be read, or a count cannot cut its file.
    :raises SpecError: the spec cannot be read.
    :raises ConfigError: invalid configuration or edition.
    """
    js = spec if isinstance(spec, JobSpec) else load_spec(spec)
    js = with_counts(js, parts, action_parts)
    report = check(js, edition=edition, config=binding_config(config, js.base_dir))
    return build(js, out_dir, report, force=force, materialize=materialize,
                 target_part_size=target_part_size, progress=progress)


def check_app_user_id(value: str) -> None:
    """Judge an X-App-UserId given outside the spec (``--app-user-id``) with the spec's rule.

    :raises SetupError: the rule (REQ012) refuses it; nothing is sent.
    """
    from types import MappingProxyType

    from preflight.rules.config import Config
    from preflight.spec import Account

    probe = JobSpec(job=MappingProxyType({"name": "X-App-UserId"}),
                    account=Account(app_user_id=value))
    report = check(probe, config=Config().with_cli(("REQ012",)))
    for f in report.findings:
        if f.code == "REQ012":
            raise SetupError(f"--app-user-id: {f.code} {f.message}")


def _spec_manifest(spec: str | Path, package_dir: str | Path | None, *, force: bool,
                   parts: PartCount, progress: ProgressCallback | None) -> Manifest:
    """Reuse an unchanged package for this spec, or check and package it now."""
    from preflight.submitter.progress import ProgressEvent

    spec_path = Path(spec).absolute()
    out = Path(package_dir) if package_dir else spec_path.parent / PACKAGE_DIR
    if (out / MANIFEST_NAME).is_file():
        try:
            ver = verify(out)
        except PackagingError:
            ver = None
        if ver is not None and ver.ok and Path(ver.manifest.spec_path) == spec_path \
                and _parts_match(ver.manifest, parts):
            if progress:
                progress(ProgressEvent("note", message=f"reusing the package in {out} "
                                       "(sources unchanged)"))
            return ver.manifest
    if progress:
        progress(ProgressEvent("phase", message=f"checking and packaging into {out}"))
    return package(spec_path, out, force=force, parts=parts).manifest


def _parts_match(manifest: Manifest, parts: PartCount) -> bool:
    """Whether a package already cuts the training video into the ``--parts`` asked for (an
    integer, or "auto" as the packager would resolve it now); no ``--parts`` always matches."""
    if parts is None:
        return True
    video = manifest.upload("training_video")
    if video is None:
        return False
    from preflight.parts import auto_count

    want = auto_count(video.size, int(manifest.extra.get("part_size_target", TARGET_PART_SIZE))) \
        if parts == "auto" else parts
    return len(video.parts) == want


@contextmanager
def _service(sandbox: bool, region: str | None, endpoint: str | None,
             credentials: Credentials | None, progress: ProgressCallback | None,
             na_whitelisted: bool = False,
             ) -> Iterator[tuple[str | None, str | None, Credentials | None, bool]]:
    """(region, endpoint, credentials, local) to submit to: as given, or a stand-in service
    started in-process for the duration of the call (serving the spec's kind of account)."""
    if not sandbox:
        yield region, endpoint, credentials, False
        return
    from preflight.sandbox import running
    from preflight.submitter.progress import ProgressEvent

    with running(advance_seconds=0.3, na_whitelisted=na_whitelisted) as sb:
        if progress:
            progress(ProgressEvent("note", message=f"sandbox service running at {sb.url}"))
        yield None, sb.url, sb.credentials, True


def submit(
    spec: str | Path | None = None,
    *,
    manifest: Manifest | str | Path | None = None,
    package_dir: str | Path | None = None,
    region: str | None = None,
    endpoint: str | None = None,
    credentials: Credentials | None = None,
    app_user_id: str | None = None,
    state_dir: str | Path | None = None,
    jobs: int = 4,
    parts: PartCount = None,
    new_job: bool = False,
    wait: bool = False,
    poll_interval: float = 5.0,
    wait_timeout: float | None = None,
    dry_run: bool = False,
    force: bool = False,
    sandbox: bool = False,
    progress: ProgressCallback | None = None,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
    insecure_http: bool = False,
) -> SubmitResult | DryRun:
    """Check, package, create, upload, confirm and submit a job; resume it if interrupted.

    ``spec`` is an ``avatar.toml``; or pass a ``manifest`` (object or ``manifest.json`` path)
    to skip check and packaging. Credentials come from the environment unless given.
    ``sandbox=True`` starts an in-process stand-in service with throwaway credentials and
    submits to it. ``dry_run`` returns the requests that would be sent. Plain ``http://``
    goes only to this machine unless ``insecure_http``.

    :raises SubmitError: the service or the network refused (exit code 3 in the CLI).
    :raises PackagingError: the package cannot be built (e.g. error findings without force).
    """
    from preflight.submitter.session import connect, send

    if spec is None and manifest is None:
        raise SetupError("give a spec file or a manifest")
    man: Manifest | None = None
    if isinstance(manifest, Manifest):
        man = manifest
    elif manifest is not None:
        man = Manifest.load(Path(manifest))
    spec_file = spec if spec else ((man.spec_path if man else None) or None)
    account = load_spec(spec_file).account if spec_file is not None and (
        app_user_id is None or sandbox) else None
    user = app_user_id if app_user_id is not None or account is None else account.app_user_id
    if app_user_id is not None:
        check_app_user_id(app_user_id)
    na = account is not None and account.na_whitelisted
    with _service(sandbox, region, endpoint, credentials, progress, na) as (reg, ep, creds, local):
        # credentials and endpoint are known good before the long part
        client = connect(region=reg, endpoint=ep, credentials=creds, app_user_id=user,
                         jobs=jobs, dry_run=dry_run, transport=transport, retry=retry,
                         insecure_http=insecure_http)
        try:
            if man is None:
                assert spec is not None
                man = _spec_manifest(spec, package_dir, force=force, parts=parts,
                                     progress=progress)
            spec_path = str(Path(spec).absolute()) if spec else (man.spec_path or "")
            return send(man, client, spec_path=spec_path, state_dir=state_dir, jobs=jobs,
                        new_job=new_job, wait=wait,
                        poll_interval=min(poll_interval, 0.2) if local else poll_interval,
                        wait_timeout=wait_timeout, dry_run=dry_run, progress=progress)
        finally:
            client.close()


def fix_video(job: FixJob, *, progress: FixProgress | None = None,
              config: Config | str | Path | None = None) -> FixResult:
    """Run a planned fix, then re-check the output with the VID and PRS rules for the job's
    slot in its edition (the rules a fix plan answers)."""
    from dataclasses import replace

    from preflight.fix import run
    from preflight.rules.config import config_for

    result = run(job, progress=progress)
    cfg = config_for(config, job.dst.parent)
    report = check(job.dst, slot=job.slot, edition=job.edition,
                   config=cfg.with_cli(("VID", "PRS")))
    return replace(result, report=report)
