"""Benchmark of the near-duplicate stage: accuracy on ECB+ dev with generated copies, speed, memory.

    .venv/bin/python bench/near_duplicates.py [--data ../shared/data/ecbplus-dev.jsonl]

Accuracy: every dev story gets one damaged copy per kind of damage (tests/support/synth.py), the
strength cycling light/medium/heavy, the donor (spans, related headlines) another story of the
same topic, the hardest neighbour. Copies are published 1-48 hours after their original.
Ground truth groups: each original with its copies, and real wire copies already in the corpus:
two stories of the same ECB+ event are one story when most (REAL_COPY_CONTAINMENT) of the
shorter one's word 3-shingles appear in the other, i.e. one is an edited copy of the other;
copies of copies join too. Stories of different events never share more than 0.22 on dev, and
same-event pairs below 0.5 read as rewrites (own reporting around shared quotes), so they
count as different stories. The detector never sees event labels.
Then the same dev stories with one outlet's footer (a 40-word line no boilerplate pattern
knows) on 30% of them: pairs of different dev stories merged (README, Duplicate detection).

Speed: synthetic 400-word stories (words drawn from the dev vocabulary), 10% of them damaged
copies; medians of --runs runs. Memory: peak traced allocation while 1,000 new stories are
checked against an index of --index-size stories, and the size of the stored index.

For before/after figures, run it in a git worktree of the earlier commit as well.
"""
from __future__ import annotations

import argparse
import itertools
import json
import random
import resource
import statistics
import sys
import time
import tracemalloc
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datasketch import MinHash  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

from pipeline.ingest.normalize import normalize  # noqa: E402
from pipeline.records import RawStory  # noqa: E402
from tests.support import synth  # noqa: E402

REAL_COPY_CONTAINMENT = 0.5
T0 = datetime(2013, 5, 1, tzinfo=timezone.utc)


def load_impl():
    """The stage under test: `pipeline.dedup` (for before/after figures, run this script in a
    worktree of the earlier commit)."""
    from pipeline import dedup
    return dedup


