"""Given ``bizgraph serve --demo``, then the embedded PostgreSQL's, alembic's and the seed's chatter
go to a log file under the data directory, the terminal keeps only the demo's own lines, and a
failure is one line that says where to look."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.config import Settings
from app.demo import demo_log_path, demo_sign_ins, start_up_logged_to
from app.embedded import PGSERVER_LOGGER, EmbeddedPostgres
from app.errors import BizgraphError


@pytest.fixture
def terminal() -> Iterator[io.StringIO]:
    """The root logger writes to this stream at INFO, as the CLI's does to stderr; pgserver's
    logger is put back as it was (the demo sends it to its file for the rest of the process)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    pgserver_log = logging.getLogger(PGSERVER_LOGGER)
    saved = (root.level, list(pgserver_log.handlers), pgserver_log.propagate)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for extra in set(pgserver_log.handlers) - set(saved[1]):
            pgserver_log.removeHandler(extra)
            extra.close()
        pgserver_log.propagate = saved[2]


# The test raises a warning of its own, as pgserver or alembic might during start-up,
# to see where it goes: shown (into the log), not turned into an error.
@pytest.mark.filterwarnings("default:XDG_RUNTIME_DIR is not set")
def test_start_up_chatter_goes_to_the_log_file_not_the_terminal(terminal: io.StringIO, tmp_path: Path) -> None:
    log_file = demo_log_path(tmp_path / "data")
    with start_up_logged_to(log_file):
        logging.getLogger("alembic.runtime.migration").info("Running upgrade 0004 -> 0005")
        logging.getLogger(PGSERVER_LOGGER).info("running pg_ctl")
        warnings.warn("XDG_RUNTIME_DIR is not set", RuntimeWarning, stacklevel=1)
    logging.getLogger("bizgraph.server").info("serving")
    logging.getLogger(PGSERVER_LOGGER).info("cleaning last handle for server")

    written = log_file.read_text()
    assert "Running upgrade 0004 -> 0005" in written and "running pg_ctl" in written
    assert "XDG_RUNTIME_DIR is not set" in written
    # The server stopping at exit still reports to the file, not over the terminal.
    assert "cleaning last handle for server" in written
    # After the start-up, the terminal has its handlers back, and only what came after.
    assert terminal.getvalue() == "serving\n"


def test_a_failure_is_one_line_naming_the_log_with_the_traceback_inside(terminal: io.StringIO, tmp_path: Path) -> None:
    log_file = demo_log_path(tmp_path)
    with pytest.raises(BizgraphError) as raised, start_up_logged_to(log_file):
        raise ConnectionRefusedError("connection failed: port 5499\nIs the server running on that host?")
    assert raised.value.message == (f"the demo could not start: connection failed: port 5499; details in {log_file}")
    assert "Traceback" in log_file.read_text() and "Is the server running" in log_file.read_text()
    assert terminal.getvalue() == ""


def test_an_expected_error_keeps_its_message_and_names_the_log(terminal: io.StringIO, tmp_path: Path) -> None:
    log_file = demo_log_path(tmp_path)
    with pytest.raises(BizgraphError) as raised, start_up_logged_to(log_file):
        raise BizgraphError("DATABASE_URL is not a PostgreSQL URL")
    assert raised.value.message == f"DATABASE_URL is not a PostgreSQL URL; details in {log_file}"


def test_an_embedded_server_that_cannot_start_says_which_program_failed_and_where_its_log_is(
    tmp_path: Path,
) -> None:
    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    (pgdata / "PG_VERSION").write_text("15\n")  # looks initialized, but has no configuration
    with pytest.raises(BizgraphError) as raised:
        EmbeddedPostgres(pgdata).start()
    assert raised.value.message == (
        f"the embedded PostgreSQL in {pgdata} did not start: pg_ctl exited with status 1"
        f" (its own log: {pgdata / 'log'})"
    )


def test_serve_demo_that_cannot_reach_its_database_prints_one_line_and_exits_2(
    terminal: io.StringIO, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/bizgraph_demo")
    monkeypatch.setenv("BIZGRAPH_DATA_DIR", str(tmp_path))
    assert main(["serve", "--demo", "--port", "8799"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("bizgraph: the demo could not start: ") and line.endswith(
        f"; details in {tmp_path / 'demo.log'}"
    )
    assert terminal.getvalue() == ""


def test_the_banner_names_the_start_up_log(demo_settings: Settings) -> None:
    banner = demo_sign_ins(demo_settings, host="127.0.0.1", port=8000)
    assert f"Start-up log (database, migrations, seeding): {demo_settings.data_dir / 'demo.log'}" in banner.splitlines()
