"""Checking tags: ``engine`` runs the tag rules (built in and from third-party plugins, through
:mod:`phonovault.core.plugin_api`) over the catalog and files their findings; ``beets``
compares a beets library with the catalog, read-only."""