def read_dev(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def word_containment(a: str, b: str) -> float:
    def grams(text):
        tokens = text.casefold().split()
        return {tuple(tokens[i:i + 3]) for i in range(len(tokens) - 2)}
    ga, gb = grams(a), grams(b)
    return len(ga & gb) / min(len(ga), len(gb)) if ga and gb else 0.0


def real_copy_groups(rows: list[dict]) -> tuple[dict[str, str], int]:
    """Each dev story's group, real wire copies within one event joined (the smallest id names the
    group), and how many pairs of them are such copies."""
    parent = {r["id"]: r["id"] for r in rows}

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x
    by_event: dict = {}
    for r in rows:
        by_event.setdefault(r["event"], []).append(r)
    n_real = 0
    for group in by_event.values():
        for a, b in itertools.combinations(group, 2):
            if word_containment(a["body"], b["body"]) >= REAL_COPY_CONTAINMENT:
                n_real += 1
                ra, rb = find(a["id"]), find(b["id"])
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    return {r["id"]: find(r["id"]) for r in rows}, n_real


def build_corpus(rows: list[dict], rng: random.Random):
    """(stories, truth label per source_id, kind/strength per copy)."""
    by_topic: dict = {}
    for r in rows:
        by_topic.setdefault(r["topic"], []).append(r)
    originals, label, damage_of = [], {}, {}
    for i, r in enumerate(rows):
        when = T0 + timedelta(minutes=10 * i)
        originals.append(RawStory(source_id=r["id"], body=r["body"], title=r["title"], source=r["source"] or "wire",
                                  url=r["url"], published_at=when))
        label[r["id"]] = r["id"]
    label, n_real = real_copy_groups(rows)
    copies = []
    strengths = list(synth.STRENGTHS)
    for i, (r, original) in enumerate(zip(rows, originals)):
        donor = rng.choice([d for d in by_topic[r["topic"]] if d["id"] != r["id"]] or rows)["body"]
        for j, kind in enumerate(synth.KINDS):
            strength = strengths[(i + j) % len(strengths)]
            sid = f"{r['id']}~{kind}~{strength}"
            body = synth.damage(r["body"], kind, strength, rng, donor=donor)
            copies.append(replace(original, source_id=sid, body=body, source="copydesk",
                                  published_at=original.published_at + timedelta(hours=rng.uniform(1, 48))))
            label[sid] = label[r["id"]]
            damage_of[sid] = (kind, strength)
    return originals + copies, label, damage_of, n_real


def pair_scores(pred: dict[str, str], truth: dict[str, str]) -> tuple[float, float, float]:
    def pairs(assign):
        groups: dict = {}
        for k, g in assign.items():
            groups.setdefault(g, []).append(k)
        return {tuple(sorted(p)) for m in groups.values() for p in itertools.combinations(m, 2)}
    p, t = pairs(pred), pairs(truth)
    tp = len(p & t)
    precision = tp / len(p) if p else 1.0
    recall = tp / len(t) if t else 1.0
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def accuracy(impl, data: Path, seed: int) -> None:
    rows = read_dev(data)
    stories, label, damage_of, n_real = build_corpus(rows, random.Random(seed))
    articles = normalize(stories, T0)
    sid_of = {a.article_id: a.source_id for a in articles}
    result = impl.find_duplicates(articles)
    pred = {sid_of[k]: v for k, v in result.group_of.items()}
    truth = {a.source_id: label[a.source_id] for a in articles}
    precision, recall, f1 = pair_scores(pred, truth)
    ari = adjusted_rand_score([truth[k] for k in sorted(truth)], [pred[k] for k in sorted(truth)])
    print(f"accuracy: {len(rows)} dev stories + {len(damage_of)} damaged copies; "
          f"{n_real} real same-event copy pairs (containment >= {REAL_COPY_CONTAINMENT})")
    print(f"  pairwise precision {precision:.4f}  recall {recall:.4f}  F1 {f1:.4f}  ARI {ari:.4f}")
    original_sid = {sid: sid.split("~")[0] for sid in damage_of}
    found: dict = {}
    for sid, (kind, strength) in damage_of.items():
        hit = pred[sid] == pred[original_sid[sid]]
        for key in (kind, f"{kind}/{strength}"):
            found.setdefault(key, []).append(hit)
    line = "  recall per kind: " + "  ".join(f"{k} {sum(v) / len(v):.3f}" for k, v in found.items() if "/" not in k)
    print(line)
    for kind in synth.KINDS:
        print(f"    {kind:7s}" + "  ".join(f"{s} {sum(found[f'{kind}/{s}']) / len(found[f'{kind}/{s}']):.3f}"
                                        for s in synth.STRENGTHS))
    wrong_merges = sum(1 for a, b in itertools.combinations(rows, 2)
                       if pred[a["id"]] == pred[b["id"]] and truth[a["id"]] != truth[b["id"]])
    print(f"  different dev stories merged: {wrong_merges} pairs")


def synthetic_stories(rows: list[dict], n: int, rng: random.Random, words: int = 400):
    vocab = sorted({w for r in rows for w in r["body"].split() if w.isalpha()})
    stories = []
    for i in range(n):
        if i % 10 == 9:  # a damaged copy of an earlier story
            src = stories[rng.randrange(len(stories))]
            kind = rng.choice(synth.KINDS)
            body = synth.damage(src.body, kind, rng.choice(list(synth.STRENGTHS.values())), rng)
        else:
            body = "\n".join(" ".join(rng.choices(vocab, k=40)) + " ." for _ in range(words // 40))
        stories.append(RawStory(source_id=f"s{i}", body=body, published_at=T0 + timedelta(seconds=i)))
    return stories


def sketch_stage(impl, texts: list[str]):
    from pipeline.config import DedupConfig
    from pipeline.dedup.sketch import Sketcher
    return Sketcher.of(DedupConfig()).signatures(texts)  # whole-text and lead signatures, as the stage makes them


def timed(fn, runs: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds: on a shared machine CPU time is the steadier figure."""
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def speed(impl, rows: list[dict], n: int, runs: int, seed: int, baseline_size: int = 500) -> None:
    articles = normalize(synthetic_stories(rows, n, random.Random(seed)), T0)
    texts = [a.text for a in articles]
    sample = texts[:baseline_size]
    base_wall, base_cpu = timed(lambda: plain_datasketch(sample), runs)
    sketch_wall, sketch_cpu = timed(lambda: sketch_stage(impl, texts), runs)
    stage_wall, stage_cpu = timed(lambda: impl.find_duplicates(articles), runs)
    print(f"speed ({n} synthetic 400-word stories, median of {runs}), stories per wall-clock second "
          f"(per CPU second):\n  same-run baseline, plain datasketch update loop over word 5-shingles "
          f"({len(sample)} stories): {len(sample) / base_wall:,.0f} ({len(sample) / base_cpu:,.0f})\n"
          f"  MinHash stage {n / sketch_wall:,.0f} ({n / sketch_cpu:,.0f}); "
          f"whole stage {n / stage_wall:,.0f} ({n / stage_cpu:,.0f})")


def plain_datasketch(texts: list[str]) -> None:
    """The textbook way, as a yardstick measured under the same load: one `update` per shingle."""
    for text in texts:
        tokens = text.split()
        sketch = MinHash(num_perm=128)
        for i in range(max(1, len(tokens) - 4)):
            sketch.update(" ".join(tokens[i:i + 5]).encode("utf-8"))


def memory(impl, rows: list[dict], size: int, seed: int, runs: int) -> None:
    from pipeline.config import DedupConfig
    if not hasattr(impl, "update_duplicates"):
        print("memory: this version keeps no index between runs")
        return
    stories = synthetic_stories(rows, size + 1000, random.Random(seed))
    articles = normalize(stories, T0)
    stored, new = articles[:size], articles[size:]
    params = DedupConfig(window_days=365)
    rss_texts = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    start, start_cpu = time.perf_counter(), time.process_time()
    first = impl.update_duplicates(stored, [], {}, [], None, params)
    build_wall, build_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    rss_build = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    groups = first.group_of

    def check():
        return impl.update_duplicates(new, stored, groups, first.edges, first.index, params)
    check_wall, check_cpu = timed(check, runs)  # each run starts from the same stored state
    tracemalloc.start()  # slows allocation down: a separate run, not timed
    second = check()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"memory: first build of a {size:,}-story index took {build_wall:.1f} s ({build_cpu:.1f} s CPU); "
          f"process peak RSS {rss_texts:,.0f} MiB with the texts alone, {rss_build:,.0f} MiB after the build\n"
          f"  the index is {second.index.nbytes / 2**20:.1f} MiB in memory; checking 1,000 new stories against it "
          f"took {check_wall:.2f} s ({check_cpu:.2f} s CPU; median of {runs}), peak {peak / 2**20:.0f} MiB "
          f"allocated (stored texts not counted)")


def default_data() -> Path:
    relative = Path("shared") / "data" / "ecbplus-dev.jsonl"
    for folder in ROOT.parents:
        if (folder / relative).exists():
            return folder / relative
    return ROOT.parent / relative


OUTLET_FOOTER = ("The Lakeside Herald is an independent newspaper serving the county since 1921. To report a news "
                 "tip, email tips@lakesideherald.example or call 555-0100. Subscribe for unlimited digital access "
                 "starting at $1 a week.")


def shared_footer(impl, rows: list[dict], seed: int, share: float = 0.3) -> None:
    """Dev stories of different events folded together when `share` of them carry one outlet's
    footer (a line of 40 words that the normalizer's boilerplate patterns do not know): the
    footer alone can make a short story look contained in another."""
    rng = random.Random(seed)
    stories = [RawStory(source_id=r["id"], body=r["body"] + ("\n" + OUTLET_FOOTER if rng.random() < share else ""),
                        title=r.get("title") or "", url=r.get("url") or "") for r in rows]
    articles = normalize(stories, T0)
    event_of = {r["id"]: r["event"] for r in rows}
    result = impl.find_duplicates(articles)
    group = {a.source_id: result.group_of[a.article_id] for a in articles}
    wrong = sum(1 for a, b in itertools.combinations(rows, 2)
                if group[a["id"]] == group[b["id"]] and event_of[a["id"]] != event_of[b["id"]])
    print(f"  with one outlet's footer on {share:.0%} of the dev stories: different dev stories merged: {wrong} pairs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=default_data(),
                        help="ECB+ dev JSONL (default ../shared/data/ecbplus-dev.jsonl from the repository root, "
                             "or from the nearest parent folder that has it, for worktrees)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--speed-size", type=int, default=10_000)
    parser.add_argument("--index-size", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip", nargs="*", default=[], choices=["accuracy", "speed", "memory"])
    args = parser.parse_args()
    impl = load_impl()
    rows = read_dev(args.data)
    if "accuracy" not in args.skip:
        accuracy(impl, args.data, args.seed)
        shared_footer(impl, rows, args.seed)
    if "speed" not in args.skip:
        speed(impl, rows, args.speed_size, args.runs, args.seed)
    if "memory" not in args.skip:
        memory(impl, rows, args.index_size, args.seed, args.runs)


if __name__ == "__main__":
    main()
