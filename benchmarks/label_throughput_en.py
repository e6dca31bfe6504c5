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
import random
import sys

from label_throughput import (  # the Chinese benchmark beside this file: the same measurements
    one_core,
    print_label_file_throughput,
    print_load,
    print_throughput,
    time_labeler,
)


def make_reports(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` reports recombined from the IU sentences, and the IU report texts themselves."""
    from cxr_regions.label.iu_xray import iu_gold

    texts = [record["text"] for record in iu_gold("all")]
    pool = [s.strip() for text in texts for s in text.replace("\n", " ").split(". ") if s.strip()]
    rng = random.Random(seed)
    reports = [". ".join(rng.choices(pool, k=rng.randint(3, 9))) + "." for _ in range(n)]
    return reports, texts


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--no-cache", action="store_true", help="read every sentence afresh")
    parser.add_argument("--file", action="store_true", help="also time label_file on a CSV of the reports")
    args = parser.parse_args()
    one_core()

    from cxr_regions.label.labeler import Labeler
    from cxr_regions.label.vocabulary import load_vocabulary

    reports, iu_texts = make_reports(args.reports)
    english = load_vocabulary(language="en")
    labeler = Labeler(english, cache_size=0) if args.no_cache else Labeler(english)
    labeler.label("The heart is enlarged.")  # load and compile before timing
    print_throughput(labeler, reports, args.no_cache, kind="recombined IU sentences")
    _, cpu, _ = time_labeler(Labeler(english, cache_size=0), iu_texts)
    print(f"IU reports read cold {len(iu_texts):,}: {len(iu_texts) / cpu:,.0f} reports/s by CPU time")
    print_load()
    if args.file:
        print_label_file_throughput(reports, language="en")
    return 0


if __name__ == "__main__":
    sys.exit(main())
