"""Measure the detector on a labelled sample of real messages: precision, recall and speed.

The sample (``tests/data/duplicates_sample.csv``, built by hand as docs/duplicates-sample.md
tells) holds message ids and a group per message: messages of one group report the same problem.
The messages themselves are read from the source file (they are not ours to ship).

Messages are replayed in time order through the same fingerprints, keys and scores as intake,
with an in-memory index that reads keys like the database does (newest ``PER_KEY`` per key, the
``MAX_SCORED`` cases sharing most keys). Every earlier message within the window is a live case.

- **pair precision**: of the candidates shown, the share that are truly the same problem;
- **pair recall**: of the true same-problem pairs, the share shown;
- **report recall**: of the reports that repeat an earlier one, the share shown at least one
  earlier report of their group — what a dispatcher needs to merge them.
"""
from __future__ import annotations

import csv
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import combinations
from pathlib import Path
from typing import Any

from app.duplicates.detector import Fingerprint, Rules, best_matches, fingerprint, lookup_keys, stored_keys
from app.duplicates.store import MAX_SCORED, PER_KEY

SOURCE_TZ = timezone(timedelta(hours=8))


@dataclass
class Message:
    id: str
    user: str
    at: datetime
    subject: str
    detail: str


@dataclass
class Result:
    messages: int
    groups: int
    true_pairs: int
    repeats: int
    window_days: int
    thresholds: list[dict[str, float]]
    timings_ms: list[float] = field(repr=False)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.timings_ms)

    @property
    def p95_ms(self) -> float:
        return statistics.quantiles(self.timings_ms, n=20)[-1] if len(self.timings_ms) >= 20 else max(self.timings_ms)


def parse_time(value: str) -> datetime:
    """The source writes 2019/2/28 11:25:05, 2019-02-28 11:25:05 or just 2019-02-28."""
    text = value.strip().replace("/", "-")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=SOURCE_TZ)
        except ValueError:
            continue
    raise ValueError(f"unreadable time {value!r}")


def read_messages(path: Path) -> dict[str, Message]:
    out = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            at = parse_time(row["time"])
            out[row["message_id"].strip()] = Message(row["message_id"].strip(), row["user"].strip(), at,
                                                     row["subject"].strip(), row["detail"].strip())
    return out


def read_sample(path: Path) -> dict[str, str]:
    """message id → group id."""
    with path.open(encoding="utf-8", newline="") as f:
        return {row["message_id"].strip(): row["group"].strip() for row in csv.DictReader(f)}


class MemoryIndex:
    """The database index's reading rules, in memory."""

    def __init__(self) -> None:
        self.keys: dict[int, list[int]] = defaultdict(list)
        self.prints: dict[int, Fingerprint] = {}

    def find(self, fp: Fingerprint, rules: Rules) -> list[tuple[int, Fingerprint]]:
        hits: Counter[int] = Counter()
        for k in lookup_keys(fp):
            hits.update(self.keys.get(k, [])[-PER_KEY:])
        since = fp.created_at - timedelta(days=rules.window_days)
        # as the database orders them: most keys shared first, then the newest case
        best = sorted(hits.items(), key=lambda hit: (-hit[1], -hit[0]))[:MAX_SCORED]
        return [(i, self.prints[i]) for i, _ in best if self.prints[i].created_at >= since]

    def add(self, number: int, fp: Fingerprint) -> None:
        self.prints[number] = fp
        for k in stored_keys(fp):
            self.keys[k].append(number)


def evaluate(messages_path: Path, sample_path: Path, window_days: int = 30,
             thresholds: tuple[float, ...] = (0.4, 0.45, 0.5, 0.55, 0.6, 0.7)) -> Result:
    sample = read_sample(sample_path)
    source = read_messages(messages_path)
    missing = [m for m in sample if m not in source]
    if missing:
        raise ValueError(f"{len(missing)} sample ids are not in {messages_path}: {', '.join(missing[:5])} …")
    ordered = sorted((source[m] for m in sample), key=lambda m: (m.at, m.id))
    lowest = min(thresholds)
    rules = Rules(window_days=window_days, min_score=lowest)
    index = MemoryIndex()
    shown: list[tuple[str, str, float]] = []  # (new id, earlier id, score)
    timings = []
    for number, msg in enumerate(ordered):
        started = time.perf_counter()
        fp = fingerprint(msg.subject, msg.detail, msg.at, reporter=f"user:{msg.user}")
        matches = best_matches(fp, index.find(fp, rules), rules, limit=5)
        index.add(number, fp)
        timings.append((time.perf_counter() - started) * 1000)
        shown.extend((msg.id, ordered[i].id, m.score) for i, m in matches)
    members: dict[str, list[str]] = defaultdict(list)
    for m in ordered:
        members[sample[m.id]].append(m.id)
    true_pairs = {frozenset(p) for ids in members.values() for p in combinations(ids, 2)}
    repeats = {ids[i] for ids in members.values() for i in range(1, len(ids))}  # all but each group's first
    rows = []
    for t in thresholds:
        pairs = {frozenset((a, b)) for a, b, s in shown if s >= t}
        right = pairs & true_pairs
        found = {a for a, b, s in shown if s >= t and frozenset((a, b)) in true_pairs}
        rows.append({"threshold": t, "shown": len(pairs), "precision": len(right) / len(pairs) if pairs else 1.0,
                     "pair_recall": len(right) / len(true_pairs) if true_pairs else 1.0,
                     "report_recall": len(found & repeats) / len(repeats) if repeats else 1.0})
    return Result(len(ordered), sum(1 for ids in members.values() if len(ids) > 1), len(true_pairs), len(repeats),
                  window_days, rows, timings)


def report(result: Result, current: float | None = None) -> str:
    lines = [f"messages {result.messages}, duplicate groups {result.groups}, same-problem pairs {result.true_pairs}, "
             f"repeat reports {result.repeats}, window {result.window_days} days",
             f"{'threshold':>9} {'shown':>6} {'precision':>9} {'pair recall':>11} {'report recall':>13}"]
    for row in result.thresholds:
        mark = "  ← DEDUP_MIN_SCORE" if current is not None and abs(row["threshold"] - current) < 1e-9 else ""
        lines.append(f"{row['threshold']:>9.2f} {row['shown']:>6d} {row['precision']:>9.3f} {row['pair_recall']:>11.3f} "
                     f"{row['report_recall']:>13.3f}{mark}")
    lines.append(f"speed: {result.median_ms:.2f} ms median, {result.p95_ms:.2f} ms p95 per report "
                 f"(fingerprint + lookup + scoring, in memory)")
    return "\n".join(lines)


def as_dict(result: Result) -> dict[str, Any]:
    return {"messages": result.messages, "groups": result.groups, "true_pairs": result.true_pairs,
            "repeats": result.repeats, "window_days": result.window_days, "thresholds": result.thresholds,
            "median_ms": round(result.median_ms, 3), "p95_ms": round(result.p95_ms, 3)}
