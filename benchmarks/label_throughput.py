"""Labeler throughput on one core: reports per second over >= 100,000 reports.

The reports are generated here: numbered sentences drawn from templates of the kinds a hospital
writes (normal templates, findings with sides, zones, sizes, dates of prior films, ratios, rib and
vertebra numbers, devices, hedges), 5% in traditional characters and 5% with full-width digits. As
in a real export, sentences recur while most reports differ; the sentence-cache hit rate is
printed so the figure can be judged. ``--no-cache`` measures every sentence read afresh.
``--source FILE`` takes real reports instead: the ``text`` of every record of a JSONL file (such as
zh-reports/dev.jsonl), repeated in order until ``--reports`` are reached.

    .venv/bin/python benchmarks/label_throughput.py [--reports 100000] [--no-cache] [--file]
        [--source ../shared/data/zh-reports/dev.jsonl]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

SIDES = ["左", "右", "双"]
ZONES = ["上野", "中野", "下野", "中下野", "上叶", "下叶", "尖"]
DEGREE = ["", "少许", "少量", "稍", "略", "明显"]
NORMAL = [
    "两侧胸廓对称",
    "两肺纹理清晰，走行自然",
    "两肺纹理增多、增粗",
    "双肺纹理稍增多，未见明显实变影",
    "双肺未见明确渗出、实变灶",
    "两肺门不大",
    "心影大小、形态未见异常",
    "心影不大",
    "心、膈未见特殊X线征象",
    "两膈面光整，两肋膈角锐利",
    "双侧胸膜腔未见积液征象",
    "主动脉结不宽",
    "气管居中，纵隔无增宽",
    "心肺膈未见明显异常",
]


def _date(rng: random.Random) -> str:
    return f"{rng.randint(2015, 2025)}-{rng.randint(1, 12)}-{rng.randint(1, 28)}"


def _finding(rng: random.Random) -> str:
    side, zone, deg = rng.choice(SIDES), rng.choice(ZONES), rng.choice(DEGREE)
    size = f"{rng.randint(1, 6)}.{rng.randint(0, 9)}cm"
    templates = [
        f"{side}肺{zone}见{deg}斑片状模糊影",
        f"{side}肺{zone}见{deg}条索状高密度影，考虑陈旧性病变",
        f"{side}肺{zone}见结节影，大小约{size}，建议CT进一步检查",
        f"{side}肺{zone}可疑小结节影",
        f"{side}下肺炎症，较{_date(rng)}片{rng.choice(['吸收好转', '相仿', '进展', '已吸收'])}",
        f"{side}侧{deg}气胸，肺组织压缩约{rng.randint(5, 60)}%",
        f"{side}侧胸腔{deg}积液{rng.choice(['', '可能', '，较前减少'])}",
        f"{side}侧肋膈角{rng.choice(['变钝', '模糊', '显示欠清', '锐利'])}",
        f"{side}膈面{rng.choice(['抬高', '光整', '模糊'])}",
        f"心影{rng.choice(['增大', '稍大', '饱满', '不大'])}，心胸比约0.{rng.randint(42, 65)}",
        f"主动脉{rng.choice(['结突出', '弓钙化', '迂曲', '硬化', '走形迂曲'])}",
        "主动脉型心影",
        f"{side}侧第{rng.randint(3, 9)}后肋骨折{rng.choice(['', '，断端对位可', '可能'])}",
        f"胸{rng.randint(5, 12)}椎体{rng.choice(['楔形变', '压缩骨折', '骨质增生'])}",
        f"胸椎{deg}侧弯",
        f"{side}侧胸壁皮下{deg}积气",
        f"{rng.choice(['右上纵隔', '上腔静脉', '左侧胸壁'])}见置管影，末端约平第{rng.randint(4, 8)}后肋",
        "气管插管术后改变",
        f"PICC管末端位于胸{rng.randint(5, 8)}椎体水平",
        "慢性支气管炎、肺气肿征象",
        f"双肺纹理增多、{rng.choice(['紊乱', '模糊'])}",
        f"{side}肺门影{rng.choice(['增浓', '增大', '浓密'])}",
    ]
    return rng.choice(templates)


TRADITIONAL = {"肺": "肺", "两": "兩", "纹": "紋", "脏": "臟", "钙": "鈣", "积": "積", "侧": "側"}


def make_reports(n: int, seed: int = 0) -> list[str]:
    """``n`` generated reports (mostly distinct; their sentences recur, as in real exports)."""
    rng = random.Random(seed)
    reports = []
    for _ in range(n):
        sentences = []
        if rng.random() < 0.25:
            sentences = rng.sample(NORMAL, rng.randint(2, 5))
        else:
            sentences = [_finding(rng) for _ in range(rng.randint(1, 4))] + rng.sample(
                NORMAL, rng.randint(0, 2)
            )
        text = "".join(f"{i}、{s}。" for i, s in enumerate(sentences, start=1))
        draw = rng.random()
        if draw < 0.05:
            text = text.translate(str.maketrans(TRADITIONAL))
        elif draw < 0.10:
            text = text.translate(str.maketrans("0123456789,", "０１２３４５６７８９，"))
        reports.append(text)
    return reports


def real_reports(path: Path, n: int) -> list[str]:
    """The texts of the JSONL file ``path``, repeated in order until there are ``n``."""
    import json

    lines = path.read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines if line.strip()]
    if not texts:
        raise SystemExit(f"{path}: no records")
    return [texts[i % len(texts)] for i in range(n)]


def one_core() -> None:
    """Pin this process to one core, so the figures are per core."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def time_labeler(labeler, reports: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and the number of reports with any region abnormal."""
    started, cpu_started = time.perf_counter(), time.process_time()
    abnormal = sum(labeler.label(text).label_string != "00000" for text in reports)
    return time.perf_counter() - started, time.process_time() - cpu_started, abnormal


