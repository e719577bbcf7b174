"""Where Hearth keeps its files.

Everything lives in the user's platform folders (platformdirs), never inside the app bundle. ``HEARTH_HOME`` moves
all of it under one folder, which is how tests and portable installs keep their data apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_DIR_NAME = "Hearth"


@dataclass(frozen=True)
class AppPaths:
    """The folders Hearth writes to.

    Attributes:
        data_dir: conversations database and other user data.
        models_dir: downloaded and imported GGUF files.
        config_dir: settings.
        cache_dir: catalog cache and other throw-away data.
        log_dir: local logs (never uploaded anywhere).
    """

    data_dir: Path
    models_dir: Path
    config_dir: Path
    cache_dir: Path
    log_dir: Path

    @classmethod
    def default(cls) -> AppPaths:
        """The folders for this user, or those under ``HEARTH_HOME`` when it is set."""
        home = os.environ.get("HEARTH_HOME")
        if home:
            return cls.under(Path(home))
        dirs = platformdirs.PlatformDirs(APP_DIR_NAME, appauthor=False)
        data = Path(dirs.user_data_dir)
        return cls(
            data_dir=data,
            models_dir=data / "models",
            config_dir=Path(dirs.user_config_dir),
            cache_dir=Path(dirs.user_cache_dir),
            log_dir=Path(dirs.user_log_dir),
        )

    @classmethod
    def under(cls, root: Path) -> AppPaths:
        """All folders below one root (tests, portable installs)."""
        return cls(
            data_dir=root / "data",
            models_dir=root / "models",
            config_dir=root / "config",
            cache_dir=root / "cache",
            log_dir=root / "logs",
        )

    def ensure(self) -> AppPaths:
        """Create the folders that do not exist yet and return self."""
        for folder in (self.data_dir, self.models_dir, self.config_dir, self.cache_dir, self.log_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self
