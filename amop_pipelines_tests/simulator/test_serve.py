"""`amop simulator serve` as an operator starts it: a real process on a real port."""

import subprocess
import sys
import time

import httpx

from amop_pipelines.simulator.server import free_port


def test_serve_prints_its_urls_and_credentials_and_answers(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "amop_pipelines.cli",
            "simulator",
            "serve",
            "--port",
            str(port),
            "--devices",
            "300",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/_sim/health", timeout=1).json()
                break
            except httpx.HTTPError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert health["devices"] == 300
        answer = httpx.get(
            f"http://127.0.0.1:{port}/rws/api/v1/devices",
            params={"modifiedSince": "2000-01-01T00:00:00Z"},
            auth=("amop-demo", "demo-jasper-api-key"),
        )
        assert answer.status_code == 200 and answer.json()["devices"]
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert f"http://127.0.0.1:{port}/rws/api/v1" in output
    assert "demo-jasper-api-key" in output and f"http://127.0.0.1:{port}/api/m2m/v1" in output
