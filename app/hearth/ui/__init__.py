"""The Qt user interface. The only package that imports PySide6; it never imports llama_cpp."""
