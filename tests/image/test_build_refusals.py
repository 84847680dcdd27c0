"""An image build that cannot succeed says why, naming what is missing, before it has
spent minutes building."""

from __future__ import annotations

import subprocess
import sys
import time

from .conftest import REPO


def test_a_package_debian_does_not_have_fails_the_build_naming_it(tmp_path) -> None:
    start = time.monotonic()
    res = subprocess.run(
        [sys.executable, "-m", "provisioning.image", "--arch", "amd64",
         "--extra-package", "djamms-no-such-package", "--out", str(tmp_path / "x.img")],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert res.returncode == 2, res.stderr[-2000:]
    assert "djamms-no-such-package" in res.stderr
    assert "has no package" in res.stderr
    assert not (tmp_path / "x.img").exists()
    assert time.monotonic() - start < 600
