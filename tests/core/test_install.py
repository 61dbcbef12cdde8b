"""Given ``scripts/install`` in a copy of the project, with stand-ins for the interpreter, pip and
npm that record every call, then a second run with nothing changed calls neither pip nor npm and
prints nothing; a changed input reinstalls only its part; a failure shows the log's tail.

The stand-ins let the test exercise the script's own decisions (stamps, log, messages) in a
fraction of a second, without the network."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROJECT_FILES = (
    "pyproject.toml",
    "scripts/install",
    "explorer/build.sh",
    "explorer/package.json",
    "explorer/package-lock.json",
)
# Everything the two scripts and the stand-ins run, and nothing else: no real npm, pip or python.
TOOLS = (
    "bash",
    "cat",
    "sha256sum",
    "cut",
    "mkdir",
    "tail",
    "sed",
    "rm",
    "cp",
    "mv",
    "chmod",
    "mktemp",
    "dirname",
    "touch",
)

STAND_IN_PYTHON = r"""#!/usr/bin/env bash
# The interpreter, as scripts/install uses it: makes a venv, reports its version, runs pip.
echo "python $*" >>"$CALLS"
case "$1 $2" in
  "-m venv") mkdir -p "$3/bin" && cp "$0" "$3/bin/python" ;;
  "-S -c") echo "3.11.7 (stand-in)" ;;
  "-m pip")
    if [ -n "${PIP_FAILS:-}" ]; then
      echo "ERROR: No matching distribution found for strawberry-graphql==0.341.*" >&2
      exit 1
    fi
    if [ "$4" = "-e" ]; then touch "$(dirname "$0")/bizgraph" && chmod +x "$(dirname "$0")/bizgraph"; fi
    echo "Successfully installed bizgraph-0.1.0" ;;
esac
"""

STAND_IN_NPM = r"""#!/usr/bin/env bash
# npm ci, as explorer/build.sh uses it: fills node_modules/ with the files build.sh copies.
echo "npm $*" >>"$CALLS"
for f in {files}; do
  mkdir -p "node_modules/$(dirname "$f")" && echo "/* $f */" >"node_modules/$f"
done
"""


def _files_build_sh_copies() -> list[str]:
    listed = re.search(r"^FILES=\((.*?)^\)", (REPO / "explorer" / "build.sh").read_text(), re.M | re.S)
    assert listed
    return listed.group(1).split()


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    calls: list[str]  # the stand-ins' calls during this run


class Project:
    """A copy of the files that decide the install, and a way to run scripts/install in it."""

    def __init__(self, root: Path, *, npm: bool = True) -> None:
        self.root = root / "project"
        for name in PROJECT_FILES:
            (self.root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, self.root / name)
        self.bin = root / "bin"
        self.bin.mkdir()
        for tool in TOOLS:
            found = shutil.which(tool)
            assert found, tool
            (self.bin / tool).symlink_to(found)
        self._stand_in("python3", STAND_IN_PYTHON)
        if npm:
            self._stand_in("npm", STAND_IN_NPM.replace("{files}", " ".join(_files_build_sh_copies())))
        self.calls_file = root / "calls"
        self.calls_file.touch()

    def _stand_in(self, name: str, script: str) -> None:
        (self.bin / name).write_text(script)
        (self.bin / name).chmod(0o755)

    def install(self, **env: str) -> Run:
        before = len(self.calls_file.read_text().splitlines())
        done = subprocess.run(
            ["bash", "scripts/install"],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": str(self.bin), "HOME": str(self.root), "CALLS": str(self.calls_file), **env},
        )
        calls = self.calls_file.read_text().splitlines()[before:]
        return Run(done.returncode, done.stdout, done.stderr, calls)

    def edit(self, name: str, extra: str) -> None:
        with (self.root / name).open("a") as file:
            file.write(extra)


def _installed_python(run: Run) -> bool:
    return any(call.startswith("python -m pip install -e") for call in run.calls)


def _built_assets(run: Run) -> bool:
    return any(call.startswith("npm ci") for call in run.calls)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def test_first_install_prints_one_line_and_logs_the_rest(project: Project) -> None:
    run = project.install()
    assert run.returncode == 0, run.stderr
    assert _installed_python(run) and _built_assets(run)
    [line] = run.stdout.splitlines()
    assert line.startswith("install: ") and "(log: .venv/install.log)" in line and line.endswith(" s")
    assert run.stderr == ""
    log = (project.root / ".venv" / "install.log").read_text()
    assert "Successfully installed bizgraph-0.1.0" in log
    assert "GraphiQL assets installed" in log
    assert (project.root / "app/static/graphiql/graphiql/graphiql.min.js").is_file()


def test_second_install_with_nothing_changed_runs_neither_pip_nor_npm(project: Project) -> None:
    assert project.install().returncode == 0
    again = project.install()
    assert again.returncode == 0
    assert (again.stdout, again.stderr) == ("", "")
    assert not _installed_python(again) and not _built_assets(again)
    assert again.calls == ["python -S -c import sys; print(sys.version)"]


def test_a_changed_pyproject_reinstalls_only_the_python_part(project: Project) -> None:
    assert project.install().returncode == 0
    project.edit("pyproject.toml", '\n[tool.example]\nkey = "changed"\n')
    run = project.install()
    assert run.returncode == 0
    assert _installed_python(run) and not _built_assets(run)
    assert run.stdout.startswith("install: Python packages into .venv ")


def test_a_changed_lock_file_rebuilds_only_the_assets(project: Project) -> None:
    assert project.install().returncode == 0
    project.edit("explorer/package-lock.json", "\n")
    run = project.install()
    assert run.returncode == 0
    assert _built_assets(run) and not _installed_python(run)
    assert run.stdout.startswith("install: GraphiQL assets into app/static/graphiql ")


def test_a_missing_console_script_reinstalls_even_with_a_matching_stamp(project: Project) -> None:
    assert project.install().returncode == 0
    (project.root / ".venv" / "bin" / "bizgraph").unlink()
    assert _installed_python(project.install())


def test_a_failed_pip_shows_the_log_tail_fails_and_is_retried_next_time(project: Project) -> None:
    failed = project.install(PIP_FAILS="1")
    assert failed.returncode != 0
    assert failed.stdout.rstrip().endswith("... failed")
    assert "install: pip failed; the last lines of .venv/install.log:" in failed.stderr
    assert "No matching distribution found" in failed.stderr
    retried = project.install()
    assert retried.returncode == 0 and _installed_python(retried)


def test_without_npm_it_warns_and_still_installs_python(tmp_path: Path) -> None:
    project = Project(tmp_path, npm=False)
    run = project.install()
    assert run.returncode == 0
    assert _installed_python(run)
    assert "npm not found; GraphiQL will load its assets from a CDN" in run.stderr
    assert not (project.root / "app/static/graphiql").exists()
    # Still only a warning the next time, with the Python part already current.
    again = project.install()
    assert again.returncode == 0 and not _installed_python(again) and "npm not found" in again.stderr


def test_scripts_are_executable_by_path() -> None:
    # README's commands are ./scripts/demo and ./scripts/test.
    for name in ("demo", "test", "install"):
        assert os.access(REPO / "scripts" / name, os.X_OK), name
