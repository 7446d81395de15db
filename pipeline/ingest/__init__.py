"""Ingest: read files, folders and feeds into stories (`read`, one reader per format in
`readers/`), skip what earlier runs read (`inbox`), normalize text and ids (`normalize`), and
apply versions and withdrawal notices to the stored state (`versions`, `arrivals`)."""
from pipeline.ingest.read import ingest  # noqa: F401
