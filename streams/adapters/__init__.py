"""I/O adapters at the edge (email providers)."""
