"""Every way of installing intake serves the readers' compiled message catalogues."""

from __future__ import annotations

import gettext
import importlib.metadata
import os
import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What pip needs inside a new environment to build intake there without the network.
BUILD_TOOLS = ("pip", "setuptools", "babel")
INSTALL_WAYS = {"pip install .": [], "pip install -e .": ["--editable"]}


def copy_source_tree(destination: Path) -> Path:
    """Copy the project's top-level files and the package, leaving out every .mo file."""
    destination.mkdir()
    for path in ROOT.iterdir():
        # Dotfiles stay behind: .env holds a secret key, .venv and .git are not source.
        if path.is_file() and not path.name.startswith("."):
            shutil.copy2(path, destination)
    shutil.copytree(
        ROOT / "intake",
        destination / "intake",
        ignore=shutil.ignore_patterns("*.mo", "__pycache__"),
    )
    return destination


def copy_distribution(name: str, site_packages: Path) -> None:
    """Install a distribution of this environment into another one by copying its files."""
    distribution = importlib.metadata.distribution(name)
    for file in distribution.files or ():
        source = Path(str(distribution.locate_file(file)))
        # Console scripts live outside site-packages, and RECORD may name stale bytecode.
        if file.parts[0] != ".." and source.is_file():
            target = site_packages / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def new_environment(directory: Path) -> Path:
    """Create a venv holding only the build tools, and return its python."""
    venv.EnvBuilder(with_pip=False).create(directory)
    site_packages = Path(sysconfig.get_path("purelib", "venv", vars={"base": str(directory)}))
    for name in BUILD_TOOLS:
        copy_distribution(name, site_packages)
    return directory / "bin" / "python"


def offline_environ() -> dict[str, str]:
    """Return this process's environment without any pip configuration."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    # os.devnull here makes pip read no configuration file (no index, no find-links).
    environ["PIP_CONFIG_FILE"] = os.devnull
    return environ


def pip_install(python: Path, way: list[str], source: Path) -> None:
    """Install intake alone, built with the environment's own tools and no index."""
    result = subprocess.run(  # noqa: S603 - a venv's pip, fixed arguments
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            *way,
            str(source),
        ],
        cwd=source.parent,
        env=offline_environ(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def installed_package_dir(python: Path) -> Path:
    """Find where the environment imports intake from, without importing it."""
    result = subprocess.run(  # noqa: S603 - a venv's python, fixed arguments
        [
            str(python),
            "-I",
            "-c",
            "import importlib.util; print(importlib.util.find_spec('intake').origin)",
        ],
        cwd=python.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(result.stdout.strip()).parent


@pytest.mark.parametrize("way", INSTALL_WAYS.values(), ids=INSTALL_WAYS.keys())
def test_an_installed_intake_translates_for_russian_readers(tmp_path: Path, way: list[str]) -> None:
    source = copy_source_tree(tmp_path / "source")
    python = new_environment(tmp_path / "venv")

    pip_install(python, way, source)

    catalogue = gettext.translation(
        "messages",
        localedir=installed_package_dir(python) / "translations",
        languages=["ru"],
        fallback=True,
    )
    assert catalogue.gettext("A question") == "Вопрос"
