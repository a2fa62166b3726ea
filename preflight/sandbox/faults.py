"""Fault injection for the sandbox: which request fails how."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight.errors import ConfigError

#: Fault names -> what happens to the N-th PUT / API call (1-based, counted separately).
FAULT_KINDS = {
    "fail_put": "answer the N-th upload PUT with HTTP 500 after reading its body (URL not used)",
    "drop_put": "close the connection half-way through the N-th PUT body (URL not used)",
    "lose_put": "store the N-th PUT (URL used) but close the connection without an answer",
    "throttle": "answer the N-th API call with 429 APIGW.0308",
    "fail_api": "answer the N-th API call with 500 MSS.00000004",
}
#: Faults by operation name (``create``, ``update``, ``show``, or a command such as
#: ``SUBMITVERIFYING``); each listed name hits the first call of that operation, a name
#: listed twice the first two.
OP_FAULT_KINDS = {
    "lose_answer": "carry out the operation, then drop the connection without an answer",
    "fail_command": "answer the command with commond_result EXCUTE_FAILED",
}


@dataclass
class FaultPlan:
    """Counters to fail at, plus a fixed delay added to every response."""

    fail_put: set[int] = field(default_factory=set)
    drop_put: set[int] = field(default_factory=set)
    lose_put: set[int] = field(default_factory=set)
    throttle: set[int] = field(default_factory=set)
    fail_api: set[int] = field(default_factory=set)
    lose_answer: list[str] = field(default_factory=list)
    fail_command: list[str] = field(default_factory=list)
    slow_ms: int = 0

    def take(self, kind: str, op: str) -> bool:
        """Whether the op-fault ``kind`` hits this call of ``op`` (each entry hits once)."""
        items: list[str] = getattr(self, kind)
        if op in items:
            items.remove(op)
            return True
        return False

    def put_fault(self, n: int) -> str | None:
        """The fault for the n-th PUT, if any."""
        for name in ("fail_put", "drop_put", "lose_put"):
            if n in getattr(self, name):
                return name
        return None

    def api_fault(self, n: int) -> str | None:
        """The fault for the n-th API call, if any."""
        for name in ("throttle", "fail_api"):
            if n in getattr(self, name):
                return name
        return None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultPlan:
        """From ``{"fail_put": [3], "slow_ms": 50, ...}``.

        :raises ConfigError: unknown keys or non-integer values.
        """
        plan = cls()
        for key, value in data.items():
            if key == "slow_ms":
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ConfigError("faults: slow_ms must be a non-negative integer")
                plan.slow_ms = value
            elif key in OP_FAULT_KINDS:
                values = value if isinstance(value, list) else [value]
                if not all(isinstance(v, str) and v for v in values):
                    raise ConfigError(f"faults: {key} must list operation names")
                getattr(plan, key).extend(values)
            elif key in FAULT_KINDS:
                values = value if isinstance(value, list) else [value]
                if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                           for v in values):
                    raise ConfigError(f"faults: {key} must list positive integers")
                getattr(plan, key).update(values)
            else:
                raise ConfigError(f"faults: unknown key {key!r}; expected one of "
                                  f"{', '.join([*FAULT_KINDS, *OP_FAULT_KINDS, 'slow_ms'])}")
        return plan

    @classmethod
    def load(cls, path: Path) -> FaultPlan:
        """Read a JSON fault file.

        :raises ConfigError: unreadable or invalid.
        """
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read fault file: {exc}", path=path) from None
        if not isinstance(data, dict):
            raise ConfigError("fault file must hold a JSON object", path=path)
        return cls.from_dict(data)
