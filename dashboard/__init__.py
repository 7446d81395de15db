"""Read-only newsroom dashboard over storyflow's Parquet output (see dashboard/app.py)."""
