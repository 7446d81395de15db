"""Command line: `storyflow run INPUT --data DIR` runs the ingest flow and prints its summary."""
from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="storyflow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="ingest a directory or .jsonl file and update the store")
    run.add_argument("inputs", help="directory of .txt/.jsonl stories, or one .jsonl file")
    run.add_argument("--data", default=os.environ.get("STORYFLOW_DATA_DIR", "data"), help="output root (default: data)")
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # the embedded server can take more than Prefect's default 20 s to start on a busy machine
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    from flows.ingest import ingest_flow  # Prefect import is slow: after argument parsing

    print(ingest_flow(inputs=args.inputs, data_dir=args.data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
