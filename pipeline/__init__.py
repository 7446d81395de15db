"""storyflow's library: one module per pipeline stage, no orchestration framework imports.

Stages: ingest -> normalize -> near_duplicates -> embed -> cluster -> store.
`pipeline.job` wires them for one run; `flows/` wraps the same calls in Prefect tasks.
"""
