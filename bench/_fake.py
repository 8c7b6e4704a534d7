"""The fake Bot API in its own process, for benches: bot and "Telegram" do not share one core."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.fake_bot_api import FakeBotAPIClient  # noqa: E402

__all__ = ["fake_bot_api"]


@contextlib.asynccontextmanager
async def fake_bot_api(workdir: Path, name: str,
                       limits: bool = False) -> AsyncIterator[FakeBotAPIClient]:
    """`limits`: the fake enforces Telegram's 30 msg/s overall and 1 msg/s per chat (429)."""
    port_file = workdir / f"port-{name}"
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.fake_bot_api", "--port", "0",
         "--port-file", str(port_file), *(["--limits"] if limits else [])],
        cwd=ROOT, stdout=sys.stderr)  # its banner must not mix with the JSON line
    try:
        client = await FakeBotAPIClient.wait_port_file(port_file)
        try:
            yield client
        finally:
            await client.aclose()
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(5)
