"""Tags as files hold them: ``reading`` reads every tag family mutagen knows into one
normalized record (:class:`~phonovault.core.tags.reading.TrackInfo`), ``art`` the embedded
covers. Behind ``reading``: ``files`` opens a file safely (capped, non-blocking, watched
reads), ``formats`` names its format and codec, ``families`` flattens each tag family's block,
``normalize`` picks the common fields from it, and ``failures`` words why a parse gave up.
Checking them is :mod:`phonovault.core.rules`."""
