"""信用盐城 disclosure site generator.

The data flows one way, one module per step:
export → ``ingest`` (``readers``, ``normalize``, ``schema``, ``masking``) → ``batches`` →
``publication`` → ``plugin`` (Pelican generator: pages, archives, lists, downloads, feeds,
sitemap) + ``search`` → output swapped in atomically (``build``).
"""

__version__ = "0.1.0"
