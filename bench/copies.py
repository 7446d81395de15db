"""Held-out copies benchmark: copy groups on topics left out, for two damage generators, and stage speed.

    .venv/bin/python bench/copies.py [--folds 5] [--baseline REF] [--in-runs N] [--skip speed | accuracy]

The dev topics are split into `--folds` folds (grouped k-fold: every topic in one fold). No
setting is fitted here, so each fold is simply scored on its own stories, as a run seeing only
those topics would be: every story of the fold gets damaged copies, and the copy groups found
in the fold's stories and copies are scored against the truth (each original with its copies,
plus real wire copies already in the corpus, as in `bench/near_duplicates.py`); copies are
published up to 48 hours before or after their original. Printed per generator and damage level:
ARI, pairwise precision and recall, the share of groups holding an original and a copy of it
that a scanned or scrambled copy heads (the cleanest member should), mean ± std over the folds,
and the ARI of the copies alone: each story's truth is the group the stage put its original in,
so the real wire copies among the dev stories, which the truth joins at a line no copy damage
decides (`bench/near_duplicates.REAL_COPY_CONTAINMENT`), count neither way.

Generators and levels (one copy of each story per kind of the level):
- in-house (`tests/support/synth.py`): desk = trim and rewrap at every strength, garble, ocr,
  typos and mixed at light; heavy = garble, ocr, typos and mixed at medium and heavy.
- nlpaug (a generator the stage was not written against; optional dependency, `[test]` extra):
  desk = a few words deleted, a span cropped, light OCR noise; heavy = heavy OCR noise, keyboard
  typos with neighbouring words swapped, sentences shuffled with OCR noise, random char
  substitutions with words split.

Settings are the stage's defaults, except two things fitted on the fold's training topics only:
the char-gram Jaccard threshold (`dedup.char_jaccard`), chosen the way its default was (just
above the highest Jaccard of two different stories of one event there), and the learned copy
verifier (`dedup.verifier`), fitted by `bench.copy_verifier` on those topics' in-house copies.

`--in-runs N` also scores every stream arriving in N incremental runs of equal size, oldest
published first, each run folding its stories into what the runs before it stored, as
scheduled ingestion does.

`--baseline REF` runs the same figures (and speed) for the stage as it is at git ref REF
(`git archive` of its `pipeline/` into a temporary folder, run in a subprocess), so before and
after come from the same run on the same machine. Speed: stories per CPU second of the stage
(median of --runs), with and without its second candidate source, over synthetic 400-word
stories, 10% of them damaged copies (as `bench/near_duplicates.py`), and over the dev stories
with their heavy in-house copies, a stream where most stories have copies.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPL_ROOT = os.environ.get("STORYFLOW_BENCH_IMPL")  # the stage under test: another tree's pipeline/ (--baseline)
sys.path.insert(0, str(ROOT))
if IMPL_ROOT:
    sys.path.insert(0, IMPL_ROOT)
    import pipeline  # noqa: E402, F401  (its submodules now load from IMPL_ROOT, whatever comes first on the path)

import numpy as np  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

from bench.near_duplicates import (  # noqa: E402
    T0,
    default_data,
    pair_scores,
    read_dev,
    real_copy_groups,
    synthetic_stories,
    timed,
)
from pipeline.ingest.normalize import normalize  # noqa: E402
from pipeline.records import RawStory  # noqa: E402
from tests.support import synth  # noqa: E402

LEVELS = ("desk", "heavy")
DAMAGED = {"garble", "ocr", "typos", "mixed", "ocr-light", "ocr-heavy", "keyboard+swap", "shuffle+ocr", "char+split"}  # not trims
INHOUSE = {
    "desk": [(k, s) for k in ("trim", "rewrap") for s in synth.STRENGTHS] + [(k, "light") for k in ("garble", "ocr", "typos", "mixed")],
    "heavy": [(k, s) for k in ("garble", "ocr", "typos", "mixed") for s in ("medium", "heavy")],
}


def nlpaug_damages(level: str):
    """[(name, fn(text, rng) -> text)] of nlpaug augmenters for `level`; None without nlpaug."""
    try:
        import nlpaug.augmenter.char as nac
        import nlpaug.augmenter.word as naw
    except ImportError:
        return None
    unlimited = 10 ** 6

    def ocr(p):
        return nac.OcrAug(aug_char_p=p, aug_word_p=p, aug_char_max=unlimited, aug_word_max=unlimited, min_char=2)

    def sentences_shuffled(text, rng):
        parts = [s for s in synth.SENTENCE_END.split(" ".join(text.split())) if s]
        rng.shuffle(parts)
        return " ".join(parts)

    def run(*augs, pre=None):
        def fn(text, rng):
            if pre:
                text = pre(text, rng)
            for aug in augs:
                out = aug.augment(text)
                text = (out[0] if out else text) if isinstance(out, list) else out  # [] for a text too short
            return text
        return fn

    if level == "desk":
        return [
            ("delete", run(naw.RandomWordAug(action="delete", aug_p=0.1, aug_max=unlimited))),
            ("crop", run(naw.RandomWordAug(action="crop", aug_p=0.2, aug_max=unlimited))),
            ("ocr-light", run(ocr(0.05))),
        ]
    return [
        ("ocr-heavy", run(ocr(0.3))),
        ("keyboard+swap", run(naw.RandomWordAug(action="swap", aug_p=0.3, aug_max=unlimited),
                              nac.KeyboardAug(aug_char_p=0.1, aug_word_p=0.3, aug_char_max=unlimited,
                                              aug_word_max=unlimited, include_special_char=False))),
        ("shuffle+ocr", run(ocr(0.15), pre=sentences_shuffled)),
        ("char+split", run(nac.RandomCharAug(action="substitute", aug_char_p=0.1, aug_word_p=0.2,
                                             aug_char_max=unlimited, aug_word_max=unlimited),
                           naw.SplitAug(aug_p=0.1, aug_max=unlimited))),
    ]


def inhouse(kinds: list[tuple[str, str]]) -> list:
    """[(name, fn(text, rng, donor) -> text)] of the in-house damage `kinds` (kind, strength name)."""
    return [(f"{k}/{s}", (lambda k, s: lambda text, rng, donor: synth.damage(text, k, s, rng, donor=donor))(k, s))
            for k, s in kinds]


def damages(generator: str, level: str):
    if generator == "in-house":
        return inhouse(INHOUSE[level])
    found = nlpaug_damages(level)
    return None if found is None else [(name, (lambda fn: lambda text, rng, donor: fn(text, rng))(fn))
                                       for name, fn in found]


def truth_of(rows: list[dict]) -> dict[str, str]:
    """Each dev story's group: real wire copies within one event joined (the smallest id names it)."""
    return real_copy_groups(rows)[0]


