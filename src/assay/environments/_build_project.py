"""Build the project's editable wheel (PEP 660) in the sandbox: stdlib only.

Run as `python _build_project.py CONFIG_JSON` with the project as cwd, inside the
environment its tests use, so the backend (setuptools, hatchling, flit, poetry,
pdm...) is the one installed there. Building runs the project's own build code
(`setup.py`, build hooks, a C compiler), which is why it happens here and not in
the server. setuptools builds compiled extensions in place, in the project's tree,
exactly as `pip install -e .` does for a developer. A backend without
`build_editable` gets `build_wheel`, installed as a regular wheel.

CONFIG_JSON: {"backend": "pkg.mod:obj", "backend_path": [...], "out": "/dir"}.
It writes {"wheel": name, "mode": "editable"|"wheel"} to `out/assay-build.json`.
"""

from __future__ import annotations

import importlib
import json
import os
import sys

RESULT = "assay-build.json"


def load_backend(spec: str, backend_path: list[str]) -> object:
    for entry in reversed(backend_path):
        sys.path.insert(0, os.path.abspath(entry))
    module_name, _, attr = spec.partition(":")
    backend = importlib.import_module(module_name)
    for part in filter(None, attr.split(".")):
        backend = getattr(backend, part)
    return backend


def main() -> None:
    cfg = json.loads(sys.argv[1])
    backend = load_backend(cfg["backend"], cfg.get("backend_path") or [])
    out = cfg["out"]
    if hasattr(backend, "build_editable"):
        name, mode = backend.build_editable(out), "editable"
    else:
        name, mode = backend.build_wheel(out), "wheel"  # type: ignore[attr-defined]
    with open(os.path.join(out, RESULT), "w") as f:
        json.dump({"wheel": name, "mode": mode}, f)


if __name__ == "__main__":
    main()
