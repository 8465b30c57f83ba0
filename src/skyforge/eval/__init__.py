"""Domain loss, benchmarks, contamination, layer cosine, tables and plots."""
