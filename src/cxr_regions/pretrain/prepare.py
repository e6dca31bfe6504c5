"""Pack ChestX-ray14 into a dataset folder of the same format as ``build``, once.

At 112,120 films this is the slow step (decoding 1024-px PNGs), so it is parallel, shows a
progress bar and resumes where it stopped (``cxr_regions.build.pack_images`` does the packing).
``dataset.json`` is written last: its presence means the folder is complete.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cxr_regions import __version__
from cxr_regions.configfile import load_config, save_config, to_dict
from cxr_regions.contracts.dataset import (
    IMAGES_FILE,
    MANIFEST,
    STATS_FILE,
    DatasetCounts,
    DatasetInfo,
    LeakCheck,
    PackedArray,
)
from cxr_regions.errors import UserError
from cxr_regions.fileio import write_csv, write_text
from cxr_regions.pretrain.nih import read_nih
from cxr_regions.pretrain.nih_findings import FINDING_KEYS, FINDINGS
from cxr_regions.pretrain.nih_split import assign_splits
from cxr_regions.pretrain.prepare_config import PrepareConfig
from cxr_regions.pretrain.region_map import regions_manifest, regions_meta, regions_stats_markdown
from cxr_regions.regions import REGION_KEYS

KIND = "chestx14"
MANIFEST_COLUMNS = (
    "index",
    "image_id",
    "patient_key",
    *FINDING_KEYS,
    "label_string",
    "split",
    "repeat",
    "source_image_id",
    "view",
)


@dataclass
class Plan:
    """What a preparation will write: the manifest (packed order), its image files, and where from."""

    manifest: pd.DataFrame
    sources: list[Path]
    missing: pd.DataFrame
    facts: dict[str, Any]  # DatasetInfo's fields, spread into it

    def digest(self, size: int, resize: str) -> str:
        """Names these films, labels, split, size and resizing; a folder is reused only if it matches."""
        return _digest(self.manifest.to_csv(index=False), size, resize)


def _digest(manifest_text: str, size: int, resize: str) -> str:
    return hashlib.sha256(f"{manifest_text}size={size} resize={resize}".encode()).hexdigest()[:12]


def plan(config: PrepareConfig) -> Plan:
    """Read the NIH folder and split it: the manifest a preparation writes, before any packing."""
    index = read_nih(config.nih_dir, allow_missing=config.allow_missing)
    table = index.table.copy()
    table["split"] = assign_splits(index, config.split).to_numpy()
    table["index"] = range(len(table))
    table["label_string"] = ["".join(map(str, row)) for row in table[list(FINDING_KEYS)].to_numpy()]
    table["repeat"] = 1
    table["source_image_id"] = table["image_id"]
    facts: dict[str, Any] = {
        "source": str(index.root),
        "labels_csv": index.labels_csv.name,
        "split_source": "official lists" if index.official_lists is not None else "patient-level random",
        "unlabelled_images": index.unlabelled,
    }
    manifest = table.loc[:, list(MANIFEST_COLUMNS)].reset_index(drop=True)
    if config.regions:
        manifest = regions_manifest(manifest)
    return Plan(
        manifest=manifest,
        sources=[Path(p) for p in table["path"]],
        missing=index.missing,
        facts=facts,
    )


def _counts(manifest: pd.DataFrame) -> dict[str, dict[str, int]]:
    out = {}
    for split in ("train", "val", "test"):
        rows = manifest[manifest["split"] == split]
        out[split] = {"films": len(rows), "patients": int(rows["patient_key"].nunique())}
        out[split] |= {key: int(rows[key].sum()) for key in FINDING_KEYS}
    return out


def stats_markdown(manifest: pd.DataFrame, meta: DatasetInfo) -> str:
    """Films, patients and positive films per finding, per split."""
    counts = meta.counts.model_dump()
    lines = [
        "# ChestX-ray14, prepared",
        "",
        f"Source: `{meta.source}` ({meta.labels_csv}); split: {meta.split_source}; "
        f"{meta.size}×{meta.size} px.",
        "",
        "| | train | val | test | all |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, key in (("films", "films"), ("patients", "patients")):
        cells = [counts[s][key] for s in ("train", "val", "test")]
        total = len(manifest) if key == "films" else manifest["patient_key"].nunique()
        lines.append(f"| {label} | {' | '.join(map(str, cells))} | {total} |")
    for f in FINDINGS:
        cells = [counts[s][f.key] for s in ("train", "val", "test")]
        lines.append(f"| {f.name} | {' | '.join(map(str, cells))} | {int(manifest[f.key].sum())} |")
    no_finding = int((manifest[list(FINDING_KEYS)].sum(axis=1) == 0).sum())
    lines += ["", f"No Finding (all 14 zero): {no_finding} films.", ""]
    if meta.missing_films:
        lines += [f"{meta.missing_films} films of the label file had no image: see missing.csv.", ""]
    if meta.unlabelled_images:
        lines += [f"{meta.unlabelled_images} image files are not in the label file and were not used.", ""]
    return "\n".join(lines)


def _check_folder(out: Path, digest: str) -> bool:
    """True where ``out`` is already this preparation, complete; raise where it holds something else."""
    if DatasetInfo.exists(out):
        meta = DatasetInfo.read(out)
        if meta.manifest_digest == digest:
            return True
        raise UserError(
            f"{out} already holds a prepared dataset of other films, size, resizing or split "
            f"({meta.source}, {meta.size} px): choose another folder or delete it."
        )
    manifest_csv = MANIFEST.path_in(out)
    if manifest_csv.is_file():
        saved = load_config(out / "prepare.yaml") if (out / "prepare.yaml").is_file() else {}
        text = manifest_csv.read_text(encoding="utf-8")
        if _digest(text, saved.get("size", 0), saved.get("resize", "")) != digest:
            raise UserError(
                f"{out} holds an unfinished preparation of other films, size, resizing or split: "
                "delete it or choose another folder."
            )
    elif out.exists() and any(out.iterdir()):
        raise UserError(f"{out} is not empty and holds no ChestX-ray14 preparation: choose another folder.")
    return False


def prepare_nih(config: PrepareConfig) -> Path:
    """Pack ``config.nih_dir`` into ``config.out``; return ``config.out``.

    Run again after an interruption and it goes on where it stopped; run again on a complete
    folder and it returns at once. A folder holding another preparation is refused.
    """
    from cxr_regions.build import leak_check, pack_images

    if config.size < 32:
        raise UserError(f"--size must be at least 32 px, got {config.size}.")
    out = Path(config.out)
    todo = plan(config)
    digest = todo.digest(config.size, config.resize)
    if _check_folder(out, digest):
        return out
    leak = leak_check(todo.manifest)
    if leak["leaking"]:
        raise RuntimeError(f"ChestX-ray14 split puts a patient in two splits: {leak}")
    out.mkdir(parents=True, exist_ok=True)
    save_config(config, out / "prepare.yaml", command="pretrain-prepare")
    labels = list(REGION_KEYS if config.regions else FINDING_KEYS)
    MANIFEST.write(out, todo.manifest, labels)
    write_csv(out / "missing.csv", todo.missing)
    pack_images(
        todo.sources,
        out / IMAGES_FILE,
        size=config.size,
        workers=config.workers,
        resize=config.resize,
        progress=config.progress,
        engine=config.engine,
        scheduler=config.scheduler,
    )
    meta = DatasetInfo(
        kind=KIND,
        dataset_id=f"{out.resolve().name}-{digest}",
        protocol="clean",
        leaking=False,
        labels=list(FINDING_KEYS),
        seed=config.split.seed,
        size=config.size,
        version=__version__,
        built_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **todo.facts,
        missing_films=len(todo.missing),
        counts=DatasetCounts.model_validate(_counts(todo.manifest)),
        leak_check=LeakCheck.model_validate(leak),
        images=PackedArray(file=IMAGES_FILE, shape=[len(todo.manifest), config.size, config.size]),
        manifest_digest=digest,
        config=to_dict(config),
    )
    if config.regions:
        meta = DatasetInfo.model_validate({**meta.model_dump(), **regions_meta(todo.manifest)})
        write_text(out / STATS_FILE, regions_stats_markdown(todo.manifest, meta))
    else:
        write_text(out / STATS_FILE, stats_markdown(todo.manifest, meta))
    meta.write(out)
    return out
