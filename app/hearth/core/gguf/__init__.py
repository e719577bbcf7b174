"""GGUF files: the header reader (``header``) and the checks on a model path and its split parts (``files``).

Both the engine and the model library use them, so they sit below both.
"""
