"""The layout of the tests, walked with `ast` and the file system:

- no module under tests/ imports a test module (`test_*.py`): fixtures they share live in a conftest.py, which
  pytest finds without an import, and helpers in a factories module (tests/factories.py, or a `*_world.py`
  beside the tests that use it);
- every test module sits in the folder that mirrors the source folder it tests (tests/safegrade/io/ for
  safegrade/io/, tests/states/ for states/), or in one of the few cross-cutting folders listed below;
- every folder of tests is a package (the suite imports its modules as `tests.…`, so two test modules may
  share a name in different folders).

Each failure names the file and what to do.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from safegrade.settings import PROJECT_ROOT

SOURCE_ROOTS = ("safegrade", "states", "flows")

# Folders of tests/ that test the product as a whole rather than one source folder.
CROSS_CUTTING = {
    Path("."): "the whole product: end to end, the import layers, this layout",
}


def modules_of_tests(tests: Path) -> Iterator[Path]:
    """Every test module under `tests`, in a stable order."""
    yield from sorted(tests.rglob("test_*.py"))


def module_name(path: Path, project: Path) -> str:
    return ".".join(path.relative_to(project).with_suffix("").parts)


def imported_names(path: Path, project: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every module `path` imports or may import: relative imports resolved, and for
    `from P import x` both P and P.x (x may be a module)."""
    name = module_name(path, project)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            yield node.lineno, base
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)


def is_test_module(name: str, project: Path) -> bool:
    path = project.joinpath(*name.split(".")).with_suffix(".py")
    return path.name.startswith("test_") and path.is_file()


def imports_of_modules_of_tests(tests: Path, project: Path) -> list[str]:
    """Where a module under `tests` imports a test module."""
    found = []
    for path in sorted(tests.rglob("*.py")):
        for line, name in sorted(imported_names(path, project)):
            if is_test_module(name, project):
                found.append(f"{path.relative_to(project)}:{line} imports the test module {name}: move what it "
                             "shares to a conftest.py (fixtures) or a factories module (helpers)")
    return found


def misplaced_modules_of_tests(tests: Path, project: Path) -> list[str]:
    """Test modules whose folder mirrors no source folder and is not a listed cross-cutting one."""
    found = []
    for path in modules_of_tests(tests):
        folder = path.parent.relative_to(tests)
        if folder in CROSS_CUTTING:
            continue
        if folder.parts[0] not in SOURCE_ROOTS or not (project / folder).is_dir():
            found.append(f"{path.relative_to(project)}: no source folder {folder.as_posix()}/ to mirror: move it "
                         "beside the tests of what it tests, or list its folder in CROSS_CUTTING with why")
    return found


def folders_without_init(tests: Path, project: Path) -> list[str]:
    folders = {path.parent for path in tests.rglob("*.py")}
    return [f"{folder.relative_to(project)}: no __init__.py" for folder in sorted(folders)
            if not (folder / "__init__.py").is_file()]


# --- the project's tests --------------------------------------------------------------------------------

TESTS = PROJECT_ROOT / "tests"


def test_no_module_under_tests_imports_a_test_module() -> None:
    assert imports_of_modules_of_tests(TESTS, PROJECT_ROOT) == []


def test_every_test_module_mirrors_a_source_folder() -> None:
    assert misplaced_modules_of_tests(TESTS, PROJECT_ROOT) == []


def test_every_folder_of_tests_is_a_package() -> None:
    assert folders_without_init(TESTS, PROJECT_ROOT) == []


def test_the_cross_cutting_folders_hold_tests() -> None:
    """A listed folder that no longer holds a test module is a stale exception."""
    for folder in CROSS_CUTTING:
        assert any(path.parent == TESTS / folder for path in modules_of_tests(TESTS)), folder


# --- the checks catch what they look for, in a made-up project ---------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with safegrade/io/ and a tests/ tree that breaks each rule once, beside imports that are fine."""
    (tmp_path / "safegrade" / "io").mkdir(parents=True)
    files = {
        "tests/__init__.py": "",
        "tests/factories.py": "",
        "tests/conftest.py": "",
        "tests/test_end_to_end.py": "from tests.factories import row\nfrom tests.conftest import at\n",
        "tests/safegrade/__init__.py": "",
        "tests/safegrade/test_rules.py": "",
        "tests/safegrade/io/__init__.py": "",
        "tests/safegrade/io/test_ledger.py": (
            "from tests.safegrade.test_rules import edit\n"  # absolute
            "from ..test_rules import problems\n"  # relative
            "from .. import test_rules\n"  # the module as a name of its package
            "import tests.safegrade.test_rules\n"  # plain import
            "def late():\n    from tests.test_end_to_end import world\n"  # inside a function
            "from tests.factories import test_double\n"  # a name beginning with test_, not a module: fine
        ),
        "tests/safegrade/io/ledger_world.py": "from tests.safegrade.io import test_ledger\n",  # a helper, too
        "tests/safegrade/nowhere/test_lost.py": "",  # no safegrade/nowhere/, no __init__.py
        "tests/elsewhere/__init__.py": "",
        "tests/elsewhere/test_stray.py": "",  # not under a source root
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_an_import_of_a_test_module_is_found_however_it_is_written(project: Path) -> None:
    found = imports_of_modules_of_tests(project / "tests", project)
    where = [(line.split(" ")[0], line.split(" ")[5].rstrip(":")) for line in found]
    assert where == [
        ("tests/safegrade/io/ledger_world.py:1", "tests.safegrade.io.test_ledger"),
        ("tests/safegrade/io/test_ledger.py:1", "tests.safegrade.test_rules"),
        ("tests/safegrade/io/test_ledger.py:2", "tests.safegrade.test_rules"),
        ("tests/safegrade/io/test_ledger.py:3", "tests.safegrade.test_rules"),
        ("tests/safegrade/io/test_ledger.py:4", "tests.safegrade.test_rules"),
        ("tests/safegrade/io/test_ledger.py:6", "tests.test_end_to_end"),
    ]
    assert found[0].endswith("move what it shares to a conftest.py (fixtures) or a factories module (helpers)")


def test_a_test_module_outside_the_mirror_is_found(project: Path) -> None:
    assert misplaced_modules_of_tests(project / "tests", project) == [
        "tests/elsewhere/test_stray.py: no source folder elsewhere/ to mirror: move it beside the tests of what "
        "it tests, or list its folder in CROSS_CUTTING with why",
        "tests/safegrade/nowhere/test_lost.py: no source folder safegrade/nowhere/ to mirror: move it beside the "
        "tests of what it tests, or list its folder in CROSS_CUTTING with why",
    ]


def test_a_folder_of_tests_without_init_is_found(project: Path) -> None:
    assert folders_without_init(project / "tests", project) == ["tests/safegrade/nowhere: no __init__.py"]
