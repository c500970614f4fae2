"""Image-quality and identity metrics for restored faces.

All functions take HxWx3 uint8 RGB images of the same shape (``a`` the image under test,
``b`` the reference) unless stated otherwise.

- :func:`psnr` — peak signal-to-noise ratio in dB over all three RGB channels, peak 255;
  ``inf`` for identical images. Higher is better.
- :func:`ssim` — structural similarity of Wang et al. (2004): 11x11 Gaussian window with
  sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255, population (co)variances, averaged over the
  "valid" region (a 5-pixel border is left out, as in the authors' MATLAB code and
  ``skimage.metrics.structural_similarity(gaussian_weights=True, use_sample_covariance=False)``).
  ``channel="y"`` (default) measures the BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B
  (0-255, not rounded); ``channel="rgb"`` is the mean of the three per-channel values.
  1.0 for identical images. Higher is better.
- :func:`identity_distance` — Euclidean distance between dlib's 128-d face-recognition
  descriptors (``dlib_face_recognition_resnet_model_v1.dat`` with the 5-point shape predictor
  from ``face_recognition_models``). Lower is more alike; dlib's own "same person" threshold is
  0.6 (:data:`IDENTITY_THRESHOLD`). ``aligned=True`` treats the images as GPEN-aligned crops
  and uses a fixed face box (:data:`ALIGNED_FACE_BOX`); ``aligned=False`` detects the largest
  face with dlib's HOG detector. None when no face is found or dlib / its models are missing.
- :func:`lpips_distance` — LPIPS (Zhang et al. 2018) when the ``lpips`` package is importable
  AND its backbone's ImageNet weights are already in the torch hub cache; otherwise None
  (see :func:`lpips_status` for the reason). Never downloads. Lower is better.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import threading
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

ALIGNED_FACE_BOX: tuple[float, float, float, float] = (0.25, 0.35, 0.75, 0.85)
"""(x0, y0, x1, y1) as fractions of the crop side: where dlib's frontal detector puts the face
on a crop aligned to the GPEN 5-point template (measured on several sizes)."""

IDENTITY_THRESHOLD = 0.6
"""dlib's usual "same person" limit on the Euclidean distance of its 128-D face descriptors
(the value dlib's face-recognition example and ``face_recognition.compare_faces`` use):
below it two faces are taken to be the same person."""

IDENTITY_SIZE = 256
"""Aligned crops are resized to this side before the descriptor is computed, so the score does
not depend on the model's crop size more than the content does."""

LPIPS_SKIPPED = "LPIPS skipped: weights not available locally"

_SSIM_WINDOW = 11
_SSIM_SIGMA = 1.5
_LUMA = np.array([0.299, 0.587, 0.114])


# -- PSNR / SSIM -------------------------------------------------------------------------------


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected HxWx3 RGB images, got shape {a.shape}")
    return a.astype(np.float64), b.astype(np.float64)


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """PSNR in dB between two HxWx3 images over all channels; ``inf`` when identical."""
    fa, fb = _pair(a, b)
    mse = float(np.mean((fa - fb) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / mse)


def _ssim_plane(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(
            z, (_SSIM_WINDOW, _SSIM_WINDOW), _SSIM_SIGMA, borderType=cv2.BORDER_REFLECT
        )

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x * mu_x
    var_y = blur(y * y) - mu_y * mu_y
    cov = blur(x * y) - mu_x * mu_y
    num = (2.0 * mu_x * mu_y + c1) * (2.0 * cov + c2)
    den = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    pad = _SSIM_WINDOW // 2
    return float(np.mean((num / den)[pad:-pad, pad:-pad]))


def ssim(a: np.ndarray, b: np.ndarray, channel: str = "y", data_range: float = 255.0) -> float:
    """Gaussian-window SSIM (Wang et al.) of two HxWx3 RGB images, both sides >= 11 px.

    ``channel``: ``"y"`` (BT.601 luma, default) or ``"rgb"`` (mean of per-channel SSIM).
    """
    fa, fb = _pair(a, b)
    if min(fa.shape[:2]) < _SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {_SSIM_WINDOW}x{_SSIM_WINDOW} pixels")
    if channel == "y":
        return _ssim_plane(fa @ _LUMA, fb @ _LUMA, data_range)
    if channel == "rgb":
        values = [
            _ssim_plane(
                np.ascontiguousarray(fa[..., c]), np.ascontiguousarray(fb[..., c]), data_range
            )
            for c in range(3)
        ]
        return float(np.mean(values))
    raise ValueError(f"channel must be 'y' or 'rgb', not {channel!r}")


# -- identity (dlib) ---------------------------------------------------------------------------


class IdentityModel:
    """dlib's face-recognition ResNet with the 5-point shape predictor (and HOG detector).

    Loading takes about half a second; use :func:`identity_model` for a shared instance.
    Not thread-safe: one call at a time per instance.
    """

    def __init__(self) -> None:
        import dlib
        import face_recognition_models as frm

        self._dlib = dlib
        self._shape = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        self._net = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
        self._detector = None

    def _face_box(self, image: np.ndarray):
        if self._detector is None:
            self._detector = self._dlib.get_frontal_face_detector()
        rects = self._detector(image, 0)
        if not rects and max(image.shape[:2]) < 1200:  # small faces: look again at 2x
            rects = self._detector(image, 1)
        if not rects:
            return None
        return max(rects, key=lambda r: r.area())

    def descriptor(self, image: np.ndarray, aligned: bool = True) -> np.ndarray | None:
        """The 128-d float64 descriptor of the face in an HxWx3 uint8 RGB image, or None.

        ``aligned``: the image is a GPEN-aligned square crop (fixed face box); otherwise the
        largest detected face is used (None when none is found).
        """
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError("expected an HxWx3 uint8 RGB image")
        if aligned:
            h, w = image.shape[:2]
            if (h, w) != (IDENTITY_SIZE, IDENTITY_SIZE):
                interp = cv2.INTER_AREA if min(h, w) > IDENTITY_SIZE else cv2.INTER_CUBIC
                image = cv2.resize(image, (IDENTITY_SIZE, IDENTITY_SIZE), interpolation=interp)
            s = IDENTITY_SIZE
            x0, y0, x1, y1 = (round(f * s) for f in ALIGNED_FACE_BOX)
            box = self._dlib.rectangle(x0, y0, x1, y1)
        else:
            box = self._face_box(np.ascontiguousarray(image))
            if box is None:
                return None
        image = np.ascontiguousarray(image)
        shape = self._shape(image, box)
        return np.asarray(self._net.compute_face_descriptor(image, shape), dtype=np.float64)

    def distance(self, a: np.ndarray, b: np.ndarray, aligned: bool = True) -> float | None:
        """Euclidean descriptor distance (lower = more alike), None if a face is missing."""
        da = self.descriptor(a, aligned)
        db = self.descriptor(b, aligned)
        if da is None or db is None:
            return None
        return float(np.linalg.norm(da - db))


_identity_lock = threading.Lock()
_identity: IdentityModel | None = None
_identity_error: str | None = None


def identity_model() -> IdentityModel | None:
    """The shared :class:`IdentityModel`, or None (logged once) when dlib or its models are
    missing; :func:`identity_status` says why."""
    global _identity, _identity_error
    with _identity_lock:
        if _identity is None and _identity_error is None:
            try:
                _identity = IdentityModel()
            except (ImportError, RuntimeError, OSError) as exc:
                _identity_error = f"identity distance skipped: {exc}".splitlines()[0]
                log.warning("%s", _identity_error)
        return _identity


def identity_status() -> tuple[bool, str]:
    """(available, note): whether :func:`identity_distance` can compute."""
    model = identity_model()
    return (model is not None, "" if model is not None else str(_identity_error))


def identity_descriptor(image: np.ndarray, aligned: bool = True) -> np.ndarray | None:
    """The 128-d dlib descriptor of the face in ``image`` (see :meth:`IdentityModel.descriptor`);
    None when no face is found or dlib is unavailable."""
    model = identity_model()
    if model is None:
        return None
    with _identity_lock:
        return model.descriptor(image, aligned)


def descriptor_distance(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    """Euclidean distance of two descriptors; None when either is None."""
    if a is None or b is None:
        return None
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def identity_distance(a: np.ndarray, b: np.ndarray, aligned: bool = True) -> float | None:
    """dlib descriptor distance between the faces in two RGB images (see module doc)."""
    model = identity_model()
    if model is None:
        return None
    with _identity_lock:
        return model.distance(a, b, aligned)


# -- LPIPS -------------------------------------------------------------------------------------

_LPIPS_BACKBONES = {  # lpips net name -> torchvision weights enum, member
    "alex": ("AlexNet_Weights", "IMAGENET1K_V1"),
    "vgg": ("VGG16_Weights", "IMAGENET1K_V1"),
    "squeeze": ("SqueezeNet1_1_Weights", "IMAGENET1K_V1"),
}
_lpips_lock = threading.Lock()
_lpips_models: dict[tuple[str, str], object] = {}


def _backbone_file(net: str) -> Path | None:
    """Where torchvision would cache the backbone weights for ``net`` (None if unknown)."""
    import torch
    import torchvision.models as tvm

    enum_name, member = _LPIPS_BACKBONES[net]
    url = getattr(getattr(tvm, enum_name), member).url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def lpips_status(net: str = "alex") -> tuple[bool, str]:
    """(available, note): LPIPS runs only with the package AND cached backbone weights."""
    if net not in _LPIPS_BACKBONES:
        raise ValueError(f"LPIPS net must be one of {', '.join(_LPIPS_BACKBONES)}")
    if importlib.util.find_spec("lpips") is None:
        return False, f"{LPIPS_SKIPPED} (the lpips package is not installed)"
    try:
        path = _backbone_file(net)
    except (ImportError, AttributeError) as exc:
        return False, f"{LPIPS_SKIPPED} ({exc})"
    if path is None or not path.is_file():
        return False, f"{LPIPS_SKIPPED} (no {path.name if path else net} in the torch hub cache)"
    spec = importlib.util.find_spec("lpips")
    linear = Path(spec.origin).parent / "weights" / "v0.1" / f"{net}.pth" if spec.origin else None
    if linear is None or not linear.is_file():
        return False, f"{LPIPS_SKIPPED} (the lpips package has no {net}.pth)"
    return True, ""


def lpips_distance(
    a: np.ndarray, b: np.ndarray, net: str = "alex", device: str = "cpu"
) -> float | None:
    """LPIPS between two HxWx3 uint8 RGB images, or None when :func:`lpips_status` says no."""
    ok, _note = lpips_status(net)
    if not ok:
        return None
    import torch

    fa, fb = _pair(a, b)
    with _lpips_lock:
        key = (net, str(device))
        model = _lpips_models.get(key)
        if model is None:
            import lpips

            model = lpips.LPIPS(net=net, verbose=False).eval().to(device)
            _lpips_models[key] = model

        def tensor(x: np.ndarray) -> torch.Tensor:
            t = torch.from_numpy(x.transpose(2, 0, 1).copy()).float().unsqueeze(0)
            return (t / 127.5 - 1.0).to(device)

        with torch.inference_mode():
            return float(model(tensor(fa), tensor(fb)).flatten()[0])


# -- all at once -------------------------------------------------------------------------------


def compare(
    image: np.ndarray,
    reference: np.ndarray,
    *,
    identity: bool | np.ndarray | None = True,
    lpips: bool = True,
    aligned: bool = True,
    ssim_channel: str = "y",
) -> dict[str, float | None]:
    """``{"psnr", "ssim", "identity", "lpips"}`` of ``image`` against ``reference``.

    ``identity``: True computes both descriptors; a descriptor array is taken as the
    reference's (saves recomputing it for several images); False/None skips it. Metrics that
    are switched off or unavailable are None.
    """
    if identity is True:
        id_dist = identity_distance(image, reference, aligned)
    elif identity is False or identity is None:
        id_dist = None
    else:  # the reference's descriptor, computed once by the caller
        id_dist = descriptor_distance(identity_descriptor(image, aligned), identity)
    return {
        "psnr": psnr(image, reference),
        "ssim": ssim(image, reference, channel=ssim_channel),
        "identity": id_dist,
        "lpips": lpips_distance(image, reference) if lpips else None,
    }
