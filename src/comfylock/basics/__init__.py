"""The shared basics every stage may use: atomic file writes and the strict struct base,
redaction of secrets, units and counts in words, progress display."""
