"""Offline training: turns datasets into versioned, self-describing model artifacts."""
