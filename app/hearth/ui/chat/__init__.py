"""The conversation on screen: its controller, the message view, the composer and the conversation list."""
