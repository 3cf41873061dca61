"""A tiny library to try Assay on: `make run`, then follow the README."""


def add(a: int, b: int) -> int:
    return a + b
