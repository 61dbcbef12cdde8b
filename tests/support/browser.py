"""Drive a local headless Chromium over the Chrome DevTools Protocol (CDP).

No browser download and no Playwright: the system's ``chromium`` is started with
``--remote-debugging-port=0`` and spoken to over one WebSocket (the ``websockets`` package),
using flattened target sessions. Name resolution for every host except loopback is mapped to
NOTFOUND, so a page that tries to reach a CDN fails visibly instead of quietly succeeding.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

CANDIDATES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")


def find_chromium() -> str | None:
    """The browser binary: $CHROMIUM when set, else the first candidate on PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return shutil.which(explicit)
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


class CDPError(RuntimeError):
    pass


def _read_words(path: Path) -> list[str]:
    """The whitespace-separated words of a file; none while it does not exist yet."""
    return path.read_text().split() if path.exists() else []


class Chromium:
    """``async with Chromium(binary) as browser: page = await browser.new_page()``."""

    def __init__(self, binary: str, *, startup_timeout: float = 20.0, extra_args: tuple[str, ...] = ()) -> None:
        self.binary = binary
        self.extra_args = extra_args  # e.g. --ignore-certificate-errors for a self-signed test server
        self.startup_timeout = startup_timeout
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._pages: dict[str, Page] = {}

    async def __aenter__(self) -> Chromium:
        self._profile = tempfile.TemporaryDirectory(prefix="bizgraph-chromium-", ignore_cleanup_errors=True)
        profile = Path(self._profile.name)
        args = [
            self.binary,
            "--headless",
            "--no-sandbox",  # tests usually run as root in a container
            "--disable-gpu",
            "--disable-dev-shm-usage",  # small /dev/shm in containers crashes renderers
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-breakpad",
            "--disable-crash-reporter",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",  # Chromium picks a free port and writes it down
            "--window-size=1400,900",
            *self.extra_args,
            "about:blank",
        ]
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - kept open for the browser's lifetime, closed in _stop_process
        # A session of its own: the browser and its helper processes form one group to stop.
        self.process = await asyncio.to_thread(
            subprocess.Popen, args, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            endpoint = await self._wait_for_endpoint(profile / "DevToolsActivePort")
            self._ws: ClientConnection = await connect(endpoint, max_size=None, ping_interval=None)
        except BaseException:
            self._stop_process(grace=0)
            raise
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Browser.close lets Chromium stop its helpers and finish writing the profile; a bare
        # SIGTERM leaves them writing while the profile directory is being deleted.
        with contextlib.suppress(Exception):
            await self.send("Browser.close", wait_seconds=5)
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._ws.close()
        await asyncio.to_thread(self._stop_process, grace=5)

    def output(self) -> str:
        """Chromium's own stdout/stderr, for failure messages."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    async def _wait_for_endpoint(self, port_file: Path) -> str:
        # The file appears once the DevTools server listens: line 1 the port, line 2 the path.
        deadline = asyncio.get_running_loop().time() + self.startup_timeout
        while asyncio.get_running_loop().time() < deadline:
            if self.process.poll() is not None:
                raise CDPError(f"chromium exited with {self.process.returncode}:\n{self.output()}")
            lines = await asyncio.to_thread(_read_words, port_file)
            if len(lines) == 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            await asyncio.sleep(0.05)
        raise CDPError(f"chromium did not open its DevTools port:\n{self.output()}")

    def _stop_process(self, *, grace: float) -> None:
        """Wait `grace` seconds for the browser to exit by itself, then make it."""
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # Whatever helper outlived the browser process (same process group) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()
        self._profile.cleanup()

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                if "id" in message:
                    future = self._pending.pop(message["id"], None)
                    if future is not None and not future.done():
                        future.set_result(message)
                elif (page := self._pages.get(message.get("sessionId", ""))) is not None:
                    page._on_event(message["method"], message.get("params", {}))
        except ConnectionClosed:
            pass  # the browser went away (Browser.close, or a crash that the caller will see)
        finally:
            # The connection is gone: nobody will answer the outstanding commands.
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(CDPError("DevTools connection closed"))

    async def send(
        self, method: str, params: dict | None = None, *, session: str | None = None, wait_seconds: float = 15.0
    ) -> dict:
        if self._reader.done():
            raise CDPError(f"{method}: DevTools connection closed")
        message: dict[str, Any] = {"id": next(self._ids), "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        future = asyncio.get_running_loop().create_future()
        self._pending[message["id"]] = future
        await self._ws.send(json.dumps(message))
        reply = await asyncio.wait_for(future, wait_seconds)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        return reply["result"]

    async def new_page(self) -> Page:
        """A fresh tab with Page/Runtime/Network events on, before any navigation happens."""
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        page = Page(self, attached["sessionId"])
        self._pages[page.session] = page
        for domain in ("Page", "Runtime", "Network"):
            await page.send(f"{domain}.enable")
        return page


class Page:
    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser = browser
        self.session = session
        self.requests: list[dict] = []  # every Network.requestWillBeSent "request" object
        self.websockets: list[str] = []  # URLs from Network.webSocketCreated
        self.frames_sent: list[str] = []  # text of every WebSocket frame the page sent
        self.console: list[str] = []  # console messages and uncaught exceptions, for diagnostics
        self._loaded = asyncio.Event()

    def _on_event(self, method: str, params: dict) -> None:
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"])
        elif method == "Network.webSocketCreated":
            self.websockets.append(params["url"])
        elif method == "Network.webSocketFrameSent":
            self.frames_sent.append(params["response"]["payloadData"])
        elif method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params["args"])
            self.console.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.console.append(f"exception: {details.get('exception', {}).get('description', details['text'])}")

    async def send(self, method: str, params: dict | None = None, **kwargs: Any) -> dict:
        return await self.browser.send(method, params, session=self.session, **kwargs)

    async def navigate(self, url: str, *, wait_seconds: float = 15.0) -> None:
        self._loaded.clear()
        result = await self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CDPError(f"navigating to {url}: {result['errorText']}")
        await asyncio.wait_for(self._loaded.wait(), wait_seconds)

    async def evaluate(self, expression: str) -> Any:
        """Run JS in the page (promises awaited) and return its JSON-able value."""
        result = await self.send(
            "Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CDPError(details.get("exception", {}).get("description", details["text"]))
        return result["result"].get("value")

    async def wait_for(self, expression: str, *, wait_seconds: float = 15.0, interval: float = 0.1) -> Any:
        """Poll a JS expression until it is truthy; return that value."""
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() >= deadline:
                raise TimeoutError(
                    f"timed out after {wait_seconds}s waiting for: {expression}\n" + "\n".join(self.console[-20:])
                )
            await asyncio.sleep(interval)

    async def screenshot(self, path: Path) -> Path:
        shot = await self.send("Page.captureScreenshot", {"format": "png"})
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))
        return path
