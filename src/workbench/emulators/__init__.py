"""Local broker emulators: a broker's wire protocol in front of our own matching (DESIGN rule 7)."""