def score_fold(impl, rows: list[dict], kinds, seed: int, config=None,
               runs: int = 1) -> tuple[float, float, float, float, float]:
    """(ARI, precision, recall, led by a damaged copy, ARI of the copies alone) of the copy groups
    over `rows` and one copy of each per kind; led by a damaged copy is the share of groups holding
    an original and a copy of it that a scanned or scrambled copy (a kind in `DAMAGED`) heads; the
    copies alone are scored against the groups the stage put their originals in. With `runs` > 1
    the stories arrive in that many incremental runs, in order of publication (`in_runs`)."""
    damaged = {name for name, _ in kinds if name.split("/")[0] in DAMAGED}
    rng = random.Random(seed)
    random.seed(seed)  # nlpaug draws from the global generators
    np.random.seed(seed)
    label = truth_of(rows)
    by_topic: dict = {}
    for r in rows:
        by_topic.setdefault(r["topic"], []).append(r)
    stories = []
    for i, r in enumerate(rows):
        original = RawStory(source_id=r["id"], body=r["body"], title=r["title"], source=r["source"] or "wire",
                            url=r["url"], published_at=T0 + timedelta(minutes=10 * i))
        stories.append(original)
        donor = rng.choice([d for d in by_topic[r["topic"]] if d["id"] != r["id"]] or rows)["body"]
        for name, fn in kinds:
            sid = f"{r['id']}~{name}"
            stories.append(replace(original, source_id=sid, body=fn(r["body"], rng, donor), source="copydesk",
                                   published_at=original.published_at + timedelta(hours=rng.uniform(-48, 48))))
            label[sid] = label[r["id"]]
    articles = normalize(stories, T0)
    sid_of = {a.article_id: a.source_id for a in articles}
    result = (in_runs(impl, articles, runs, config) if runs > 1
              else with_late_folding(articles, impl.find_duplicates(articles, config), config))
    pred = {sid_of[k]: v for k, v in result.group_of.items()}
    truth = {a.source_id: label[a.source_id] for a in articles}
    precision, recall, _ = pair_scores(pred, truth)
    keys = sorted(truth)
    head = {v: sid_of[v] for v in result.group_of.values()}
    with_copies = {pred[k] for k in keys if "~" in k and pred[k] == pred[k.split("~")[0]]}
    led_by_copy = sum("~" in head[g] and head[g].split("~", 1)[1] in damaged for g in with_copies) / max(1, len(with_copies))
    as_grouped = [pred.get(k.split("~")[0], pred[k]) for k in keys]  # each story's original, where the stage put it
    return (adjusted_rand_score([truth[k] for k in keys], [pred[k] for k in keys]), precision, recall, led_by_copy,
            adjusted_rand_score(as_grouped, [pred[k] for k in keys]))


