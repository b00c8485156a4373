"""The palette's Screenshot: an SVG of the screen, saved into a directory that exists.

Textual saves it into the user's Downloads directory, which a jump box rarely has: the save
failed, saying only that it failed. Here it goes to Downloads when that exists, else to
paths.screenshots_dir() (made 0700), and the operator is told the file, or why not.
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_downloads_path
from textual.app import App

from mvm_tui import paths


def screenshot_dir() -> Path:
    """~/Downloads (or $XDG_DOWNLOAD_DIR, as Textual has it) if it is a directory, else
    paths.screenshots_dir() (not created here)."""
    downloads = user_downloads_path()
    return downloads if downloads.is_dir() else paths.screenshots_dir()


def save_screenshot(app: App[None], filename: str | None = None,
                    directory: str | None = None) -> None:
    """Save the screen in `directory` (default: screenshot_dir(), created if missing) and
    tell where in a notification; a failure is told with its reason."""
    where = Path(directory) if directory else screenshot_dir()
    try:
        paths.ensure_private_dir(where)
        saved = Path(app.save_screenshot(filename, str(where)))
    except OSError as exc:
        app.notify(f"Not saved: {exc.strerror or exc} ({exc.filename or where})",
                   title="Screenshot", severity="error", timeout=15)
        return
    app.notify(f"Saved to {saved}", title="Screenshot", timeout=15)
