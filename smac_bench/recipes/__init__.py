"""smac-bench recipes."""
