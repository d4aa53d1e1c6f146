"""The operator's Dagster UI, for real: `amop demo` fills a persistent instance, `amop ui` serves
this code location on it (with the simulator playing the carriers), and headless Chromium
(Debian's package, never a downloaded browser) is driven by Playwright."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from amop_pipelines.simulator.server import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("AMOP_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "ui"
FLEET = 300


def _chromium() -> str:
    found = os.environ.get("AMOP_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        message = "no Chromium: install Debian's `chromium` package (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def _start_ui(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    """`amop ui` as an operator starts it; back once the UI answers."""
    log = log_path.open("a")
    process = subprocess.Popen(
        [sys.executable, "-m", "amop_pipelines.cli", "ui", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its group: amop ui, the simulator it serves, dagster dev and its children
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"{base}/server_info", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"amop ui did not start: {log_path.read_text()[-3000:]}")
        time.sleep(1)
    # what the "Skip" of the community dialog a new instance shows on loopback does
    httpx.post(f"{base}/graphql", json={"query": "mutation SetNuxSeen { setNuxSeen }"}).raise_for_status()
    return process


def _stop_ui(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass
class Stack:
    base_url: str
    env: dict[str, str]
    data_dir: Path
    port: int
    log_path: Path
    process: subprocess.Popen

    def restart(self) -> None:
        """Stop `amop ui` and start it again on the same port, as after a reboot."""
        _stop_ui(self.process)
        self.process = _start_ui(self.env, self.port, self.log_path)


@pytest.fixture(scope="package")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """`amop demo`, then `amop ui` (which serves the demo fleet from the simulator)."""
    home = tmp_path_factory.mktemp("ui")
    (home / "dagster_home").mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster_home" / "dagster.yaml")
    env = {**os.environ, "AMOP_DATA_DIR": str(home / "data"), "DAGSTER_HOME": str(home / "dagster_home")}
    for unset in ("DAGSTER_PG_URL", "AMOP_DATABASE_URL", "AMOP_CARRIER_BASE_URL"):
        env.pop(unset, None)
    amop = [sys.executable, "-m", "amop_pipelines.cli"]
    demo = subprocess.run([*amop, "demo", "--devices", str(FLEET)], env=env, capture_output=True, text=True)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    port = free_port()
    log_path = home / "amop-ui.log"
    stack = Stack(
        f"http://127.0.0.1:{port}", env, home / "data", port, log_path, _start_ui(env, port, log_path)
    )
    try:
        yield stack
    finally:
        _stop_ui(stack.process)


@pytest.fixture(scope="package")
def browser(stack):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


class Ui:
    """A page of the Dagster UI; screenshots go to the test artifacts."""

    def __init__(self, page, base_url: str):
        self.page, self.base_url = page, base_url
        # the community dialog a new browser sees: dismissed whenever it gets in the way
        skip = page.get_by_role("button", name="Skip")
        page.add_locator_handler(
            page.get_by_text("Join the Dagster community"), lambda _: skip.click(force=True)
        )

    def open(self, path: str, ready_text: str) -> None:
        self.page.goto(self.base_url + path)
        self.page.get_by_text(ready_text).first.wait_for(timeout=60_000)

    def text(self) -> str:
        return self.page.inner_text("body")

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def wait_for_text(self, path: str, wanted: str, timeout: float = 180, ready_text: str = "Runs") -> str:
        """Reload `path` until `wanted` shows (runs finishing, sensors ticking)."""
        deadline = time.monotonic() + timeout
        while True:
            self.open(path, ready_text)
            self.page.wait_for_timeout(1500)
            text = self.text()
            if wanted in text:
                return text
            if time.monotonic() > deadline:
                self.shot("timeout")
                raise AssertionError(f"'{wanted}' never showed on {path}")
            self.page.wait_for_timeout(3000)


@pytest.fixture
def ui(browser, stack) -> Iterator[Ui]:
    page = browser.new_page(viewport={"width": 1800, "height": 1100})
    yield Ui(page, stack.base_url)
    page.close()
