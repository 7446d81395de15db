"""One reader per input format; `pipeline.ingest` picks the reader for each input."""
