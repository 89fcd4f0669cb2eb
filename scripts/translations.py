"""Keep the message catalogues in step: extract, merge into ru and uk, report what is missing.

Run: .venv/bin/python scripts/translations.py   (then edit intake/translations/*/LC_MESSAGES/
messages.po and compile with `make translations`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "intake" / "translations"
LOCALES = ("ru", "uk")


def main() -> int:
    """Extract the messages and update every catalogue; exit 1 if any is incomplete."""
    bin_dir = Path(sys.executable).parent
    pot = TRANSLATIONS / "messages.pot"
    subprocess.run(  # noqa: S603 - our own venv's pybabel, fixed arguments
        [
            str(bin_dir / "pybabel"),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "--sort-output",
            "--omit-header",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    from babel.messages.pofile import read_po

    missing = 0
    for locale in LOCALES:
        po = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
        command = "update" if po.exists() else "init"
        subprocess.run(  # noqa: S603
            [
                str(bin_dir / "pybabel"),
                command,
                "-i",
                str(pot),
                "-d",
                str(TRANSLATIONS),
                "-l",
                locale,
                "--no-wrap",
            ],
            cwd=ROOT,
            check=True,
        )
        with po.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if message.id and (not message.string or message.fuzzy):
                missing += 1
                print(f"{locale}: untranslated: {message.id!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
