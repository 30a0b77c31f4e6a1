"""The README's Python example runs as written (against this module's token server)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLE_URL = "http://127.0.0.1:8765/"


def test_readme_example_runs(token_server, tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README has no python example"
    code = blocks[0]
    assert EXAMPLE_URL in code
    script = tmp_path / "example.py"
    script.write_text(code.replace(EXAMPLE_URL, token_server.url))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("bearer 1200 ")
    assert lines[1].startswith("Authorization: Bearer ")
    assert lines[2].startswith("AuthRejectedError AUTH_REJECTED ")
    grants = [q["form"]["grant_type"] for q in token_server.requests()]
    assert grants == ["client_credentials", "refresh_token", "client_credentials"]
