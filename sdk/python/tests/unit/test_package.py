"""The installable package: the wheel holds the SDK (typed, generated types included) and nothing
else, declares its Python floor and dependencies, and imports on its own."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

SDK = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out)]
    subprocess.run([*command, str(SDK)], check=True, capture_output=True, timeout=120)
    (built,) = out.glob("inference_platform_sdk-*.whl")
    return built


def test_the_wheel_holds_the_package_and_its_types_and_nothing_else(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    package = [name for name in names if not name.startswith("inference_platform_sdk-")]

    assert all(name.startswith("inference_platform_sdk/") for name in package), package
    for needed in ("__init__.py", "py.typed", "_generated/models.py", "_generated/params.py", "resources/batches.py"):
        assert f"inference_platform_sdk/{needed}" in package
    assert not [name for name in names if "/tests/" in name or name.startswith(("tests/", "scripts/"))]


def test_the_wheel_declares_python_3_10_and_its_dependencies(wheel: Path):
    archive = zipfile.ZipFile(wheel)
    metadata = archive.read(next(n for n in archive.namelist() if n.endswith("METADATA"))).decode()

    assert "Name: inference-platform-sdk" in metadata
    assert "Requires-Python: >=3.10" in metadata
    requirements = sorted(line.split(":", 1)[1].strip().split("<")[0].split(">")[0] for line in metadata.splitlines()
                          if line.startswith("Requires-Dist:"))  # fmt: skip
    assert requirements == ["httpx", "pydantic", "typing-extensions"]


def test_the_wheel_imports_on_its_own(wheel: Path, tmp_path: Path):
    target = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=120)
    probe = "import inference_platform_sdk as sdk; print(sdk.__file__, sdk.Client, sdk.AsyncClient)"

    run = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {probe}"],
                         capture_output=True, text=True, timeout=60)  # fmt: skip

    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(str(target))
