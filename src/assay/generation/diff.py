"""Read a unified diff, make sure the project tree contains it, and find what it changed.

The project the user points at may or may not already contain the change (a diff
from a pull request vs. a diff of the working tree), so each file is checked both
ways: if the post-image is already there it is used as is, if the pre-image is there
the hunks are applied to the scratch copy, otherwise the diff is rejected with the
file and hunk that do not match, which is what a person needs to fix it.

A project may be a folder of a git repository (`examples/mylib`), and `git diff` at the
repository's root names files from there (`examples/mylib/mylib/pricing.py`). Given
the project's `prefix` in its repository (`repository_prefix`), such a diff is read
relative to the project (`mylib/pricing.py`), and files outside it are left out with
a note. A diff that still does not apply says which path it named, which project file
that is, and why it does not match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from unidiff import PatchedFile, PatchSet
from unidiff.errors import UnidiffParseError

from assay.generation.errors import GenerationInputError

DEF_RE = re.compile(r"^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)")


@dataclass
class FileChange:
    """What one Python file of the diff changed, in post-image line numbers."""

    path: str
    changed_lines: set[int] = field(default_factory=set)
    removed_defs: set[str] = field(default_factory=set)
    deleted: bool = False


@dataclass
class ParsedDiff:
    patch: PatchSet
    python_files: list[PatchedFile]
    notes: list[str]
    prefix: str | None = None
    """The project's folder in its git repository ("" at the root; None: not in one)."""
    paths: dict[int, str] = field(default_factory=dict)
    """id(file) -> its path relative to the project, where it differs from the named one."""

    def path(self, pfile: PatchedFile) -> str:
        """The file's path relative to the project."""
        return self.paths.get(id(pfile), _path(pfile))


def repository_prefix(project_dir: Path) -> str | None:
    """The project's folder relative to the root of the git repository it lies in.

    "" when the project is the repository's root, None when it is in no repository.
    Found by walking up to the nearest folder with a `.git` (a directory, or the file
    of a worktree or submodule), without running git.
    """
    here = project_dir.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            rel = here.relative_to(folder).as_posix()
            return "" if rel == "." else rel
    return None


def _path(pfile: PatchedFile) -> str:
    path = pfile.source_file if pfile.is_removed_file else pfile.target_file
    path = pfile.path if path in (None, "/dev/null") else path
    for prefix in ("a/", "b/"):
        if path.startswith(prefix):
            path = path[len(prefix) :]
    return path


def parse_diff(text: str | None, prefix: str | None = None) -> ParsedDiff:
    """Parse and sanity-check a unified diff; raise GenerationInputError if unusable.

    `prefix`: the project's folder in its git repository (see `repository_prefix`).
    When the diff names files under it, it was taken at the repository's root: its
    paths are read relative to the project, and files outside the project are left out.
    """
    if not text or not text.strip():
        raise GenerationInputError(
            "the diff is empty: paste the output of `git diff`", field="diff"
        )
    try:
        patch = PatchSet(text)
    except UnidiffParseError as exc:
        raise GenerationInputError(
            f"this is not a valid unified diff: {exc}", field="diff"
        ) from exc
    if len(patch) == 0:
        raise GenerationInputError(
            "this text is not a unified diff (no '--- a/file' / '+++ b/file' headers with "
            "'@@' hunks found): paste the output of `git diff`",
            field="diff",
        )
    notes: list[str] = []
    python_files = []
    paths: dict[int, str] = {}
    inside = f"{prefix}/" if prefix else None
    from_root = inside is not None and any(_path(p).startswith(inside) for p in patch)
    for pfile in patch:
        path = _path(pfile)
        if from_root:
            assert inside is not None
            if not path.startswith(inside):
                notes.append(
                    f"ignored {path}: outside the project (the diff is from the repository's "
                    f"root, and the project is its folder {prefix})"
                )
                continue
            paths[id(pfile)] = path = path[len(inside) :]
        if path.endswith(".py"):
            python_files.append(pfile)
        else:
            notes.append(f"ignored non-Python file {path}")
    if not python_files:
        names = ", ".join(_path(p) for p in patch)
        where = f" in the project's folder {prefix}" if from_root else ""
        raise GenerationInputError(
            f"the diff changes no Python file{where} (only {names}): "
            "nothing to generate tests for",
            field="diff",
        )
    return ParsedDiff(
        patch=patch, python_files=python_files, notes=notes, prefix=prefix, paths=paths
    )


def _names(parsed: ParsedDiff, pfile: PatchedFile) -> str:
    """How a message names a file: as the diff does, and as the project does if not the same."""
    named, path = _path(pfile), parsed.path(pfile)
    if named == path:
        return f"the diff names {path}"
    return (
        f"the diff names {named}; relative to the project (the folder {parsed.prefix} of "
        f"its git repository) that is {path}"
    )


