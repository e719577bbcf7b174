"""Hugging Face access: the only package that imports huggingface_hub (with its background calls switched off),
plain HTTP byte ranges, and a repository's files as Hearth sees them.
"""
