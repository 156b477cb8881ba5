"""Icons, styles and desktop metadata, read through importlib.resources."""
