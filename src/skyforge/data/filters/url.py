"""The URL filter: domain blocklists (host or any parent domain) and URL regex patterns."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from skyforge.data import BLOCKLIST_CATEGORIES, BLOCKLIST_DIR
from skyforge.data.filters.text import DocFilter

# The default URL pattern (filters.url_patterns in the schema, where defaults live) holds words
# that mark adult pages whatever the domain (RefinedWeb, Penedo et al. 2023, scored URLs against
# a curated adult word list on top of its 4.6 M-domain blocklist; gambling and spam are left to
# the domain lists and the heuristics). Separator-bounded so "sussex" does not match "sex".


def _load_domain_list(entry: str) -> tuple[str, frozenset[str]]:
    """(list name, domains) for a packaged category name or a path to a list file."""
    if entry in BLOCKLIST_CATEGORIES:
        path = BLOCKLIST_DIR / f"{entry}.txt"
    else:
        path = Path(entry)
        if not path.is_file():
            raise ValueError(
                f"config key 'filters.blocklists': '{entry}' is neither a packaged list "
                f"({', '.join(BLOCKLIST_CATEGORIES)}) nor a file"
            )
    domains = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip().lower().rstrip(".")
        if line:
            domains.add(line.removeprefix("*."))
    return path.stem, frozenset(domains)


def _host(doc: dict[str, Any]) -> str:
    host = doc.get("domain") or ""
    if not host and doc.get("url"):
        try:
            host = urlsplit(doc["url"]).hostname or ""
        except ValueError:
            host = ""
    return host.lower().rstrip(".")


class UrlFilter(DocFilter):
    """Domain blocklists (host or any parent domain) and URL regex patterns."""

    step = "url_filter"

    def __init__(self, blocklists: Iterable[str], url_patterns: Iterable[str]):
        # One dict domain -> list name: a lookup per suffix of the host, not per list entry.
        self.domains: dict[str, str] = {}
        for entry in blocklists:
            name, domains = _load_domain_list(entry)
            for d in domains:
                self.domains.setdefault(d, name)
        self.patterns = [re.compile(p, re.IGNORECASE) for p in url_patterns]

    def blocklist_of(self, host: str) -> str | None:
        """Name of the list that holds ``host`` or one of its parent domains, else None."""
        parts = host.lower().rstrip(".").split(".")
        for i in range(len(parts)):
            name = self.domains.get(".".join(parts[i:]))
            if name is not None:
                return name
        return None

    def reason(self, doc: dict[str, Any]) -> str | None:
        host = _host(doc)
        if host:
            name = self.blocklist_of(host)
            if name is not None:
                return f"blocklist:{name}"
        url = doc.get("url") or ""
        for i, pattern in enumerate(self.patterns):
            if pattern.search(url):
                return f"url_pattern:{i}"
        return None


# --- code detection ---------------------------------------------------------------------------
