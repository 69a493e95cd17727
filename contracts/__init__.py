"""contracts: the ground every layer stands on — the canonical order line, the catalog,
quarantine and flag record shapes (``contracts.schema``) and the configuration
(``contracts.config``).

Everything imports down into this package; it imports nothing of orderwatch's own.
"""
