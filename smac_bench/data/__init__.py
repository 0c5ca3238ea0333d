"""smac-bench data."""
