"""smac-bench analysis."""
