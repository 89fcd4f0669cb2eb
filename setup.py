"""Build intake with its readers' message catalogues compiled, however it is installed.

The .po catalogues are in git and the .mo files gettext reads are not, so every build
(`pip install .`, `pip install -e .`, a wheel) compiles them here. Everything else about the
package is declared in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import Command, setup
from setuptools.command.build import build

CATALOGUES = "intake/translations/*/LC_MESSAGES/*.po"


def catalogue_sources() -> list[Path]:
    """List the .po catalogues, relative to the project root."""
    return sorted(Path().glob(CATALOGUES))


def compile_catalogue(po_path: Path, mo_path: Path) -> None:
    """Compile one .po catalogue into the .mo file that gettext reads."""
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file)
    mo_path.parent.mkdir(parents=True, exist_ok=True)
    with mo_path.open("wb") as mo_file:
        # As `make translations` does: a fuzzy entry still beats showing English.
        write_mo(mo_file, catalog, use_fuzzy=True)


class BuildCatalogues(Command):
    """Compile the message catalogues into the build, or in place for an editable install."""

    description = "compile intake's message catalogues (.po to .mo)"
    user_options: ClassVar[list[tuple[str, str | None, str]]] = []
    editable_mode = False

    def initialize_options(self) -> None:
        """Start without a build directory; finalize_options borrows build_py's."""
        self.build_lib: str | None = None

    def finalize_options(self) -> None:
        """Write where build_py writes the package."""
        self.set_undefined_options("build_py", ("build_lib", "build_lib"))

    def run(self) -> None:
        """Compile every catalogue to where this kind of install reads it."""
        for po_path in catalogue_sources():
            compile_catalogue(po_path, self._target(po_path))

    def get_source_files(self) -> list[str]:
        """Name the .po files, so that an sdist carries them."""
        return [str(po_path) for po_path in catalogue_sources()]

    def get_outputs(self) -> list[str]:
        """Name the .mo files as they land in the build directory."""
        return [str(self._built(po_path)) for po_path in catalogue_sources()]

    def get_output_mapping(self) -> dict[str, str]:
        """Map built .mo files to the in-place ones an editable install compiled."""
        if not self.editable_mode:
            return {}
        return {str(self._built(po)): str(po.with_suffix(".mo")) for po in catalogue_sources()}

    def _built(self, po_path: Path) -> Path:
        """Return where a catalogue's .mo file goes in the build directory."""
        return Path(str(self.build_lib), po_path.with_suffix(".mo"))

    def _target(self, po_path: Path) -> Path:
        """Return where to compile a catalogue for this kind of install."""
        # An editable install imports intake from the source tree, so its .mo files go there.
        return po_path.with_suffix(".mo") if self.editable_mode else self._built(po_path)


class BuildWithCatalogues(build):
    """Run setuptools' build steps, then compile the message catalogues."""

    sub_commands: ClassVar[list[tuple[str, object]]] = [
        *build.sub_commands,
        ("build_catalogues", None),
    ]


setup(cmdclass={"build": BuildWithCatalogues, "build_catalogues": BuildCatalogues})
