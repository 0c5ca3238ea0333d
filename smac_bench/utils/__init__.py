"""Small helpers shared across smac-bench: atomic file writes (:mod:`.io`) and seeding (:mod:`.seeding`)."""
