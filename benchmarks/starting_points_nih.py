"""Three starting points on the real NIH films of ``../shared/data/nih-sample``, end to end.

The 200 films are packed with ``pretrain-prepare --regions`` (lungs, heart and diaphragm labelled
from NIH's findings; thorax and aorta not labelled), then three runs are trained and evaluated with
95% patient-bootstrap CIs:

1. ``scratch-resnet18``: the paper's recipe from scratch (``--arch resnet18 --init scratch``);
2. ``probe-dinov2``: a frozen encoder with a trained linear head (``--init hf:FOLDER
   --freeze-backbone``), the encoder of RAD-DINO's shape (a DINOv2 ViT-B/14) with RANDOM weights,
   written to a local folder first (no weights can be downloaded here);
3. ``convnext-atto``: a small timm ConvNeXt trained end to end (``--arch timm:convnext_atto``), from
   random weights as well.

All three start from random weights, so the figures show the pipeline at work on real films, not
what pretrained weights bring. Each command is printed as it runs; the table goes to stdout.

    nice -n 10 python benchmarks/starting_points_nih.py --out /tmp/nih-starting-points
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NIH = Path(os.environ.get("CXR_SHARED_DATA", ROOT.parent / "shared" / "data")) / "nih-sample"


def run(args: list[str], env: dict[str, str]) -> float:
    """Run one ``cxr-regions`` command, print it, return its wall time."""
    command = [sys.executable, "-m", "cxr_regions.cli", *args]
    print("$ cxr-regions " + " ".join(shlex.quote(a) for a in args), flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def random_encoder(folder: Path, seed: int) -> None:
    """A DINOv2 ViT-B/14 (RAD-DINO's shape) with random weights, its image processor (518-px
    films) and a model card saying research only, as `hf download` would leave them."""
    import torch
    import transformers

    torch.manual_seed(seed)
    config = transformers.Dinov2Config(
        hidden_size=768, num_hidden_layers=12, num_attention_heads=12, patch_size=14, image_size=518
    )
    transformers.Dinov2Model(config).save_pretrained(folder)
    transformers.BitImageProcessor(
        size={"shortest_edge": 518},
        crop_size={"height": 518, "width": 518},
        image_mean=[0.5] * 3,
        image_std=[0.25] * 3,
    ).save_pretrained(folder)
    (folder / "README.md").write_text(
        "---\nlicense: other\n---\nRandom weights of RAD-DINO's shape, for a pipeline check; "
        "for research purposes only.\n",
        encoding="utf-8",
    )


def cell(auc: dict) -> str:
    if auc["auc"] is None:
        what = "not labelled" if auc["n_pos"] + auc["n_neg"] == 0 else "undefined (one class)"
        return f"{what}, {auc['n_pos']}+/{auc['n_neg']}−"
    flag = "" if auc.get("reliable", True) else " (unreliable: < 10 positives)"
    return (
        f"{auc['auc']:.3f} [{auc['ci_low']:.3f}, {auc['ci_high']:.3f}], {auc['n_pos']}+/{auc['n_neg']}−{flag}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="Working folder (dataset, runs).")
    parser.add_argument("--nih", type=Path, default=NIH, help="The NIH sample folder.")
    parser.add_argument("--size", type=int, default=128, help="Packed film side (crops: 224/256 of it).")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not (args.nih / "Data_Entry_2017.csv").is_file():
        print(f"NIH sample not found at {args.nih}", file=sys.stderr)
        return 2
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env["CXR_REGIONS_CACHE"] = str(args.out / "cache")
    load_before = os.getloadavg()
    data = args.out / f"nih-{args.size}px"
    times = {}
    prepare = ["pretrain-prepare", str(args.nih), "-o", str(data), "--size", str(args.size)]
    times["prepare"] = run([*prepare, "--regions", "--val-fraction", "0.2"], env)
    encoder = args.out / "encoder-dinov2-vitb14-random"
    if not (encoder / "model.safetensors").is_file():
        random_encoder(encoder, args.seed)
    common = ["--epochs", str(args.epochs), "--seed", str(args.seed), "--num-workers", "1", "--no-progress"]
    runs = {
        "scratch-resnet18": ["--arch", "resnet18", "--init", "scratch"],
        "probe-dinov2": ["--init", f"hf:{encoder}", "--freeze-backbone", "--no-upsample"],
        "convnext-atto": ["--arch", "timm:convnext_atto", "--init", "scratch"],
    }
    for name, options in runs.items():
        folder = args.out / name
        if not (folder / "model.safetensors").is_file():
            times[name] = run(["train", str(data), "-o", str(folder), *options, *common], env)
        times[f"evaluate {name}"] = run(["evaluate", str(folder), "--n-boot", "1000"], env)

    print(
        f"\nload average before: {', '.join(f'{v:.2f}' for v in load_before)}; "
        f"after: {', '.join(f'{v:.2f}' for v in os.getloadavg())}; CPUs: {os.cpu_count()}"
    )
    print("\n| run | epochs (best) | train time | lungs | heart | diaphragm | mean |")
    print("|---|---:|---:|---|---|---|---|")
    for name in runs:
        folder = args.out / name
        evaluation = json.loads((folder / "evaluation" / "evaluation.json").read_text(encoding="utf-8"))
        info = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        auc = evaluation["auc"]
        mean = auc["mean"]
        mean_text = f"{mean['auc']:.3f} [{mean['ci_low']:.3f}, {mean['ci_high']:.3f}]" if mean["auc"] else "—"
        trained = times.get(name)
        print(
            f"| {name} | {info.get('epochs_trained')} ({info.get('best_epoch')}) | "
            f"{f'{trained / 60:.1f} min' if trained else 'earlier run'} | {cell(auc['lungs'])} | "
            f"{cell(auc['heart'])} | {cell(auc['diaphragm'])} | {mean_text} |"
        )
    test = evaluation
    print(
        f"\nTest split: {test['n_films']} films of {test['n_patients']} patients; {test['n_boot']} resamples."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
