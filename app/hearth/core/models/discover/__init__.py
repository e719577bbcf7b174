"""What to offer: the curated catalog with what the Hub says about it, and the recommendation for this machine."""
