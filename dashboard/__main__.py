"""`python -m dashboard [--data DIR] [--host H] [--port N]`: serve the dashboard with Streamlit.

The process becomes the Streamlit server (exec), so its pid is the server's pid.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dashboard.queries import default_data_dir

APP = Path(__file__).resolve().parent / "app.py"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__)
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="output root (default: $STORYFLOW_DATA_DIR or data)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8501)
    args = parser.parse_args(argv)
    env = dict(os.environ)
    # the app script runs from its own folder: make the project importable as a package
    root = str(APP.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env["STORYFLOW_DATA_DIR"] = str(args.data.resolve())
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", args.host, "--server.port", str(args.port), "--server.headless", "true",
        "--server.fileWatcherType", "none", "--server.runOnSave", "false",
        "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer", "--global.developmentMode", "false",
        "--", "--data", str(args.data.resolve()),
    ]
    os.execve(sys.executable, command, env)


if __name__ == "__main__":
    main()
