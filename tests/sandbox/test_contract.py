"""One contract for `check` and the stand-in service: every REQ rule's example bodies (the ones
`preflight rule CODE` prints) are checked and sent to the stand-in. An error from `check` ⇔ a
refusal by the stand-in — at create, at a command of the submission, or a failed review — and a
clean `check` ⇒ the stand-in accepts the job. Exceptions are listed in `EXCEPTIONS` (and in
docs/sandbox.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from preflight.errors import ServiceError
from preflight.metastudio import (
    AUTO_VERIFY_FAILED,
    CONFIRM_GRANT_COMMAND,
    MULTIPART_CONFIRM,
    SLOTS,
    SUBMIT_COMMAND,
)
from preflight.model import Severity
from preflight.rules.examples import BODY_EXAMPLES, BodyExample
from preflight.sandbox import Sandbox, running
from preflight.spec import Account, JobSpec
from preflight.submitter.client import MetaStudioClient
from preflight.submitter.retry import NO_RETRY
from preflight.workflows.check import check

#: Rules whose verdict the stand-in cannot share, with the reason (none today).
EXCEPTIONS: dict[str, str] = {}

CASES = [pytest.param(code, role, ex, id=f"{code}-{role}")
         for code, pair in sorted(BODY_EXAMPLES.items())
         for role, ex in zip(("fails", "passes"), pair, strict=True)]


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[bool, Sandbox]]:
    """A non-NA and an NA-whitelisted stand-in."""
    base = tmp_path_factory.mktemp("contract")
    with running(advance_seconds=0.05, data_dir=base / "a") as plain, \
            running(advance_seconds=0.05, data_dir=base / "b", na_whitelisted=True) as na:
        yield {False: plain, True: na}


def check_errors(ex: BodyExample, tmp: Path) -> list[str]:
    """The REQ errors `check` reports for the example as a whole spec."""
    return sorted({f.code for f in _findings(ex, tmp)
                   if f.family == "REQ" and f.severity is Severity.ERROR})


def _create(client: MetaStudioClient, body: dict[str, Any]) -> dict[str, Any]:
    """Create, sending X-App-UserId as UTF-8 bytes (httpx would refuse non-ASCII text)."""
    call = client.prepare("POST", client.base_path, body=body)
    headers = {k: v.encode("utf-8") for k, v in call.headers.items()}
    resp = client.http.post(call.url, headers=headers, content=call.body)
    if resp.status_code >= 400:
        raise ServiceError(f"create refused: {resp.text}", status=resp.status_code)
    data: dict[str, Any] = resp.json()
    return data


def stand_in_refusal(sb: Sandbox, ex: BodyExample) -> str | None:
    """Submit the example like the submitter does; where the stand-in refused it, or None."""
    app_user_id = ex.account.get("app_user_id")
    with MetaStudioClient(sb.url, sb.credentials, retry=NO_RETRY,
                          app_user_id=app_user_id) as client:
        try:
            data = _create(client, ex.job())
        except ServiceError as exc:
            return f"create: {exc}"
        job_id = data["job_id"]
        sent = set()
        for slot in ex.media:
            urls = data.get(SLOTS[slot].upload_field)
            if not urls:
                continue
            for url in urls if isinstance(urls, list) else [urls]:
                resp = client.http.put(url, content=b"x" * 64,
                                       headers={"Content-Type": SLOTS[slot].content_type})
                assert resp.status_code == 200, resp.text
            sent.add(slot)
        try:
            for slot, command in MULTIPART_CONFIRM.items():
                if slot in sent:
                    client.command(job_id, command)
            if "grant_file" in sent:
                client.command(job_id, CONFIRM_GRANT_COMMAND)
            client.command(job_id, SUBMIT_COMMAND)
        except ServiceError as exc:
            return f"command: {exc}"
    with sb.state.lock:
        job = sb.state.jobs[job_id]
        assert job.submitted_at is not None
        job.submitted_at -= 10.0  # the review is over
        sb.state.advance(job)
        if job.state == AUTO_VERIFY_FAILED:
            return f"review: {job.logs[-1]['log_description']}"
    return None


@pytest.mark.parametrize(("code", "role", "ex"), CASES)
def test_check_error_iff_stand_in_refuses(code: str, role: str, ex: BodyExample,
                                          stand_ins: dict[bool, Sandbox], tmp_path: Path) -> None:
    errors = check_errors(ex, tmp_path)
    if role == "fails" and BODY_EXAMPLES[code][0] is ex:
        fired = {f.code for f in _findings(ex, tmp_path)}
        assert code in fired, f"{code}'s failing example does not make it fire"
    refusal = stand_in_refusal(stand_ins[bool(ex.account.get("na_whitelisted"))], ex)
    if code in EXCEPTIONS:
        return
    assert bool(errors) == (refusal is not None), (
        f"{code} {role} ({ex.text()}): check errors {errors}, stand-in: {refusal or 'accepted'}")


def _findings(ex: BodyExample, tmp: Path) -> list[Any]:
    """Every finding of `check` for the example as a whole spec (its files need not exist)."""
    spec = JobSpec(job=MappingProxyType(ex.job()),
                   media=MappingProxyType({s: (tmp / f"{s}.bin",) for s in ex.media}),
                   account=Account(**ex.account), path=tmp / "avatar.toml")
    return list(check(spec).findings)


def test_every_passing_example_is_clean_and_accepted(stand_ins: dict[bool, Sandbox],
                                                     tmp_path: Path) -> None:
    """`check` passing ⇒ the stand-in accepts: each rule's passing example leaves the rule
    silent, and (above) the stand-in takes it through create, commands and review."""
    for code, (_, passes) in BODY_EXAMPLES.items():
        assert code not in {f.code for f in _findings(passes, tmp_path)}, code
