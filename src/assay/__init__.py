"""Assay: a self-hosted test platform for Python projects."""

__version__ = "0.1.0"
