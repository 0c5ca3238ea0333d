"""smac-bench harness."""
