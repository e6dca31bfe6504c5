"""English labeler throughput on one core: reports per second over >= 100,000 English reports.

The reports are made at run time from the real IU X-ray reports of the installed torchxrayvision wheel
(``pip install 'cxr-regions[english]'``; nothing is written to disk): each report is 3 to 9 sentences
drawn at random from the IU reports' sentences, so, as in a real export, sentences recur while most
reports differ. The sentence-cache hit rate is printed so the figure can be judged; ``--no-cache``
reads every sentence afresh. The 3,831 IU reports themselves are also timed once, each read cold.

    .venv/bin/python benchmarks/label_throughput_en.py [--reports 100000] [--no-cache] [--file]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from pathlib import Path


def make_reports(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` reports recombined from the IU sentences, and the IU report texts themselves."""
    from cxr_regions.reports.iu_xray import iu_gold

    texts = [record["text"] for record in iu_gold("all")]
    pool = [s.strip() for text in texts for s in text.replace("\n", " ").split(". ") if s.strip()]
    rng = random.Random(seed)
    reports = [". ".join(rng.choices(pool, k=rng.randint(3, 9))) + "." for _ in range(n)]
    return reports, texts


def _time(labeler, reports: list[str]) -> tuple[float, float, int]:
    started, cpu_started = time.perf_counter(), time.process_time()
    abnormal = sum(labeler.label(text).label_string != "00000" for text in reports)
    return time.perf_counter() - started, time.process_time() - cpu_started, abnormal


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--no-cache", action="store_true", help="read every sentence afresh")
    parser.add_argument("--file", action="store_true", help="also time label_file on a CSV of the reports")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    from cxr_regions.reports.labeler import Labeler
    from cxr_regions.reports.vocabulary import load_vocabulary

    reports, iu_texts = make_reports(args.reports)
    english = load_vocabulary(language="en")
    labeler = Labeler(english, cache_size=0) if args.no_cache else Labeler(english)
    labeler.label("The heart is enlarged.")  # load and compile before timing
    seconds, cpu, abnormal = _time(labeler, reports)
    stats = labeler.cache_stats()
    print(f"reports            {len(reports):,} (recombined IU sentences)")
    print(f"distinct reports   {len(set(reports)):,}")
    print(f"sentence cache     {'off' if args.no_cache else 'on'}; hit rate {stats['hit_rate']:.1%}")
    print(f"abnormal reports   {abnormal:,}")
    print(f"seconds            {seconds:.2f} wall, {cpu:.2f} CPU")
    print(f"reports/s (1 core) {len(reports) / seconds:,.0f} by the wall clock")
    print(f"reports/s (1 core) {len(reports) / cpu:,.0f} by CPU time")
    seconds, cpu, _ = _time(Labeler(english, cache_size=0), iu_texts)
    print(f"IU reports read cold {len(iu_texts):,}: {len(iu_texts) / cpu:,.0f} reports/s by CPU time")
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
        print(f"load average       {load:.1f} (a busy machine slows the wall clock, not CPU time)")
    if args.file:
        from cxr_regions.reports.files import label_file

        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "reports.csv"
            with source.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(["report_id", "text"])
                writer.writerows((f"R{i}", t) for i, t in enumerate(reports))
            started, cpu_started = time.perf_counter(), time.process_time()
            label_file(source, Path(tmp) / "labels.csv", progress=False, language="en")
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        print(
            f"label_file CSV -> labels.csv (reading, labelling, evidence JSON, writing): "
            f"{len(reports) / seconds:,.0f} reports/s by the wall clock, "
            f"{len(reports) / cpu:,.0f} by CPU time"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
