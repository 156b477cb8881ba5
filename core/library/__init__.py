"""The library: the roots a user registered and what is in them. ``roots`` adds a root,
finds the root holding a path and tells an unplugged drive (offline) from a missing file;
``walk`` lists a root's music files, refusing links that lead out of it."""
