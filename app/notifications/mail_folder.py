"""A local SMTP server that writes every message it receives to a folder, one
``.eml`` file each: what ``bizgraph serve --demo`` sends its emails to, so a
newcomer opens the folder and reads them (any mail program opens ``.eml``)."""

from __future__ import annotations

import datetime as dt
import logging
import socket
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope


class _WriteToFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.count += 1
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        recipients = "+".join(str(r).replace("@", "_at_") for r in envelope.rcpt_tos)[:80]
        path = self.folder / f"{stamp}-{self.count:04d}-{recipients}.eml"
        content = envelope.original_content or b""
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return "250 OK: written to the mail folder"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class MailFolderServer:
    """Started and stopped by its owner; serves on ``host:port`` (a free port when 0)."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.host = host
        self.port = port or free_port(host)
        self._controller = Controller(_WriteToFolder(folder), hostname=host, port=self.port)

    def start(self) -> None:
        # aiosmtpd logs every connection at INFO ("mail.log"): the folder is the record.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
