"""GUI tests: fail if a test leaves Qt threads running."""
