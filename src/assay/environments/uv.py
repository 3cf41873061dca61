"""Where the uv binary is: the one shipped in the `uv` package, else one on PATH."""

from __future__ import annotations

import shutil


def uv_binary() -> str | None:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")