def _missing(parsed: ParsedDiff, pfile: PatchedFile) -> GenerationInputError:
    named, path = _path(pfile), parsed.path(pfile)
    hint = ""
    if named == path and parsed.prefix:
        hint = (
            f"; the project is the folder {parsed.prefix} of a git repository: a diff from "
            f"the repository's root names this file {parsed.prefix}/{path}, one from the "
            "project's folder (`git diff --relative`) names it as the project does"
        )
    elif named == path:
        hint = "; its paths must be relative to the project's folder"
    return GenerationInputError(
        f"the diff does not apply: {_names(parsed, pfile)}, which does not exist in the "
        f"project{hint}",
        field="diff",
    )


def _hunk_images(hunk: object) -> tuple[list[str], list[str]]:
    pre = [ln.value.rstrip("\r\n") for ln in hunk if ln.is_context or ln.is_removed]  # type: ignore[attr-defined]
    post = [ln.value.rstrip("\r\n") for ln in hunk if ln.is_context or ln.is_added]  # type: ignore[attr-defined]
    return pre, post


def _find(lines: list[str], block: list[str], expected: int, start: int) -> int | None:
    """Position of `block` in `lines` at or after `start`, nearest to `expected`."""
    if not block:
        return max(start, min(expected, len(lines)))
    last = len(lines) - len(block)
    for distance in range(0, len(lines) + 1):
        for pos in (expected - distance, expected + distance):
            if start <= pos <= last and lines[pos : pos + len(block)] == block:
                return pos
        if expected - distance < start and expected + distance > last:
            break
    return None


def _hunk_label(path: str, index: int, hunk: object) -> str:
    h = hunk
    return (
        f"{path} hunk #{index} (@@ -{h.source_start},{h.source_length} "  # type: ignore[attr-defined]
        f"+{h.target_start},{h.target_length} @@)"  # type: ignore[attr-defined]
    )


def _apply(
    lines: list[str], pfile: PatchedFile, path: str, *, reverse_check: bool, names: str = ""
) -> list[str]:
    """Apply the hunks (or, with reverse_check, verify the post-image is present)."""
    out: list[str] = []
    pos = 0
    for index, hunk in enumerate(pfile, start=1):
        pre, post = _hunk_images(hunk)
        block = post if reverse_check else pre
        start_no = hunk.target_start if reverse_check else hunk.source_start
        length = hunk.target_length if reverse_check else hunk.source_length
        expected = start_no - 1 if length else start_no
        found = _find(lines, block, expected, pos)
        if found is None:
            raise GenerationInputError(
                f"the diff does not apply: {names or f'the diff names {path}'}, whose "
                f"lines do not match {_hunk_label(path, index, hunk)}: the project's "
                f"{path} has neither the diff's old nor its new version of them (was the "
                "diff taken against another version of the project?)",
                field="diff",
            )
        out.extend(lines[pos:found])
        out.extend(post)
        pos = found + len(block)
    out.extend(lines[pos:])
    return out


def apply_to_tree(parsed: ParsedDiff, tree: Path, *, write: bool) -> list[FileChange]:
    """Bring `tree` to the diff's post-image (writing only when `write`) and list changes."""
    changes: list[FileChange] = []
    for pfile in parsed.python_files:
        path = parsed.path(pfile)
        names = _names(parsed, pfile)
        file = tree / path
        change = FileChange(path=path, deleted=pfile.is_removed_file)
        for hunk in pfile:
            for ln in hunk:
                if ln.is_removed and (m := DEF_RE.match(ln.value)):
                    change.removed_defs.add(m.group(1))
        if pfile.is_removed_file:
            if write and file.exists():
                file.unlink()
            changes.append(change)
            continue
        text = file.read_text(encoding="utf-8") if file.exists() else None
        lines = text.splitlines() if text is not None else []
        try:
            new_lines = _apply(lines, pfile, path, reverse_check=True, names=names)
            already = new_lines == lines
        except GenerationInputError:
            already = False
        if not already:
            if pfile.is_added_file and text is not None and text.strip():
                raise GenerationInputError(
                    f"the diff does not apply: {names}, which it creates, but the project "
                    "already has it with other content",
                    field="diff",
                )
            if text is None and not pfile.is_added_file:
                raise _missing(parsed, pfile)
            new_lines = _apply(lines, pfile, path, reverse_check=False, names=names)
            if write:
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_text("\n".join(new_lines) + "\n", encoding="utf-8")
        for hunk in pfile:
            added = [ln.target_line_no for ln in hunk if ln.is_added]
            if added:
                change.changed_lines.update(n for n in added if n is not None)
            else:  # pure deletion: the lines around the gap are what changed behaviour
                seq = list(hunk)
                for i, ln in enumerate(seq):
                    if ln.is_removed:
                        for near in (
                            seq[i - 1] if i else None,
                            seq[i + 1] if i + 1 < len(seq) else None,
                        ):
                            if near is not None and near.is_context and near.target_line_no:
                                change.changed_lines.add(near.target_line_no)
        changes.append(change)
    return changes
