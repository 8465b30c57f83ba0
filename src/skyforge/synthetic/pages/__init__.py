"""Page builders of the synthetic crawl, one module per family of page kinds."""