def print_throughput(labeler, reports: list[str], no_cache: bool, kind: str = "") -> None:
    """Time ``labeler`` over ``reports`` and print the figures with the cache hit rate and the load."""
    seconds, cpu, abnormal = time_labeler(labeler, reports)
    stats = labeler.cache_stats()
    print(f"reports            {len(reports):,}{f' ({kind})' if kind else ''}")
    print(f"distinct reports   {len(set(reports)):,}")
    print(f"sentence cache     {'off' if no_cache else 'on'}; hit rate {stats['hit_rate']:.1%}")
    print(f"abnormal reports   {abnormal:,}")
    print(f"seconds            {seconds:.2f} wall, {cpu:.2f} CPU")
    print(f"reports/s (1 core) {len(reports) / seconds:,.0f} by the wall clock")
    print(f"reports/s (1 core) {len(reports) / cpu:,.0f} by CPU time")


def print_load() -> None:
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
        print(f"load average       {load:.1f} (a busy machine slows the wall clock, not CPU time)")


def print_label_file_throughput(reports: list[str], language: str = "zh") -> None:
    """Time ``label_file`` end to end: a CSV of ``reports`` in, labels.csv with evidence out."""
    import csv

    from cxr_regions.label.files import label_file

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "reports.csv"
        with source.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["report_id", "text"])
            writer.writerows((f"R{i}", t) for i, t in enumerate(reports))
        started, cpu_started = time.perf_counter(), time.process_time()
        label_file(source, Path(tmp) / "labels.csv", progress=False, language=language)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        f"label_file CSV -> labels.csv (reading, labelling, evidence JSON, writing): "
        f"{len(reports) / seconds:,.0f} reports/s by the wall clock, "
        f"{len(reports) / cpu:,.0f} by CPU time"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--no-cache", action="store_true", help="read every sentence afresh")
    parser.add_argument("--file", action="store_true", help="also time label_file on a CSV of the reports")
    parser.add_argument("--source", type=Path, help="real reports: a JSONL file whose texts are repeated")
    args = parser.parse_args()
    one_core()

    from cxr_regions.label.labeler import Labeler

    reports = real_reports(args.source, args.reports) if args.source else make_reports(args.reports)
    labeler = Labeler(cache_size=0) if args.no_cache else Labeler()
    labeler.label("两肺纹理增多。右侧胸腔积夜。")  # load and compile before timing (the pinyin data too)
    kind = f"{args.source.name} repeated" if args.source else ""
    print_throughput(labeler, reports, args.no_cache, kind=kind)
    print_load()
    if args.file:
        print_label_file_throughput(reports)
    return 0


if __name__ == "__main__":
    sys.exit(main())
