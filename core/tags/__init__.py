"""Tags as files hold them: ``reading`` reads every tag family mutagen knows into one
normalized record (:class:`~phonovault.core.tags.reading.TrackInfo`), ``art`` the embedded
covers. Checking them is :mod:`phonovault.core.rules`."""
