"""Qt models over catalog queries (Qt-free rows adapted by thin table models)."""
