"""The training objective: pixel, perceptual (VGG-19 relu2_2), identity (ArcFace IR-SE50), LPIPS,
adversarial (non-saturating logistic) terms, lazy R1 and path-length regularisation.

Images are N x 3 x S x S tensors in [-1, 1]. Backbones are real pretrained networks the user
points at (never downloaded); every backbone is frozen (``requires_grad`` off, eval mode), so
gradients flow *through* it to the generator but it holds no gradient buffers and never changes.

Where the backbones come from (:func:`find_backbone`): the path given, else the first file in
the weights folder whose *tensors* are that network (names do not matter):

- ``vgg``: torchvision's ``vgg19-dcbb9e9d.pth`` (``features.34.weight`` present, 16 convs);
- ``arcface``: GPEN's ``model_ir_se50.pth`` or facexlib's ``recognition_arcface_ir_se50.pth``
  (``input_layer.0.weight`` and 24 ``body`` units), loaded into facexlib's ``Backbone(50, 0.6,
  'ir_se')``;
- ``lpips``: torchvision's VGG-16 (``vgg16-397923af.pth``) or AlexNet (``alexnet-owt-7be5be79.pth``)
  file for the ``lpips`` package, whose linear layers ship inside its wheel.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gpen_desktop.core.errors import LossSetupError

log = logging.getLogger(__name__)

BACKBONE_FLAG = {"perceptual": "--vgg", "identity": "--arcface", "lpips": "--lpips-backbone"}
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_MAX_SCAN_BYTES = 1 << 30


# --------------------------------------------------------------------------- finding backbones


def _kind_of(sd: dict) -> str | None:
    """Which backbone a state dict is, from its tensor names and shapes."""
    first = sd.get("features.0.weight")
    if first is not None and tuple(first.shape) == (64, 3, 3, 3):
        convs = [k for k in sd if k.startswith("features.") and k.endswith(".weight")]
        if len(convs) == 16 and "features.34.weight" in sd:
            return "vgg19"
        if len(convs) == 13 and "features.28.weight" in sd:
            return "vgg16"
    if first is not None and tuple(first.shape) == (64, 3, 11, 11) and "features.10.weight" in sd:
        return "alexnet"
    if "input_layer.0.weight" in sd and any(k.startswith("body.23.") for k in sd):
        return "arcface"
    return None


_WANTED = {"vgg": ("vgg19",), "arcface": ("arcface",), "lpips-vgg": ("vgg16",)}
_WANTED["lpips-alex"] = ("alexnet",)


def _read(path: Path) -> dict:
    from gpen_desktop.core.checkpoints import read_state_dict

    return read_state_dict(path)[0]


def find_backbone(kind: str, path: str | None, weights_dir: str | Path | None) -> Path | None:
    """The file for backbone ``kind`` (``vgg``, ``arcface``, ``lpips-vgg``, ``lpips-alex``):
    ``path`` when given (checked by content: LossSetupError if it is something else), else the
    first matching file in ``weights_dir`` (None: none there)."""
    from gpen_desktop.core.errors import CheckpointError

    wanted = _WANTED[kind]
    if path:
        p = Path(path)
        try:
            found = _kind_of(_read(p))
        except CheckpointError as exc:
            raise LossSetupError(f"{kind} backbone: {exc}") from None
        if found not in wanted:
            raise LossSetupError(
                f"{p.name} is not a {' or '.join(wanted)} state dict (it looks like {found or 'something else'})"
            )
        return p
    if not weights_dir or not Path(weights_dir).is_dir():
        return None
    for p in sorted(Path(weights_dir).iterdir()):
        if p.suffix.lower() not in (".pth", ".pt", ".bin") or not p.is_file():
            continue
        if p.stat().st_size > _MAX_SCAN_BYTES:
            continue
        try:
            if _kind_of(_read(p)) in wanted:
                return p
        except (CheckpointError, OSError):
            continue
    return None


# --------------------------------------------------------------------------- backbone modules


def _frozen(module: nn.Module) -> nn.Module:
    module.requires_grad_(False)
    return module.eval()


class VGGFeatures(nn.Module):
    """VGG-19 up to relu2_2 (torchvision ``features[:9]``), on [-1, 1] RGB input."""

    def __init__(self, state_dict: dict | None = None) -> None:
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        # Only the layers up to relu2_2 are built (the classifier alone is 120 M parameters).
        self.features = make_layers(cfgs["E"])[:9]
        if state_dict is not None:
            wanted = {k for k in self.features.state_dict()}
            self.features.load_state_dict(
                {
                    k[len("features.") :]: v
                    for k, v in state_dict.items()
                    if k[len("features.") :] in wanted
                }
            )
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), False)
        _frozen(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(((x + 1) / 2 - self.mean) / self.std)


class ArcFace(nn.Module):
    """ArcFace IR-SE50 embedding of the face region, cropped and resized as GPEN's training code
    does (to 256, rows 35:223 and columns 32:220, pooled to 112 px). Output: N x 512, unit length."""

    def __init__(self, state_dict: dict | None = None) -> None:
        super().__init__()
        from facexlib.recognition.arcface_arch import Backbone

        self.net = Backbone(50, 0.6, "ir_se")
        if state_dict is not None:
            self.net.load_state_dict(state_dict)
        _frozen(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != 256:
            mode = "area" if x.shape[-1] > 256 else "bilinear"
            x = F.interpolate(
                x,
                size=(256, 256),
                mode=mode,
                **({} if mode == "area" else {"align_corners": False}),
            )
        x = F.adaptive_avg_pool2d(x[:, :, 35:223, 32:220], (112, 112))
        return self.net(x)


def lpips_module(net: str, backbone: dict | None) -> nn.Module:
    """``lpips.LPIPS`` with its shipped linear layers and the backbone from ``backbone`` (a
    torchvision state dict; None leaves it random - tests only)."""
    import warnings

    import lpips

    with warnings.catch_warnings():  # lpips still passes torchvision's old `pretrained=`
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
    if backbone is not None:
        mapped = {}
        for name, _ in model.net.named_parameters():
            slice_name, index, leaf = name.split(".")
            mapped[name] = backbone[f"features.{index}.{leaf}"]
        model.net.load_state_dict(mapped)
    return _frozen(model)


# --------------------------------------------------------------------------- the objective


@dataclass
class Objective:
    """Weighted loss terms; a weight of 0 (or a missing backbone) switches a term off."""

    weights: dict[str, float]
    vgg: nn.Module | None = None
    arcface: nn.Module | None = None
    lpips: nn.Module | None = None
    notes: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)

    def to(self, device: Any) -> Objective:
        for name in ("vgg", "arcface", "lpips"):
            module = getattr(self, name)
            if module is not None:
                setattr(self, name, module.to(device))
        return self

    def active(self, term: str) -> bool:
        return self.weights.get(term, 0.0) > 0 and term not in self.disabled

    def generator_terms(
        self, fake: torch.Tensor, real: torch.Tensor, fake_logits: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        """Unweighted terms (each logged on its own); ``total`` is their weighted sum."""
        terms: dict[str, torch.Tensor] = {}
        if self.active("l1"):
            terms["l1"] = F.l1_loss(fake, real)
        if self.active("smooth_l1"):
            terms["smooth_l1"] = F.smooth_l1_loss(fake, real)
        if self.active("perceptual") and self.vgg is not None:
            terms["perceptual"] = perceptual_loss(self.vgg, fake, real)
        if self.active("identity") and self.arcface is not None:
            terms["identity"] = identity_loss(self.arcface, fake, real)
        if self.active("lpips") and self.lpips is not None:
            terms["lpips"] = self.lpips(fake, real).mean()
        if self.active("color"):
            terms["color"] = chroma_loss(fake, real)
        if self.active("adversarial") and fake_logits is not None:
            terms["adversarial"] = generator_adversarial(fake_logits)
        total = sum(self.weights[k] * v.float() for k, v in terms.items())
        terms["total"] = total if isinstance(total, torch.Tensor) else fake.sum() * 0.0
        return terms


def perceptual_loss(vgg: nn.Module, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        target = vgg(real)
    return F.l1_loss(vgg(fake), target)


def identity_loss(arcface: nn.Module, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """1 - cosine similarity of the ArcFace embeddings, averaged over the batch."""
    with torch.no_grad():
        target = F.normalize(arcface(real).float(), dim=1)
    emb = F.normalize(arcface(fake).float(), dim=1)
    return (1.0 - (emb * target).sum(1)).mean()


#: RGB -> (Cb, Cr) rows of BT.601 (the luma-free part of a colour), for [-1, 1] images.
_CHROMA = ((-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))


def chroma_loss(fake: torch.Tensor, real: torch.Tensor, cells: int = 8) -> torch.Tensor:
    """L1 between the colours (BT.601 Cb and Cr, no luma) of ``fake`` and ``real`` averaged over
    a ``cells`` x ``cells`` grid: it sees colour casts and blotches, not detail, so it keeps
    the restored face in the input's colours without fighting the pixel and perceptual terms."""
    size = fake.shape[-1]
    k = max(1, size // cells)
    weights = torch.tensor(_CHROMA, dtype=torch.float32, device=fake.device).view(2, 3, 1, 1)

    def chroma(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.avg_pool2d(x.float(), k), weights)

    with torch.no_grad():
        target = chroma(real)
    return F.l1_loss(chroma(fake), target)


def generator_adversarial(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating logistic loss: softplus(-D(G(x)))."""
    return F.softplus(-fake_logits.float()).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(-real_logits.float()).mean() + F.softplus(fake_logits.float()).mean()


def r1_penalty(d: nn.Module, real: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of |dD(x)/dx|^2 on real images, computed in float32 (autocast off)."""
    device_type = real.device.type
    with torch.autocast(device_type, enabled=False):
        x = real.detach().float().requires_grad_(True)
        logits = d(x)
        (grad,) = torch.autograd.grad(logits.float().sum(), x, create_graph=True)
    # "+ 0 * logits": every parameter takes part in the backward pass (the last bias does not
    # affect the input gradient), which DistributedDataParallel needs to finish its reduction.
    return grad.pow(2).reshape(grad.shape[0], -1).sum(1).mean() + 0.0 * logits.float().sum()


def path_length_penalty(
    image: torch.Tensor,
    w: torch.Tensor,
    mean_length: torch.Tensor,
    decay: float = 0.01,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """StyleGAN2's path-length regulariser on the mapped latent ``w`` (which must be part of
    the graph that produced ``image``). Returns (penalty, updated running mean length). The
    noise comes from ``generator`` when given (on ``image``'s device)."""
    noise = torch.randn(
        image.shape, generator=generator, device=image.device, dtype=torch.float32
    ) / math.sqrt(image.shape[2] * image.shape[3])
    (grad,) = torch.autograd.grad((image.float() * noise).sum(), w, create_graph=True)
    lengths = grad.float().pow(2).sum(1).sqrt()
    new_mean = mean_length + decay * (lengths.mean().detach() - mean_length)
    return (lengths - new_mean).pow(2).mean(), new_mean


# --------------------------------------------------------------------------- building it


def build_objective(config: Any, random_backbones: bool = False) -> Objective:
    """The objective for a resolved :class:`~gpen_desktop.core.training.config.TrainConfig`.

    A term whose backbone is not found is disabled with one note (``config.strict_losses``
    makes that a :class:`LossSetupError`). ``random_backbones`` builds every backbone with
    random weights instead (tests only). The disabled terms are written back to
    ``config.disabled_losses``.
    """
    from gpen_desktop.core.training.config import LOSS_TERMS

    weights = {t: float(getattr(config, t) or 0.0) for t in LOSS_TERMS}
    obj = Objective(weights=weights)
    weights_dir = config.weights_dir
    if weights_dir is None:
        from gpen_desktop.core.faces.detect import resolve_weights_dir

        weights_dir = resolve_weights_dir()

    def missing(term: str, what: str) -> None:
        line = f"{term} loss disabled: no {what} found (give it with {BACKBONE_FLAG[term]} FILE or put it in {weights_dir})"
        if config.strict_losses:
            raise LossSetupError(
                line.replace("disabled", "needs a backbone") + " [--strict-losses]"
            )
        obj.disabled.append(term)
        obj.notes.append(line)

    backbones = (  # term, backbone (the Objective attribute and config field), network, file
        ("perceptual", "vgg", VGGFeatures, "VGG-19 file (torchvision's vgg19-dcbb9e9d.pth)"),
        ("identity", "arcface", ArcFace, "ArcFace IR-SE50 file (model_ir_se50.pth)"),
    )
    for term, kind, network, what in backbones:
        if weights[term] <= 0:
            continue
        if random_backbones:
            setattr(obj, kind, network())
            continue
        p = find_backbone(kind, getattr(config, kind), weights_dir)
        if p is None:
            missing(term, what)
        else:
            setattr(obj, kind, network(_read(p)))
    if weights["lpips"] > 0:
        import importlib.util

        if importlib.util.find_spec("lpips") is None:
            if config.strict_losses:
                raise LossSetupError("lpips loss needs the lpips package (pip install lpips)")
            obj.disabled.append("lpips")
            obj.notes.append("lpips loss disabled: the lpips package is not installed")
        elif random_backbones:
            obj.lpips = lpips_module(config.lpips_net, None)
        else:
            kind = f"lpips-{config.lpips_net}"
            p = find_backbone(kind, config.lpips_backbone, weights_dir)
            if p is None:
                name = "VGG-16 (vgg16-397923af.pth)" if config.lpips_net == "vgg" else "AlexNet"
                missing("lpips", f"{name} file for LPIPS")
            else:
                obj.lpips = lpips_module(config.lpips_net, _read(p))
    config.disabled_losses = sorted(set(obj.disabled))
    return obj
