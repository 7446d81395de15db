"""Shared fixtures: real seeds, real model, real Prefect (test harness), temporary data roots."""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_IDS = sorted(p.stem for p in SEEDS.glob("*.txt"))
WIRE = ROOT / "tests" / "fixtures" / "wire"  # one sample per wire format


@pytest.fixture(scope="session")
def seed_stories():
    from pipeline.ingest import ingest

    result = ingest(SEEDS)
    assert not result.rejects
    return sorted(result.stories, key=lambda s: s.source_id)


@pytest.fixture
def rng():
    return random.Random(20170421)


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
