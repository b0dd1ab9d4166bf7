"""Dataset loaders. Each returns plain numpy / Python data plus the sha256 of every file read."""
