"""Render a page in Debian's headless Chromium over the DevTools protocol (tests only).

Chromium's ``--enable-logging`` prints console messages without their level and misses failed
resource loads, so the page is driven over the DevTools protocol instead: console calls of
level error, uncaught exceptions and log entries of level error (failed loads, blocked content)
are collected, the DOM is read back and a full-page screenshot is taken.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)
_STARTUP_SECONDS = 30.0


@dataclass(slots=True)
class RenderedPage:
    """What the browser saw: console errors, section ids, the text, and the screenshot."""

    console_errors: list[str] = field(default_factory=list)
    section_ids: list[str] = field(default_factory=list)
    text: str = ""
    network_requests: list[str] = field(default_factory=list)
    screenshot: Path | None = None


def chromium_executable() -> str:
    """The Chromium binary (Debian names it ``chromium``)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(
        "chromium_executable: no chromium on PATH. Install Debian's package: "
        "`apt-get update && apt-get install -y chromium` (make pytest does it)."
    )


class _DevTools:
    def __init__(self, url: str) -> None:
        self._socket = connect(url, max_size=None, open_timeout=_STARTUP_SECONDS)
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message_id = self._next_id
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=_STARTUP_SECONDS))
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"DevTools {method} failed: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def wait_for(self, method: str) -> None:
        if any(event.get("method") == method for event in self.events):
            return
        while True:
            message = json.loads(self._socket.recv(timeout=_STARTUP_SECONDS))
            self.events.append(message)
            if message.get("method") == method:
                return

    def close(self) -> None:
        self._socket.close()


def _devtools_port(profile: Path, process: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + _STARTUP_SECONDS
    marker = profile / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if marker.is_file():
            lines = marker.read_text(encoding="utf-8").split()
            if lines:
                return int(lines[0])
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited early with code {process.returncode}")
        time.sleep(0.05)
    raise RuntimeError("chromium did not open its DevTools port within 30 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End Chromium and every helper process of its group."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


class ChromiumSession:
    """One headless Chromium kept open for several pages and widths (tests only).

    Starting Chromium costs about a second; the browser tests open each report once per width
    in one session. Use as a context manager; ``open`` navigates and waits for the load.
    """

    def __init__(self) -> None:
        self._profile = tempfile.TemporaryDirectory(
            prefix="trustshift-chromium-", ignore_cleanup_errors=True
        )
        self._process: subprocess.Popen[bytes] | None = None
        self._tools: _DevTools | None = None

    def __enter__(self) -> ChromiumSession:
        # Chromium's helper processes can still write to the profile for a moment after the
        # main process exits; a leftover temporary folder is harmless, a failed test is not.
        profile = Path(self._profile.name)
        self._process = subprocess.Popen(
            [chromium_executable(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so its helpers end with it
        )
        try:
            port = _devtools_port(profile, self._process)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                targets = json.loads(r.read())
            target = next(t for t in targets if t.get("type") == "page")
            self._tools = _DevTools(target["webSocketDebuggerUrl"])
            for domain in ("Page", "Runtime", "Log", "Network"):
                self._tools.call(f"{domain}.enable")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        if self._tools is not None:
            self._tools.close()
        if self._process is not None:
            _stop(self._process)
        self._profile.cleanup()

    @property
    def tools(self) -> _DevTools:
        if self._tools is None:
            raise RuntimeError("ChromiumSession: not started; use it in a with block")
        return self._tools

    def open(self, page: Path, *, width: int = 1280, height: int = 900) -> None:
        """Load ``page`` (a local HTML file) in a window ``width`` CSS pixels wide."""
        self.tools.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 600,
        )
        self.tools.events.clear()
        self.tools.call("Page.navigate", url=page.resolve().as_uri())
        self.tools.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression evaluated in the page."""
        evaluated = self.tools.call(
            "Runtime.evaluate", expression=f"JSON.stringify({expression})", returnByValue=True
        )
        if "exceptionDetails" in evaluated:
            raise RuntimeError(
                f"evaluate: {expression[:60]!r} threw {evaluated['exceptionDetails']}"
            )
        return json.loads(evaluated["result"]["value"])

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        """A PNG of the page (the whole page by default) written to ``path``."""
        shot = self.tools.call(
            "Page.captureScreenshot", format="png", captureBeyondViewport=full_page
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


def render(page: Path, *, screenshot: Path | None = None, width: int = 1280) -> RenderedPage:
    """Open ``page`` (a local HTML file), wait for load, and report what the browser saw."""
    result = RenderedPage()
    with ChromiumSession() as session:
        session.open(page, width=width)
        seen = session.evaluate(
            "{ids: Array.from(document.querySelectorAll('section[id]')).map(s => s.id),"
            " text: document.body.innerText}"
        )
        result.section_ids = list(seen["ids"])
        result.text = str(seen["text"])
        if screenshot is not None:
            result.screenshot = session.screenshot(screenshot)
        tools = session.tools
    for event in tools.events:
        method = event.get("method")
        params = event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            values = [str(arg.get("value", arg.get("description", ""))) for arg in params["args"]]
            result.console_errors.append("console.error: " + " ".join(values))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            result.console_errors.append(f"exception: {details.get('text', details)}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            result.console_errors.append(f"log: {entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.requestWillBeSent":
            result.network_requests.append(str(params.get("request", {}).get("url", "")))
    return result
