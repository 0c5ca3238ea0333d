"""smac-bench algos."""
