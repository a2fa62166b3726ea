"""The outputs of a check never replace its inputs.

Before a check runs, every output the user named (the report, the contact sheet) is refused
when it is a link, FIFO, device or folder, or an input of the check: a target, a file a target
spec names, or a media file or spec inside a target folder (hard and symbolic links to one
included). The inputs found are what the report writer compares against again when it
writes (`preflight.safeio.writing`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from preflight.errors import PreflightError
from preflight.metastudio import guess_slot_from_name, is_spec_path
from preflight.safeio import refuse_output
from preflight.spec import load_spec


def inputs_of(targets: Iterable[str]) -> tuple[str, ...]:
    """The targets and every file a target spec names (a spec that cannot be read adds
    nothing: the check reports it)."""
    inputs = list(targets)
    for t in list(inputs):
        if is_spec_path(t) and Path(t).is_file():
            try:
                inputs += [str(p) for _, p in load_spec(t).files()]
            except PreflightError:
                continue
    return tuple(inputs)


def refuse(output: str, targets: Iterable[str], inputs: Iterable[str]) -> None:
    """Refuse `output` before checking (see the module docstring).

    :raises PreflightError: naming the output and why.
    """
    try:
        refuse_output(output, inputs)
    except OSError as exc:
        raise PreflightError(f"cannot write {output}: {exc.strerror}") from None
    where = Path(output).absolute()
    if not where.is_file() or not (is_spec_path(where) or guess_slot_from_name(where.name)):
        return
    for t in targets:
        if Path(t).is_dir() and where.is_relative_to(Path(t).absolute()):
            raise PreflightError(f"cannot write {output}: it is a file of the checked folder "
                                 f"{t}; writing it would destroy an input")
