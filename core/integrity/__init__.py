"""Integrity: does a file still play? ``ffdecode`` decodes it with FFmpeg (PyAV),
``declared`` reads the length its headers promise, ``checks`` turns both into a verdict (in
worker processes), ``decoding`` files verdicts in the catalog and caches them per identity,
and ``scrub`` re-reads the least recently verified slice of the library within a budget."""
