"""The prompt for one answer: the conversation's history, the attachments' text and the one token budget they share."""
