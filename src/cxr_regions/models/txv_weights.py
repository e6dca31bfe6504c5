"""torchxrayvision's chest-X-ray weights as a starting point: ``--init txv:NAME``.

torchxrayvision publishes a DenseNet-121 per data set (``densenet121-res224-nih`` is the paper's
third initialisation ready-made: trained on ChestX-ray14; ``densenet121-res224-all`` on eight public
chest data sets) and a ResNet-50 for 512-px films (``resnet50-res512-all``). Its networks are the
torchvision ones with a one-channel first convolution, so the backbone is built with torchvision and
our head goes on top; films in ``[0, 1]`` map to torchxrayvision's ``[-1024, 1024]`` with
``mean=0.5, std=1/2048``.

Its weight files are pickles (torchxrayvision loads them with ``weights_only=False``: unpickling runs
code stored in the file). :func:`converted_weights` converts each file once, with a warning and the
file's SHA-256, into a safetensors file in this package's cache; everything else reads that file
only. This module is the one place in the package that unpickles anything.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from safetensors.torch import save_file

from cxr_regions.errors import UserError
from cxr_regions.extras import require_extra
from cxr_regions.fileio import atomic_path, write_json
from cxr_regions.models.provenance import Provenance, cache_dir, sha256_file

log = logging.getLogger(__name__)

TXV_MEAN = 0.5
TXV_STD = 1 / 2048
"""torchxrayvision scales a film to [-1024, 1024]: ``(2 x - 1) * 1024 = (x - 0.5) / (1 / 2048)``."""

ARCH_OF_PREFIX = {"densenet121": "densenet121", "resnet50": "resnet50"}
INTENDED_USE = (
    "torchxrayvision publishes its models as research baselines and feature extractors, "
    '"NOT FOR MEDICAL USE".'
)
LICENCE = "Apache-2.0 (the torchxrayvision library, which publishes the weights); data sets' own terms"


def xrv() -> Any:
    """The torchxrayvision package (imported without letting it silence every warning of the process)."""
    require_extra("txv", "--init txv:NAME")
    with warnings.catch_warnings():
        # here: torchxrayvision is an optional extra (txv), checked for just above
        import torchxrayvision
    return torchxrayvision


def txv_names() -> list[str]:
    """torchxrayvision's weight names that this package can start from."""
    return [n for n in xrv().models.model_urls if n.split("-", 1)[0] in ARCH_OF_PREFIX and "-res" in n]


def txv_entry(name: str) -> dict[str, Any]:
    """torchxrayvision's record of weights ``name`` (URL, labels, input resolution, description)."""
    names = txv_names()
    if name not in names:
        raise UserError(f"unknown torchxrayvision weights {name!r}; use one of: {', '.join(names)}")
    return dict(xrv().models.model_urls[name])


def txv_arch(name: str) -> str:
    """The torchvision architecture of weights ``name`` (``densenet121``, ``resnet50``)."""
    prefix = name.split("-", 1)[0]
    if prefix not in ARCH_OF_PREFIX:
        txv_entry(name)  # not one of ours: a UserError listing the names
    return ARCH_OF_PREFIX[prefix]


def txv_resolution(name: str) -> int:
    """The film side the weights were trained on (224 or 512)."""
    entry = txv_entry(name)
    return int(entry.get("input_resolution", 224))


def source_file(name: str, weights: Path | str | None = None) -> Path:
    """The file torchxrayvision downloads for ``name`` (in its cache), or ``weights`` when given."""
    if weights is not None:
        return Path(weights).expanduser()
    url = txv_entry(name)["weights_url"]
    return Path(xrv().utils.get_cache_dir()).expanduser() / os.path.basename(url)


def _converted_dir() -> Path:
    return cache_dir() / "weights" / "txv"


def _missing(name: str, path: Path) -> UserError:
    url = txv_entry(name)["weights_url"]
    return UserError(
        f"torchxrayvision weights {name} are not on this machine: {path.name} was not found in "
        f"{path.parent} (and no converted copy is in {_converted_dir()}). Nothing is downloaded by "
        f"cxr-regions: run python -c \"import torchxrayvision as xrv; xrv.models.get_model('{name}')\" "
        f"(or wget {url} -O {path}), or pass --weights FILE"
    )


def converted_weights(name: str, weights: Path | str | None = None) -> tuple[Path, Provenance]:
    """The safetensors file of torchxrayvision weights ``name`` in this package's cache, converting
    the downloaded pickle once where needed; and its provenance.

    The converted file is named after the source file's SHA-256, so a replaced source is converted
    again. Where the source is gone but one converted copy is cached, that copy is used.
    """
    source = source_file(name, weights)
    folder = _converted_dir()
    if not source.is_file():
        if weights is not None:
            raise UserError(f"--weights {source}: no such file (expected torchxrayvision's file for {name})")
        cached = sorted(folder.glob(f"{name}-*.safetensors"))
        if len(cached) == 1:
            return cached[0], _read_record(cached[0])
        raise _missing(name, source)
    digest = sha256_file(source)
    target = folder / f"{name}-{digest[:16]}.safetensors"
    if target.is_file() and target.with_suffix(".json").is_file():
        return target, _read_record(target)
    _convert(name, source, digest, target)
    return target, _read_record(target)


def _read_record(target: Path) -> Provenance:
    record = target.with_suffix(".json")
    try:
        return Provenance.from_dict(json.loads(record.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise UserError(
            f"cannot read {record} (delete it and {target.name} to convert again): {exc}"
        ) from None


def _convert(name: str, source: Path, digest: str, target: Path) -> None:
    """Unpickle ``source`` through torchxrayvision's own loader, once, and save its tensors as safetensors."""
    lib = xrv()
    log.warning(
        "converting torchxrayvision weights %s once: %s (SHA-256 %s) is a pickle, and reading it runs code "
        "stored in the file; only convert files from a source you trust. Runs read the safetensors copy %s",
        name,
        source,
        digest,
        target,
    )
    expected = os.path.basename(txv_entry(name)["weights_url"])
    with tempfile.TemporaryDirectory() as tmp:
        folder = source.parent
        if source.name != expected:  # torchxrayvision finds its file by name: link it under that name
            folder = Path(tmp)
            (folder / expected).symlink_to(source.resolve())
        try:
            with warnings.catch_warnings():
                model = lib.models.get_model(name, cache_dir=str(folder))
        except Exception as exc:
            raise UserError(f"torchxrayvision could not read {source} as weights {name}: {exc}") from None
    state = {k.removeprefix("model."): v.detach().contiguous() for k, v in model.state_dict().items()}
    state.pop("op_threshs", None)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp_path:
        save_file(state, str(tmp_path), metadata={"source": "torchxrayvision", "weights": name})
    provenance = Provenance(
        library="torchxrayvision",
        library_version=getattr(lib, "__version__", None),
        weights=name,
        file=str(source),
        sha256=digest,
        converted_file=str(target),
        converted_sha256=sha256_file(target),
        url=txv_entry(name)["weights_url"],
        licence=LICENCE,
        intended_use=INTENDED_USE,
        research_only=True,
    )
    write_json(target.with_suffix(".json"), provenance.to_dict())
