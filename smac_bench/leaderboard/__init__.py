"""smac-bench leaderboard."""
