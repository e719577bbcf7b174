"""Qt-free core of Hearth: models, engine, storage. Never imports PySide6."""
