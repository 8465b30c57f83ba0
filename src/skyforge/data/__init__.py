"""The cleaning pipeline: crawl reading, extraction, filters, dedup, classifiers, corpora.

Submodules are imported explicitly (``from skyforge.data.crawl import shard_warcs``) so that
importing this package stays cheap; the package itself holds only the URL blocklists.
The blocklists live beside this file (``blocklists/<category>.txt``) and ship as package data.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["BLOCKLIST_CATEGORIES", "BLOCKLIST_DIR", "load_blocklist", "host_in_blocklist"]

BLOCKLIST_DIR = Path(__file__).resolve().parent / "blocklists"
BLOCKLIST_CATEGORIES = ("adult", "gambling", "spam")


def load_blocklist(category: str) -> frozenset[str]:
    """Return the registered domains of one blocklist category.

    Args:
        category: one of ``BLOCKLIST_CATEGORIES``.

    Returns:
        Lower-cased domains; blank lines and ``#`` comments are skipped.

    Raises:
        ValueError: for an unknown category.
    """
    if category not in BLOCKLIST_CATEGORIES:
        raise ValueError(
            f"blocklist '{category}': unknown category (known: {', '.join(BLOCKLIST_CATEGORIES)})"
        )
    path = BLOCKLIST_DIR / f"{category}.txt"
    domains = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip().lower()
        if line:
            domains.add(line)
    return frozenset(domains)


def host_in_blocklist(host: str, domains: frozenset[str]) -> bool:
    """True when ``host`` is a listed domain or a subdomain of one (``m.x.com`` matches x.com)."""
    host = host.lower().rstrip(".")
    parts = host.split(".")
    return any(".".join(parts[i:]) in domains for i in range(len(parts)))
