"""What snapshotting an unchanged tree costs on every plan's path, and its baseline.

Every plan starts by naming the project's tree by its content (a new commit gets a
new snapshot; an unchanged tree reuses the stored one). Measured in one run, on the
tree given (default: a generated tree of `--files` modules of `--kib` KiB each):

- baseline: the full read, every file hashed (what every plan paid before digests
  were remembered, and what a tree that changed everywhere still pays);
- remembered: the same tree again, its files' digests kept by stat;
- one file changed: what a new commit that touches one module pays.

Run: python bench/snapshot.py [--tree PATH] [--files 2000] [--kib 8] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from assay.snapshots import FileDigests, snapshot_tree


def generate(root: Path, files: int, kib: int) -> Path:
    """`files` modules in folders of 50, aged an hour (a checkout from a while ago)."""
    then = time.time() - 3600
    for i in range(files):
        path = root / f"pkg{i // 50}" / f"mod{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# module {i}\n" + "x = 1\n" * (kib * 1024 // 6))
        os.utime(path, (then, then))
    return root


def timed(step: Callable[[], object], repeat: int) -> float:
    """Median wall milliseconds of `step` over `repeat` runs."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        step()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, help="a project to snapshot (default: generated)")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--kib", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tree = args.tree or generate(work / "tree", args.files, args.kib)
        snaps = work / "snapshots"
        first = snapshot_tree(tree, snaps, known=None)[0]  # stored once, as the first plan
        known = FileDigests()
        full = timed(lambda: snapshot_tree(tree, snaps, known=None), args.repeat)
        assert snapshot_tree(tree, snaps, known=known)[0] == first
        remembered = timed(lambda: snapshot_tree(tree, snaps, known=known), args.repeat)
        changed_ms = []
        if args.tree is None:  # never write into a tree someone gave us
            target = next(tree.rglob("mod0.py"))
            for n in range(args.repeat):
                target.write_text(target.read_text() + f"y{n} = 2\n")
                started = time.perf_counter()
                snapshot_tree(tree, snaps, known=known)
                changed_ms.append((time.perf_counter() - started) * 1000)
        files = sum(1 for p in tree.rglob("*") if p.is_file())

    table = Table(title=f"Snapshot of an unchanged tree ({files} files), median of {args.repeat}")
    table.add_column("step")
    table.add_column("ms", justify="right")
    table.add_column("÷ full read", justify="right")
    table.add_row("full read (baseline)", f"{full:.1f}", "1.00")
    table.add_row("remembered digests", f"{remembered:.1f}", f"{remembered / full:.2f}")
    if changed_ms:
        changed = statistics.median(changed_ms)
        table.add_row("one file changed (new snapshot)", f"{changed:.1f}", f"{changed / full:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
