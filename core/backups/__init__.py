"""Backups: ``targets`` registers backup folders and verifies them copy by copy,
``coverage`` counts good copies per album, ``repair`` plans and applies heals from good copies
(``repair_io`` is its file-system half: atomic writes, quarantine), ``manifests`` exports
sha256sum and BagIt manifests and ``manifest_verify`` checks manifests found beside music."""
