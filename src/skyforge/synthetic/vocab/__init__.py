"""Word lists and templates of the synthetic crawl: data tables only, no logic."""
