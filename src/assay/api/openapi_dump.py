"""Write the API's OpenAPI schema to a file: `python -m assay.api.openapi_dump OUT.json`.

The dashboard's types are generated from it (`make dashboard-types`). The app is built
but never started: its lifespan (migrations, the first admin, the orchestrator) does
not run, and the database engine is an in-memory SQLite one that is never connected
to. The data and sandbox directories are a temporary directory, removed at the end,
so nothing of a real install is read or written.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from assay.config import Settings


def openapi_schema() -> dict[str, Any]:
    from assay.api.app import create_app

    with tempfile.TemporaryDirectory(prefix="assay-openapi-") as tmp:
        root = Path(tmp)
        settings = Settings(
            data_dir=root / "data",
            sandbox_dir=root / "sandbox",
            env_cache_dir=root / "envs",
            database_url="sqlite://",
            secret_key="openapi-dump",
            cors_origins=[],
        )
        app = create_app(settings, orchestrator=False)
        try:
            return app.openapi()
        finally:
            app.state.ctx.db.dispose()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m assay.api.openapi_dump OUT.json  (- for standard output)",
              file=sys.stderr)
        return 2
    text = json.dumps(openapi_schema(), indent=2, ensure_ascii=False) + "\n"
    if args[0] == "-":
        sys.stdout.write(text)
    else:
        Path(args[0]).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
