"""The upload package manifest (`DIR/manifest.json`, schema `preflight.package/1`).

Shared by the packager (writes it) and the submitter (reads it). Parts are byte ranges of the
source file; nothing is copied unless asked to.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from preflight.errors import PackagingError
from preflight.safeio import read_text, write_output

SCHEMA = "preflight.package/1"


@dataclass(frozen=True)
class Part:
    """One byte range of a source file, uploaded to one single-use URL."""

    part_number: int  # 1-based
    offset: int
    length: int
    md5: str  # hex; what the storage returns as ETag
    sha256: str


@dataclass(frozen=True)
class Upload:
    """One upload slot: a source file (or the built audio zip) and its parts."""

    slot: str  # training_video, action_video, audio, cover, id_card_front, ...
    url_field: str  # create-response field holding the URL(s), dossier §1.4
    source: str  # absolute path of the bytes to send
    size: int
    mtime_ns: int
    sha256: str  # whole file
    content_type: str
    parts: tuple[Part, ...]
    inputs: tuple[str, ...] = ()  # for the audio zip: the audio files it was built from


@dataclass(frozen=True)
class Manifest:
    """What will be sent: the resolved create body and every upload with its parts."""

    spec_path: str
    spec_sha256: str
    edition: str
    job: Mapping[str, Any]  # resolved create body (multipart counts are integers here)
    uploads: tuple[Upload, ...]
    tool_version: str
    created: str  # RFC 3339 UTC
    forced: bool = False  # packaged despite error findings (--force)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def upload(self, slot: str) -> Upload | None:
        """The upload for a slot, if any."""
        return next((u for u in self.uploads if u.slot == slot), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "schema": SCHEMA,
            "tool": {"name": "metastudio-preflight", "version": self.tool_version},
            "created": self.created,
            "forced": self.forced,
            "spec": {"path": self.spec_path, "sha256": self.spec_sha256},
            "edition": self.edition,
            "job": dict(self.job),
            "uploads": [
                {**asdict(u), "parts": [asdict(p) for p in u.parts], "inputs": list(u.inputs)}
                for u in self.uploads
            ],
            **({"extra": dict(self.extra)} if self.extra else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        """Parse and check the schema tag.

        :raises PackagingError: wrong schema or missing fields.
        """
        if data.get("schema") != SCHEMA:
            raise PackagingError(f"not a {SCHEMA} manifest (schema={data.get('schema')!r})")
        try:
            uploads = tuple(
                Upload(
                    slot=u["slot"], url_field=u["url_field"], source=u["source"],
                    size=int(u["size"]), mtime_ns=int(u["mtime_ns"]), sha256=u["sha256"],
                    content_type=u["content_type"],
                    parts=tuple(Part(**p) for p in u["parts"]),
                    inputs=tuple(u.get("inputs", ())),
                )
                for u in data["uploads"]
            )
            return cls(
                spec_path=data["spec"]["path"], spec_sha256=data["spec"]["sha256"],
                edition=data["edition"], job=dict(data["job"]), uploads=uploads,
                tool_version=data["tool"]["version"], created=data["created"],
                forced=bool(data.get("forced", False)), extra=dict(data.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PackagingError(f"manifest is incomplete or malformed: {exc}") from None

    def save(self, path: Path) -> None:
        """Write atomically (an exclusively created temp file + rename; see `writing`)."""
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=True) + "\n"
        write_output(path, text.encode("utf-8"))

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read a manifest file.

        :raises PackagingError: unreadable, not JSON, or not a manifest.
        """
        try:
            data = json.loads(read_text(path))
        except OSError as exc:
            raise PackagingError(f"{path}: cannot read manifest: {exc.strerror or exc}") from None
        except (ValueError, RecursionError) as exc:
            raise PackagingError(f"{path}: cannot read manifest: {exc}") from None
        if not isinstance(data, dict):
            raise PackagingError(f"{path}: not a manifest")
        return cls.from_dict(data)
