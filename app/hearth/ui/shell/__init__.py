"""The window around everything: main window, theme, toasts, notices, the settings dialog and the generic dialogs."""
