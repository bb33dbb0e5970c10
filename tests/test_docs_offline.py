"""The docs pages work on a machine without internet: headless Chromium, every host but 127.0.0.1 unreachable,
renders the live gateway's Swagger UI (`/docs`) and ReDoc (`/redoc`) with their operations, from the files the
desk installs (common/docs.py). Chromium comes from Debian (`make test` installs it)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from scripts.live_stack import LiveStack

CHROMIUM = shutil.which("chromium")
# Under CI the browser is never skipped: a missing one fails the run.
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true", reason="chromium is not installed (make test installs it)"
)
# Every name resolves to nothing but 127.0.0.1, and anything not sent directly goes to a closed port.
NETWORK_CUT = [
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
]


def rendered(url: str, profile: Path) -> str:
    """The DOM once the page's scripts have run (a budget of virtual time: loads pause it)."""
    assert CHROMIUM is not None, "chromium is installed by `make browser`"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         f"--user-data-dir={profile}", *NETWORK_CUT, "--virtual-time-budget=30000", "--dump-dom", url],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_page_loads_nothing_from_elsewhere(live: LiveStack, page: str) -> None:
    response = httpx.get(live.url() + page, timeout=30)
    assert response.status_code == 200
    assert not re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", response.text), response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "https:" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    for asset in re.findall(r"""(?:src|href)=["']?(/docs/assets/[\w.-]+)""", response.text):
        served = httpx.get(live.url() + asset, timeout=30)
        assert served.status_code == 200 and served.headers["x-content-type-options"] == "nosniff", asset


def test_swagger_ui_renders_the_operations_offline(live: LiveStack, tmp_path: Path) -> None:
    dom = rendered(live.url() + "/docs", tmp_path / "profile")
    assert 'class="swagger-ui' in dom, dom[:2000]
    assert dom.count("opblock-summary-path") > 100, dom[:2000]  # one per operation (about 190)
    assert 'data-path="/api/v1/dossiers/{dossier_id}/submit"' in dom


def test_redoc_renders_the_operations_offline(live: LiveStack, tmp_path: Path) -> None:
    dom = rendered(live.url() + "/redoc", tmp_path / "profile")
    assert "/api/v1/dossiers/{dossier_id}/submit" in dom, dom[:2000]
    assert "Obtenir un jeton d'accès" in dom or "Obtenir un jeton d&#39;accès" in dom
