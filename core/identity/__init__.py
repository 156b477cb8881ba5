"""The audio identity (DESIGN.md, "Hashes"): one read of a file gives its file hash and a
hash of every byte a decoder reads and nothing a tagger rewrites, defined per format by its
spec. ``digests`` runs the read; ``payload`` finds the bytes of each format, with ``mp4``,
``mpeg`` and ``ogg`` for the formats that need more than byte ranges; ``parts`` holds what
they share; ``legacy`` computes version 1 for baselines recorded before version 2.
Depends on nothing but plumbing."""
