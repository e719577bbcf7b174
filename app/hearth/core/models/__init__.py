"""Models: finding them on Hugging Face (``hub``), downloading them (``download``), what is installed
(``library``), what to recommend (``discover``) and how each would run here (``planning``).
"""
