"""Resumable, verified downloads that survive restarts: the manager, its on-disk state, progress, and what was
running.
"""
