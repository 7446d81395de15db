"""Prefect orchestration for storyflow: flows and tasks that call `pipeline/`, nothing more."""
