"""Hot spots of a file of citizen messages (text only): ``flask hotspots evaluate --csv PATH``.

The messages (columns ``message_id, user, subject, time, detail`` and optionally ``likes``, as the
public message board of the TipDM source writes them) have no coordinates and no category, so the
place is what their text names (:func:`app.hotspots.places.place_of`) and the problem is the text
(the duplicate detector's fingerprints and similarity). The messages are grouped by
:func:`app.hotspots.grouping.group` like cases; a message's likes weigh as in the heat index.
The file is read where it lies: message files are not ours to ship.
"""
from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from app.duplicates.detector import Rules as DetectorRules, best_matches, fingerprint, warm_up
from app.duplicates.evaluate import MemoryIndex, parse_time
from app.hotspots.grouping import HotSpot, Report, Rules, group
from app.hotspots.places import people_of, place_of

DETECTOR = DetectorRules()
LINK_SCORE = 0.6  # stricter than intake's 0.5 (precision 0.90 on the labelled sample): links chain
REQUIRED = ("message_id", "user", "subject", "time", "detail")


@dataclass
class Evaluation:
    messages: int
    spots: list[HotSpot]
    newest: datetime


def read_reports(path: Path) -> list[Report]:
    """The file's messages as reports; a row without a readable time is an error naming its line."""
    warm_up()
    reports = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} has no column {', '.join(missing)} (columns: {', '.join(reader.fieldnames or [])})")
        for line, row in enumerate(reader, start=2):
            try:
                at = parse_time(row["time"] or "")
            except ValueError as exc:
                raise ValueError(f"line {line}: {exc}") from None
            subject = unicodedata.normalize("NFKC", (row["subject"] or "").strip())
            detail = unicodedata.normalize("NFKC", (row["detail"] or "").strip())
            likes = row.get("likes") or "0"
            place = place_of(subject, detail)
            reports.append(Report(
                id=row["message_id"].strip(), at=at, title=subject, reporter=(row["user"] or "").strip() or None,
                fingerprint=fingerprint(subject, detail, at, reporter=row["user"]),
                place=place.name if place else None, likes=int(likes) if likes.strip().isdigit() else 0,
                people=people_of([subject + detail])))
    return reports


def duplicate_links(reports: list[Report], window_days: int = DETECTOR.window_days) -> list[tuple[str, str]]:
    """Pairs the duplicate detector would propose at intake (score at least its threshold),
    replaying the messages in time order through its in-memory index: the links cases get from
    ``duplicate_candidates``."""
    rules = DetectorRules(window_days=window_days, min_score=LINK_SCORE)
    index = MemoryIndex()
    ordered = sorted(reports, key=lambda r: (r.at, str(r.id)))
    out = []
    for number, report in enumerate(ordered):
        if report.fingerprint is None:
            continue
        fp = replace(report.fingerprint, reporter=None)  # many messages of one user are not one problem
        for earlier, _match in best_matches(fp, index.find(fp, rules), rules, limit=5):
            out.append((str(ordered[earlier].id), str(report.id)))
        index.add(number, fp)
    return out


def evaluate(path: Path, top: int = 5, rules: Rules | None = None) -> Evaluation:
    """The ``top`` hot spots of the file. Without a half-life the file is one period (no decay);
    with one, ages count from the newest message."""
    reports = read_reports(path)
    if not reports:
        raise ValueError(f"{path} holds no messages")
    newest = max(r.at for r in reports)
    spots = group(reports, newest, rules or Rules(half_life_days=None), limit=top, links=duplicate_links(reports))
    return Evaluation(len(reports), spots, newest)


def _day(at: datetime) -> str:
    return at.strftime("%Y-%m-%d")


def table(result: Evaluation) -> list[dict[str, str | int | float]]:
    """One row per hot spot with the columns the command prints."""
    return [{"rank": rank, "heat": round(s.heat, 2), "place": s.place or "—", "people": "、".join(s.people) or "—",
             "time_range": f"{_day(s.first_at)} – {_day(s.last_at)}", "description": s.description,
             "messages": s.count, "users": s.reporters, "likes": s.likes, "terms": " ".join(s.terms),
             "ids": " ".join(str(i) for i in s.case_ids)}
            for rank, s in enumerate(result.spots, start=1)]
