"""The labelled development set (ECB+ dev, `shared/data/ecbplus-dev.jsonl`), where this machine has it."""
from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def dev_path() -> Path | None:
    """`STORYFLOW_DEV_SET`, else `shared/data/ecbplus-dev.jsonl` in the nearest parent folder that has it."""
    if os.environ.get("STORYFLOW_DEV_SET"):
        return Path(os.environ["STORYFLOW_DEV_SET"])
    relative = Path("shared") / "data" / "ecbplus-dev.jsonl"
    return next((folder / relative for folder in ROOT.parents if (folder / relative).exists()), None)


def dev_rows() -> list[dict]:
    """The dev stories as records (id, title, body, url, source, event, topic); [] without the set."""
    path = dev_path()
    if path is None or not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
