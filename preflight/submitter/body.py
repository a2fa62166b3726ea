"""The bodies a submission sends: the create body, its key, and after a failed review the update
body with every changed field (dossier §1.2, §2.4)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from preflight.errors import SubmitError
from preflight.manifest import Manifest, Upload
from preflight.metastudio import (
    ACTION_SLOT,
    BODY_DEFAULTS,
    BODY_FIELDS,
    FIXED_BODY_FIELDS,
    MULTIPART_FIELDS,
    REQUIRED_SLOT,
    UPDATABLE_BODY_FIELDS,
    UPDATE_VIDEO,
)


def create_body(manifest: Manifest) -> dict[str, Any]:
    """The create body: only API fields, multipart counts matching the planned parts."""
    body = {k: v for k, v in manifest.job.items() if k in BODY_FIELDS}
    video = manifest.upload(REQUIRED_SLOT)
    if video is not None and (len(video.parts) > 1 or MULTIPART_FIELDS[0] in body):
        body[MULTIPART_FIELDS[0]] = len(video.parts)
    action = manifest.upload(ACTION_SLOT)
    if action is not None:
        body[MULTIPART_FIELDS[1]] = len(action.parts)
    return body


def submission_key(manifest: Manifest, endpoint: str, project_id: str,
                   app_user_id: str | None) -> str:
    """Same spec + same media + same service/project/user ⇒ same key ⇒ same job on rerun."""
    doc = {
        "endpoint": endpoint, "project_id": project_id, "app_user_id": app_user_id or "",
        "spec_sha256": manifest.spec_sha256, "body": create_body(manifest),
        "uploads": [[u.slot, u.sha256, u.content_type,
                     [[p.part_number, p.offset, p.length, p.md5] for p in u.parts]]
                    for u in sorted(manifest.uploads, key=lambda u: u.slot)],
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Change:
    """A body field whose value differs from what the job got (``was`` None: unknown)."""

    field: str
    was: Any
    now: Any

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"field": self.field, "was": self.was, "now": self.now}

    def text(self) -> str:
        """``batch_name: 'spring' → 'summer'``."""
        was = "(unknown)" if self.was is None else json.dumps(self.was, ensure_ascii=False)
        return f"{self.field}: {was} → {json.dumps(self.now, ensure_ascii=False)}"


@dataclass(frozen=True)
class BodyDiff:
    """How a new create body differs from what a job got: changes Update sends, changes it
    cannot send (fields it does not accept), and removed fields it cannot clear."""

    changes: tuple[Change, ...] = ()
    fixed: tuple[Change, ...] = ()
    uncleared: tuple[str, ...] = ()


_MISSING = object()


def compare(new: Mapping[str, Any], sent: Mapping[str, Any] | None,
            shown: Mapping[str, Any]) -> BodyDiff:
    """Compare the new body with what the job got: the body recorded when it was last sent
    (``sent``), else the value Show echoes (``shown``), else the API default. A field the new
    body leaves out stands for its API default; without a default, Update cannot clear it."""
    changes: list[Change] = []
    fixed: list[Change] = []
    uncleared: list[str] = []
    fields = sorted((UPDATABLE_BODY_FIELDS | FIXED_BODY_FIELDS)
                    & (set(new) | set(sent or {})))
    for name in fields:
        was: Any = _MISSING
        if sent is not None and name in sent:
            was = sent[name]
        elif name in shown:
            was = shown[name]
        elif name in BODY_DEFAULTS:
            was = BODY_DEFAULTS[name]
        now: Any = new[name] if name in new else BODY_DEFAULTS.get(name, _MISSING)
        if now is _MISSING:
            if was is not _MISSING:
                uncleared.append(name)
            continue
        if was is not _MISSING and was == now:
            continue
        change = Change(name, None if was is _MISSING else was, now)
        if name in FIXED_BODY_FIELDS:
            if was is not _MISSING:  # unknown before: the service alone can judge it
                fixed.append(change)
        else:
            changes.append(change)
    return BodyDiff(tuple(changes), tuple(fixed), tuple(uncleared))


def update_body(manifest: Manifest, changes: tuple[Change, ...]) -> dict[str, Any]:
    """UPDATE_VIDEO with the part counts of the new package and every changed field."""
    full = create_body(manifest)
    video = manifest.upload(REQUIRED_SLOT)
    body: dict[str, Any] = {"command_message": UPDATE_VIDEO,
                            MULTIPART_FIELDS[0]: len(video.parts) if video else 1}
    if MULTIPART_FIELDS[1] in full:
        body[MULTIPART_FIELDS[1]] = full[MULTIPART_FIELDS[1]]
    body.update({c.field: c.now for c in changes})
    return body


def urls_for(upload: Upload, data: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    """(slot, part, URL) of an upload from a create/update answer.

    :raises SubmitError: the field is missing, a URL is unusable or the count is wrong.
    """
    value = data.get(upload.url_field)
    urls: list[str]
    if isinstance(value, str) and value:
        urls = [value]
    elif isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        urls = list(value)
    else:
        raise SubmitError(f"the service returned no {upload.url_field} for the {upload.slot} "
                          "upload")
    for u in urls:
        if any(ord(c) < 33 or c == "\x7f" for c in u) or not u.startswith(("https://",
                                                                              "http://")):
            raise SubmitError(f"the service returned an unusable URL in {upload.url_field} "
                              "(not an http(s) URL, or with spaces or control characters)")
    if len(urls) != len(upload.parts):
        raise SubmitError(f"the service returned {len(urls)} URL(s) in {upload.url_field} for "
                          f"{len(upload.parts)} planned part(s) of {upload.slot}")
    return [(upload.slot, p.part_number, u) for p, u in zip(upload.parts, urls, strict=True)]


def all_urls(manifest: Manifest, data: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    """Every (slot, part, URL) of the package from a create/update answer.

    :raises SubmitError: see `urls_for`.
    """
    out: list[tuple[str, int, str]] = []
    for upload in manifest.uploads:
        out.extend(urls_for(upload, data))
    return out


def parse_time(text: object) -> float | None:
    """An RFC 3339 time as a timestamp; None when absent or unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
