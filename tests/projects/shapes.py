"""Fixture projects of every shape, written by the tests, and the developers' reference.

Each shape is a small real project: a build declaration, code, a test suite and the
test dependencies it declares its own way. `reference_outcomes` sets it up as its
developers would (a fresh venv, `pip install -e .` plus its declared test
dependencies, `pytest`) and returns pytest's outcome per node id, which Assay's
import and run must match.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

from assay.environments.interpreters import find_interpreter, server_version
from assay.environments.uv import uv_binary

C_EXTENSION = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "fastsum"
        version = "1.4.2"
        requires-python = ">=3.9"

        [project.entry-points."fastsum.plugins"]
        double = "fastsum:double"

        [tool.setuptools.package-data]
        fastsum = ["data/*.txt"]

        [tool.pytest.ini_options]
        testpaths = ["tests"]
    """,
    "setup.py": """
        from setuptools import Extension, setup

        setup(ext_modules=[Extension("fastsum._speed", ["src/fastsum/_speed.c"])])
    """,
    "src/fastsum/__init__.py": """
        from importlib.metadata import version

        from fastsum._speed import add

        __version__ = version("fastsum")


        def double(x):
            return add(x, x)
    """,
    "src/fastsum/data/greeting.txt": "hello from the package\n",
    "src/fastsum/_speed.c": """
        #include <Python.h>
        static PyObject *add(PyObject *self, PyObject *args) {
            long a, b;
            if (!PyArg_ParseTuple(args, "ll", &a, &b)) return NULL;
            return PyLong_FromLong(a + b);
        }
        static PyMethodDef methods[] = {{"add", add, METH_VARARGS, ""}, {NULL, NULL, 0, NULL}};
        static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "_speed", NULL, -1, methods};
        PyMODINIT_FUNC PyInit__speed(void) { return PyModule_Create(&mod); }
    """,
    "tests/test_fastsum.py": """
        from importlib import resources
        from importlib.metadata import entry_points, version

        import fastsum


        def test_the_extension_adds():
            assert fastsum.add(2, 40) == 42


        def test_metadata_version():
            assert fastsum.__version__ == version("fastsum") == "1.4.2"


        def test_entry_point_is_registered():
            [ep] = entry_points(group="fastsum.plugins")
            assert ep.load()(21) == 42


        def test_package_data():
            text = resources.files("fastsum").joinpath("data/greeting.txt").read_text()
            assert text.startswith("hello")


        def test_a_real_failure():
            assert fastsum.double(2) == 5
    """,
}

DEPENDENCY_GROUPS = {
    "pyproject.toml": """
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "grouped"
        version = "0.1.0"
        dependencies = ["six"]

        [dependency-groups]
        test = ["iniconfig", {include-group = "typing"}]
        typing = ["typing-extensions"]

        [tool.hatch.build.targets.wheel]
        packages = ["src/grouped"]
    """,
    "src/grouped/__init__.py": """
        import six

        NAME = six.ensure_str(b"grouped")
    """,
    "tests/conftest.py": """
        import iniconfig  # a test dependency, declared only in a dependency group
        import pytest


        @pytest.fixture
        def parsed():
            return iniconfig.IniConfig("x.ini", data="[s]\\nk = v\\n")
    """,
    "tests/test_grouped.py": """
        from importlib.metadata import version

        import typing_extensions

        import grouped


        def test_name(parsed):
            assert grouped.NAME == "grouped" and parsed["s"]["k"] == "v"


        def test_installed_version():
            assert version("grouped") == "0.1.0"


        def test_included_group():
            assert typing_extensions.Literal
    """,
}

REQUIREMENTS_DEV = {
    "setup.py": """
        from setuptools import setup

        setup(name="flatreq", version="2.0", py_modules=["flatreq"])
    """,
    "requirements-dev.txt": "iniconfig\n",
    "flatreq.py": """
        def shout(s):
            '''
            >>> shout("hi")
            'HI'
            '''
            return s.upper()
    """,
    "pytest.ini": """
        [pytest]
        addopts = --doctest-modules
        testpaths = tests flatreq.py
    """,
    "tests/test_flat.py": """
        import unittest

        import iniconfig

        import flatreq


        class ShoutTest(unittest.TestCase):
            def test_upper(self):
                self.assertEqual(flatreq.shout("a"), "A")

            @unittest.skip("not today")
            def test_skipped(self):
                pass


        def test_iniconfig_available():
            assert iniconfig.__name__ == "iniconfig"
    """,
}

