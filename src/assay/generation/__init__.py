"""Test generation: turn a diff or a function into validated pytest tests.

Library only (no database, no HTTP server): `assay.generation.service.generate` is the
entry point; `validate_request` runs the cheap input checks the API needs for a 422.
"""

from assay.generation.errors import GenerationInputError
from assay.generation.symbols import Symbol, list_symbols

__all__ = ["GenerationInputError", "Symbol", "list_symbols"]
