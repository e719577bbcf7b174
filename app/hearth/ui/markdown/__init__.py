"""Markdown for the chat view: parsing to Qt's rich-text HTML, incremental rendering while streaming, math and code."""