def in_runs(impl, articles: list, runs: int, config=None):
    """The copy groups after `articles` arrive in `runs` runs of equal size, oldest published
    first, each run folding its stories into what the runs before it stored (as scheduled
    ingestion does); late folding, where a baseline ref has it, is left out."""
    from pipeline.config import DedupConfig
    config = config or DedupConfig()
    ordered = sorted(articles, key=lambda a: (a.published_at, a.article_id))
    size = -(-len(ordered) // runs)
    stored: list = []
    group_of: dict = {}
    edges: list = []
    index = None
    for first in range(0, len(ordered), size):
        new = ordered[first:first + size]
        result = impl.update_duplicates(new, stored, group_of, edges, index, config)
        stored, group_of, edges, index = stored + new, result.group_of, result.edges, result.index
    return result


def late_folding():
    """Late folding against embedding neighbours (`pipeline.dedup.late.fold_late`), where the stage
    under test (a baseline ref) has it; the stage now finds those copies by word bag inside
    `find_duplicates`."""
    try:
        from pipeline.dedup.late import fold_late
    except ImportError:
        return None
    return fold_late


def with_late_folding(articles, result, config, vectors_of=None):
    """`result` after late folding, its lone stories verified against their embedding neighbours
    (the pipeline's embeddings, cached under the bench cache; or `vectors_of(canonical)`)."""
    fold_late = late_folding()
    if fold_late is None:
        return result
    from bench.events import embeddings
    from pipeline.config import DedupConfig, Settings
    config = config or DedupConfig()
    if not config.embedding_neighbours:
        return result
    canonical = [a for a in articles if result.group_of[a.article_id] == a.article_id]
    vectors = (vectors_of or (lambda stories: embeddings(stories, Settings())))(canonical)
    return fold_late(articles, canonical, result, dict(zip((a.article_id for a in canonical), vectors)), config)


def folds_of(rows: list[dict], k: int) -> list[list[dict]]:
    topics = sorted({r["topic"] for r in rows})
    return [[r for r in rows if r["topic"] in set(topics[i::k])] for i in range(k)]


def rewrite_char_jaccard(rows: list[dict]) -> float:
    """The highest folded char 9-gram Jaccard between two different stories of one event in `rows`
    (real wire copies, one story by `truth_of`, left out): different outlets' rewrites sharing quotes."""
    from pipeline.dedup.verify import fingerprints, overlap
    truth = truth_of(rows)
    articles = normalize([RawStory(source_id=r["id"], body=r["body"], title=r["title"]) for r in rows], T0)
    prints = dict(zip((a.source_id for a in articles), fingerprints(articles, 3)))
    by_event: dict = {}
    for r in rows:
        by_event.setdefault(r["event"], []).append(r["id"])
    return max((overlap(prints[a].grams, prints[b].grams)[0] for ids in by_event.values()
                for a, b in itertools.combinations(ids, 2) if truth[a] != truth[b]), default=0.0)


def held_out(impl, rows: list[dict], k: int, seed: int, runs: int = 1) -> dict:
    """{"generator/level": [`score_fold` figures per fold]}, and, where
    the stage has the char-gram Jaccard rule, its threshold chosen on each fold's training topics
    (just above every rewrite pair there) under "char_jaccard"."""
    from pipeline.config import DedupConfig
    folds = folds_of(rows, k)
    out: dict = {}
    train = [[r for j, f in enumerate(folds) if j != i for r in f] for i in range(k)]
    settings: list[dict] = [{} for _ in range(k)]
    if "char_jaccard" in DedupConfig.model_fields:
        chosen = [math.floor(rewrite_char_jaccard(t) * 100 + 1) / 100 for t in train]
        for fold_settings, c in zip(settings, chosen):
            fold_settings["char_jaccard"] = c
        out["char_jaccard"] = chosen
    if "verifier" in DedupConfig.model_fields:  # fitted on the training topics' in-house copies
        from bench import copy_verifier
        models = tempfile.mkdtemp(prefix="copy-verifiers-")
        for i, (fold_settings, t) in enumerate(zip(settings, train)):
            path = Path(models) / f"fold-{i}.json"
            copy_verifier.fit_on(t, seed + 100 + i).save(path)
            fold_settings["verifier"] = str(path)
    configs = [DedupConfig(**fold_settings) for fold_settings in settings]
    for generator in ("in-house", "nlpaug"):
        for level in LEVELS:
            kinds = damages(generator, level)
            if kinds is None:
                continue
            for n in (1, runs) if runs > 1 else (1,):
                out[f"{generator}/{level}" + (f", {n} runs" if n > 1 else "")] = [
                    score_fold(impl, fold, kinds, seed + i, configs[i], n) for i, fold in enumerate(folds)]
    return out


def without_second_source():
    """The stage's settings without the candidates the sketches do not give: word-bag neighbours
    (`dedup.neighbours`), or late folding at the refs that had it (`dedup.embedding_neighbours`)."""
    from pipeline.config import DedupConfig
    off = {name: 0 for name in ("neighbours", "embedding_neighbours") if name in DedupConfig.model_fields}
    return DedupConfig(**off)


def copy_stream(rows: list[dict], seed: int) -> list:
    """Every dev story and one copy of it per in-house heavy damage, copies up to 48 hours apart."""
    rng = random.Random(seed)
    stories = []
    for i, r in enumerate(rows):
        original = RawStory(source_id=r["id"], body=r["body"], title=r["title"], source=r["source"] or "wire",
                            url=r["url"], published_at=T0 + timedelta(minutes=10 * i))
        stories.append(original)
        stories += [replace(original, source_id=f"{r['id']}~{name}", body=fn(r["body"], rng, r["body"]),
                            source="copydesk", published_at=original.published_at + timedelta(hours=rng.uniform(-48, 48)))
                    for name, fn in damages("in-house", "heavy")]
    return normalize(stories, T0)


def stage_speed(impl, articles: list, runs: int, second_source: bool, vectors_of=None) -> float:
    """Stories per CPU second of the stage over `articles`, median of `runs`; without the second
    candidate source where `second_source` is false. Late folding (at refs that had it) verifies
    against `vectors_of(canonical stories)`: embeddings are not the stage's cost."""
    config = None if second_source else without_second_source()

    def stage():
        result = impl.find_duplicates(articles, config)
        return with_late_folding(articles, result, None, vectors_of) if second_source else result
    return len(articles) / timed(stage, runs)[1]


def speeds(impl, rows: list[dict], n: int, runs: int, seed: int) -> dict[str, list[float]]:
    """{stream: [stories per CPU second with the second candidate source, without]} for `n` synthetic
    400-word stories (one in ten a damaged copy; random vectors) and for the dev stories with
    their heavy in-house copies (the pipeline's embeddings, cached)."""
    rng = np.random.default_rng(seed)

    def random_vectors(stories):
        v = rng.standard_normal((len(stories), 384)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)
    synthetic = normalize(synthetic_stories(rows, n, random.Random(seed)), T0)
    stream = copy_stream(rows, seed)
    if late_folding():
        with_late_folding(stream, impl.find_duplicates(stream), None)  # embeddings cached before timing
    return {f"{n:,} synthetic stories": [stage_speed(impl, synthetic, runs, on, random_vectors) for on in (True, False)],
            f"{len(stream):,} dev stories and heavy copies": [stage_speed(impl, stream, runs, on) for on in (True, False)]}


def measure(args) -> dict:
    from pipeline import dedup
    rows = read_dev(args.data)
    out = {"folds": {} if "accuracy" in args.skip else held_out(dedup, rows, args.folds, args.seed, args.in_runs)}
    if "speed" not in args.skip:
        out["stories_per_cpu_s"] = speeds(dedup, rows, args.speed_size, args.runs, args.seed)
    return out


def baseline(args) -> dict:
    """The same figures for the stage at git ref `args.baseline`, in a subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "pipeline"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        cmd = [sys.executable, __file__, "--json", "--data", str(args.data), "--folds", str(args.folds),
               "--seed", str(args.seed), "--runs", str(args.runs), "--speed-size", str(args.speed_size),
               "--in-runs", str(args.in_runs),
               "--skip", *args.skip]
        done = subprocess.run(cmd, env={**os.environ, "STORYFLOW_BENCH_IMPL": tmp}, check=True,
                              capture_output=True, text=True)
        return json.loads(done.stdout.strip().splitlines()[-1])


def show(name: str, figures: dict) -> None:
    print(f"{name}:")
    chosen = figures["folds"].pop("char_jaccard", None)
    if chosen:
        print(f"  char_jaccard chosen on each fold's training topics: {' '.join(f'{c:.2f}' for c in chosen)}")
    for key, per_fold in figures["folds"].items():
        cols = list(zip(*per_fold))
        text = "  ".join(f"{label} {statistics.mean(c):.3f} ± {statistics.pstdev(c):.3f}"
                         for label, c in zip(("ARI", "precision", "recall", "led by a damaged copy",
                                              "copies alone ARI"), cols))
        print(f"  {key:16s} {text}   (min ARI {min(cols[0]):.3f})")
    for stream, (with_second, without) in figures.get("stories_per_cpu_s", {}).items():
        print(f"  stage speed, {stream}: {with_second:,.0f} stories per CPU second "
              f"({without:,.0f} without the second candidate source)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--speed-size", type=int, default=5000)
    parser.add_argument("--in-runs", type=int, default=1, help="also score each stream arriving in this many "
                        "incremental runs, oldest published first")
    parser.add_argument("--baseline", help="git ref whose stage is measured alongside, in the same run")
    parser.add_argument("--skip", nargs="*", default=[], choices=["speed", "accuracy"])
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args)))
        return
    started = time.perf_counter()
    print(f"copies held out: {args.folds} folds grouped by topic; mean ± std over folds")
    before = baseline(args) if args.baseline else None
    if before:
        show(f"stage at {args.baseline}", json.loads(json.dumps(before)))
    after = measure(args)
    show("stage in this tree", json.loads(json.dumps(after)))
    if before:
        print(f"ARI against {args.baseline}, paired by fold (mean ± std of the differences):")
        for key, per_fold in after["folds"].items():
            if key in before["folds"] and key != "char_jaccard":
                delta = [a[0] - b[0] for a, b in zip(per_fold, before["folds"][key])]
                print(f"  {key:16s} {statistics.mean(delta):+.3f} ± {statistics.pstdev(delta):.3f}")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