TOX_COV = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "covpkg"
        version = "3.0"

        [tool.setuptools]
        packages = ["covpkg"]

        [tool.pytest.ini_options]
        addopts = "--cov=covpkg --no-cov-on-fail -ra"
        markers = ["slowish: a marker the project registers"]
    """,
    "tox.ini": """
        [testenv]
        deps =
            pytest-cov
        commands = pytest
    """,
    "covpkg/__init__.py": "def half(x):\n    return x / 2\n",
    "tests/test_cov.py": """
        import pytest

        import covpkg


        @pytest.mark.slowish
        def test_half():
            assert covpkg.half(4) == 2


        def test_zero():
            assert covpkg.half(0) == 0
    """,
}

BROKEN_MODULE = {
    "setup.py": """
        from setuptools import setup

        setup(name="halfbroken", version="0.0.1", packages=["halfbroken"])
    """,
    "halfbroken/__init__.py": "VALUE = 3\n",
    "tests/test_ok.py": """
        from halfbroken import VALUE


        def test_value():
            assert VALUE == 3


        def test_fails():
            assert VALUE == 4
    """,
    "tests/test_broken.py": """
        import a_module_nobody_has


        def test_never_collected():
            pass
    """,
}

TEST_EXTRAS_FLIT = {
    "pyproject.toml": """
        [build-system]
        requires = ["flit_core>=3.4"]
        build-backend = "flit_core.buildapi"

        [project]
        name = "flitted"
        version = "0.9.1"
        description = "a flit project"
        dependencies = []

        [project.optional-dependencies]
        test = ["iniconfig"]
        docs = ["a-docs-only-dependency-never-installed"]
    """,
    "flitted/__init__.py": """
        \"\"\"A flit project: its version read from its metadata.\"\"\"
        from importlib.metadata import version

        __version__ = version("flitted")
    """,
    "tests/test_flitted.py": """
        import iniconfig

        import flitted


        def test_version():
            assert flitted.__version__ == "0.9.1"


        def test_extra_installed():
            assert iniconfig
    """,
}

SHADOWED_BY_ITS_REGISTRY_COPY = {
    # A project the test tools themselves depend on, as pluggy, packaging and iniconfig
    # are for pytest: the environment holds the registry's copy of it (here hypothesis's
    # sortedcontainers), which the developers' `pip install -e .` replaces.
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "sortedcontainers"
        version = "0.0.1.dev7"

        [project.entry-points."sortedcontainers.fixture"]
        mark = "sortedcontainers:MARK"

        [tool.setuptools]
        packages = ["sortedcontainers"]
    """,
    "sortedcontainers/__init__.py": 'MARK = "the project under test"\n',
    "tests/test_installed.py": """
        from importlib.metadata import entry_points, version

        import sortedcontainers


        def test_the_code_is_the_projects():
            assert sortedcontainers.MARK == "the project under test"


        def test_the_metadata_is_the_projects():
            assert version("sortedcontainers") == "0.0.1.dev7"


        def test_the_entry_points_are_the_projects():
            found = entry_points(group="sortedcontainers.fixture")
            assert [ep.name for ep in found] == ["mark"]
    """,
}

SHAPES = {
    "c-extension": C_EXTENSION,
    "test-extras-flit": TEST_EXTRAS_FLIT,
    "dependency-groups": DEPENDENCY_GROUPS,
    "requirements-dev": REQUIREMENTS_DEV,
    "tox-cov-addopts": TOX_COV,
    "module-fails-to-collect": BROKEN_MODULE,
    "shadowed-by-its-registry-copy": SHADOWED_BY_ITS_REGISTRY_COPY,
}

REFERENCE_INSTALL = {
    "c-extension": ["-e", "."],
    "dependency-groups": ["-e", ".", "--group", "test"],
    "requirements-dev": ["-e", ".", "-r", "requirements-dev.txt"],
    "tox-cov-addopts": ["-e", ".", "pytest-cov"],
    "module-fails-to-collect": ["-e", "."],
    "test-extras-flit": ["-e", ".[test]"],
    "shadowed-by-its-registry-copy": ["-e", "."],
}
COLLECTION_ERRORS = {"module-fails-to-collect": ["tests/test_broken.py"]}
"""Shapes whose reference run continues past collection errors to compare the rest."""


def write_shape(root: Path, shape: str) -> Path:
    for name, text in SHAPES[shape].items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


OUTCOME_PLUGIN = """
import json, os

_outcomes = {}


def pytest_runtest_logreport(report):
    if report.when == "call":
        _outcomes[report.nodeid] = report.outcome
    elif report.outcome == "skipped":
        _outcomes[report.nodeid] = "skipped"
    elif report.outcome == "failed":
        _outcomes.setdefault(report.nodeid, "error")


def pytest_sessionfinish(session):
    with open(os.environ["OUTCOMES_FILE"], "w") as f:
        json.dump(_outcomes, f)
"""


def reference_outcomes(project: Path, shape: str, venv: Path) -> dict[str, str]:
    """What the project's developers see: a venv, `pip install -e .` + test deps, pytest."""
    uv = uv_binary()
    python = find_interpreter(server_version())
    assert uv is not None and python is not None
    subprocess.run([uv, "venv", "-q", "--python", str(python), str(venv)], check=True)
    vpy = str(venv / "bin" / "python")
    subprocess.run([uv, "pip", "install", "-q", "--python", vpy, "pytest",
                    *REFERENCE_INSTALL[shape]], cwd=project, check=True, capture_output=True)
    plugin_dir = venv / "plugin"
    plugin_dir.mkdir()
    (plugin_dir / "outcomes_plugin.py").write_text(OUTCOME_PLUGIN)
    out = venv / "outcomes.json"
    env = {**os.environ, "PYTHONPATH": str(plugin_dir), "OUTCOMES_FILE": str(out)}
    env = {k: v for k, v in env.items() if not k.startswith("ASSAY_")}
    subprocess.run([vpy, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
                    "outcomes_plugin", "--continue-on-collection-errors"],
                   cwd=project, env=env, capture_output=True, check=False)
    return dict(json.loads(out.read_text()))
