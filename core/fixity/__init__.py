"""Fixity: is each file as it was? ``reading`` reads a file (its
identity, tags and stat, in ``readpool`` processes for large scans), ``evidence`` and
``filesystems`` weigh a stat for what its file system keeps, ``judge`` classifies a read
against the catalog's baseline (``tag_changes`` says what an edit changed), and ``scan``,
``verify`` and ``watch`` are the passes over the library. Above the identity, tags, the
catalog, the library's roots and the decode checks."""
