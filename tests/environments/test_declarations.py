"""Reading what a project declares its tests need, as its developers would (no services)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from assay.environments.declarations import Choice, DeclarationError, detect
from assay.environments.interpreters import NoInterpreter, available_interpreters, choose_version
from assay.environments.spec import detect_environment


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return root


def used(root: Path, choice: Choice | None = None) -> dict[str, str]:
    return {r.text: r.origin for r in detect(root, choice).requirements}


def test_dependency_groups_with_include_group_win_over_requirement_files(tmp_path: Path) -> None:
    write(tmp_path, {
        "pyproject.toml": """
            [project]
            name = "p"
            version = "1"
            dependencies = ["attrs"]
            [dependency-groups]
            test = ["pytest-mock", {include-group = "typing"}]
            typing = ["typing-extensions"]
            docs = ["sphinx"]
        """,
        "requirements-dev.txt": "black\n",
    })
    detection = detect(tmp_path)
    assert used(tmp_path) == {
        "attrs": "pyproject.toml [project.dependencies]",
        "pytest-mock": "pyproject.toml [dependency-groups] test",
        "typing-extensions": "pyproject.toml [dependency-groups] test",
    }
    shown = {d.source: d.used for d in detection.declarations}
    assert shown["requirements-dev.txt"] is False  # found and shown, not installed


def test_requirement_files_follow_includes_and_the_projects_own_extras(tmp_path: Path) -> None:
    write(tmp_path, {
        "pyproject.toml": """
            [project]
            name = "p"
            version = "1"
            [project.optional-dependencies]
            speedups = ["ujson"]
        """,
        "requirements-dev.txt": "-r requirements/base.txt\n-e .[speedups]\npytest-cov  # cov\n",
        "requirements/base.txt": "six==1.16.0\n--index-url https://example.invalid\n",
    })
    assert used(tmp_path) == {"six==1.16.0": "requirements-dev.txt",
                              "ujson": "requirements-dev.txt",
                              "pytest-cov": "requirements-dev.txt"}


def test_test_extras_tox_and_setup_cfg(tmp_path: Path) -> None:
    extras = write(tmp_path / "extras", {"pyproject.toml": """
        [project]
        name = "p"
        version = "1"
        [project.optional-dependencies]
        testing = ["pytest-xdist"]
    """})
    assert used(extras) == {
        "pytest-xdist": "pyproject.toml [project.optional-dependencies] testing"}
    tox = write(tmp_path / "tox", {"tox.ini": """
        [testenv]
        deps =
            pytest-timeout
            .[test]
        commands = pytest
    """, "setup.cfg": """
        [options]
        install_requires =
            click>=8
        [options.extras_require]
        test =
            freezegun
    """})
    # setup.cfg's test extra is found too, but tox's deps come first in the order
    assert used(tox) == {"click>=8": "setup.cfg [options] install_requires",
                         "pytest-timeout": "tox.ini [testenv] deps",
                         "freezegun": "tox.ini [testenv] deps"}
    setup_py = write(tmp_path / "setuppy", {"setup.py": """
        from setuptools import setup
        setup(name="p", install_requires=["idna"], extras_require={"tests": ["responses"]})
    """})
    assert used(setup_py) == {"idna": "setup.py install_requires",
                              "responses": "setup.py extras_require tests"}


def test_explicit_choices_replace_detection_and_bad_ones_say_what_to_fix(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": """
        [project]
        name = "p"
        version = "1"
        [dependency-groups]
        test = ["pytest-mock"]
        lint = ["ruff"]
    """, "requirements-ci.txt": "coverage\n"})
    choice = Choice(groups=["lint"], requirement_files=["requirements-ci.txt"],
                    extra_requirements=["tzdata"])
    assert set(used(tmp_path, choice)) == {"ruff", "coverage", "tzdata"}
    with pytest.raises(DeclarationError, match="'nope' is not declared"):
        detect(tmp_path, Choice(groups=["nope"]))
    with pytest.raises(DeclarationError, match="does not exist"):
        detect(tmp_path, Choice(requirement_files=["../etc/passwd"]))
    write(tmp_path, {"pyproject.toml": "[dependency-groups]\na = [{include-group = 'a'}]\n"})
    with pytest.raises(DeclarationError, match="includes itself"):
        detect(tmp_path, Choice(groups=["a"]))


def test_interpreter_from_python_version_and_requires_python(tmp_path: Path) -> None:
    versions = list(available_interpreters())
    assert versions, "this machine has at least the server's Python"
    write(tmp_path, {".python-version": f"{versions[0]}\n", "pyproject.toml": """
        [project]
        name = "p"
        version = "1"
        requires-python = ">=3.8"
    """})
    env = detect_environment(tmp_path)
    assert env.spec.python_version == versions[0] and "pinned" in env.python_reason
    assert choose_version(f">={versions[-1]}", None)[0] == versions[-1]
    with pytest.raises(NoInterpreter, match="matches none of the Python versions on this "
                                            f"machine: {', '.join(versions)}"):
        choose_version(">=3.99", None)


def test_a_uv_lock_is_installed_frozen_with_the_test_groups(tmp_path: Path) -> None:
    import subprocess

    from assay.environments.uv import uv_binary

    write(tmp_path, {"pyproject.toml": """
        [project]
        name = "locked"
        version = "1"
        requires-python = ">=3.10"
        dependencies = ["six"]
        [dependency-groups]
        test = ["iniconfig"]
    """})
    uv = uv_binary()
    assert uv is not None
    subprocess.run([uv, "lock", "-q"], cwd=tmp_path, check=True)
    requirements = detect_environment(tmp_path).spec.requirements
    pinned = {r.split("==")[0]: r for r in requirements}
    assert set(pinned) == {"six", "iniconfig"} and all("==" in r for r in requirements)
    (tmp_path / "pyproject.toml").write_text(
        (tmp_path / "pyproject.toml").read_text().replace('"six"', '"six", "idna"'))
    # frozen: what the lock says, even when pyproject.toml has moved on (as `uv sync --frozen`)
    assert detect_environment(tmp_path).spec.requirements == requirements
    (tmp_path / "uv.lock").write_text("this is not a lock\n")
    with pytest.raises(DeclarationError, match=r"uv\.lock cannot be exported"):
        detect_environment(tmp_path)


def test_poetry_projects_get_their_dependencies_and_test_groups_as_pep_440(
    tmp_path: Path,
) -> None:
    """A Poetry project as `poetry install` sets it up: runtime and dev dependencies,
    caret and tilde constraints as the ranges Poetry means; paths and `python` left out."""
    write(tmp_path, {
        "pyproject.toml": """
            [tool.poetry]
            name = "p"
            version = "1"
            [tool.poetry.dependencies]
            python = "^3.8"
            attrs = "^0.3.1"
            local-thing = {path = "../thing"}
            [tool.poetry.dev-dependencies]
            pytest = "^7.2.0"
            PyYAML = "~6.0"
            rich = {version = "^13", extras = ["jupyter"]}
            [tool.poetry.group.docs.dependencies]
            sphinx = "*"
            [build-system]
            requires = ["poetry-core>=1.0.0"]
            build-backend = "poetry.core.masonry.api"
        """,
    })
    assert used(tmp_path) == {
        "attrs>=0.3.1,<0.4": "pyproject.toml [tool.poetry.dependencies]",
        "pytest>=7.2.0,<8": "pyproject.toml [tool.poetry.dev-dependencies]",
        "PyYAML>=6.0,<6.1": "pyproject.toml [tool.poetry.dev-dependencies]",
        "rich[jupyter]>=13,<14": "pyproject.toml [tool.poetry.dev-dependencies]",
    }


def test_poetry_test_group_is_read_like_a_dependency_group(tmp_path: Path) -> None:
    write(tmp_path, {
        "pyproject.toml": """
            [project]
            name = "p"
            version = "1"
            [tool.poetry.group.test.dependencies]
            hypothesis = "~6"
        """,
    })
    assert used(tmp_path) == {
        "hypothesis>=6,<7": "pyproject.toml [tool.poetry.group.test.dependencies]"}
