"""Built-in plugins, loaded through the same entry-point group third parties use."""
