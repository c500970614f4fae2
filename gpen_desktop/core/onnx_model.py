"""GPEN as ONNX files: run them through onnxruntime, and export our checkpoints to ONNX.

ONNX GPEN files in the wild (FaceFusion's ``gpen_bfr_256/512/1024/2048.onnx``) and the ones
:func:`export_onnx` writes take one NCHW RGB float input in [-1, 1] and give one output of the
same layout (DESIGN §7). Nothing is assumed about a file: the input and output names, the face
size and whether the batch dimension is dynamic are read from the onnxruntime session. A
dynamic batch runs whole batches; a fixed batch of B runs B faces per call (the last call
padded), so a file exported with batch 1 still serves any number of faces.

Execution providers: the CPU always; CUDA for a CUDA device, CoreML for Apple's MPS device,
DirectML in place of the CPU, each when the installed onnxruntime package offers it.

``onnx`` and ``onnxruntime`` are an optional extra (``pip install 'gpen-desktop[onnx]'``);
without them an ONNX file gets a one-line :class:`CheckpointError` saying so. Nothing here
imports them (or torch) at module level.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import MethodType
from typing import Any

import numpy as np

from gpen_desktop.core.errors import CheckpointError

log = logging.getLogger(__name__)

ONNX_SUFFIX = ".onnx"
INSTALL_HINT = "pip install 'gpen-desktop[onnx]'"
#: Largest 8-bit difference from PyTorch an exported file may show before it is refused.
EXPORT_TOLERANCE_U8 = 2

_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def is_onnx_path(path: str | Path) -> bool:
    """True for a path that names an ONNX file (by its ``.onnx`` suffix)."""
    return Path(path).suffix.lower() == ONNX_SUFFIX


def import_onnxruntime() -> Any:
    """The onnxruntime module, or CheckpointError telling what to install."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise CheckpointError(f"ONNX models need onnxruntime: {INSTALL_HINT}") from exc
    return onnxruntime


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


# --------------------------------------------------------------------------- reading a file


@dataclass(frozen=True)
class OnnxSignature:
    """What a GPEN ONNX file takes and gives, as its session reports it.

    ``batch`` is the fixed batch size, or None when the batch dimension is dynamic; ``dtype``
    is the input's element type (float32 or float16).
    """

    input_name: str
    output_name: str
    in_size: int
    out_size: int
    batch: int | None
    dtype: Any

    @property
    def dtype_name(self) -> str:
        return np.dtype(self.dtype).name


def _dim(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def read_signature(session: Any, name: str) -> OnnxSignature:
    """The :class:`OnnxSignature` of an onnxruntime session; CheckpointError naming what
    does not look like a GPEN face model (one N x 3 x S x S float input, such an output)."""
    inputs, outputs = session.get_inputs(), session.get_outputs()

    def shape_text(arg: Any) -> str:
        dims = ["?" if d is None else str(d) for d in arg.shape]
        return f"{arg.name} [{' x '.join(dims)}] {arg.type}"

    if len(inputs) != 1 or not outputs:
        got = ", ".join(shape_text(a) for a in inputs) or "none"
        raise CheckpointError(
            f"{name} is not a GPEN face model: it should take one N x 3 x S x S image, "
            f"it takes {len(inputs)} input(s): {got}"
        )
    inp, out = inputs[0], outputs[0]
    shape = list(inp.shape)
    if len(shape) != 4 or _dim(shape[1]) != 3 or inp.type not in _NUMPY_TYPES:
        raise CheckpointError(
            f"{name} is not a GPEN face model: its input is {shape_text(inp)}, "
            "expected N x 3 x S x S floats"
        )
    size_h, size_w = _dim(shape[2]), _dim(shape[3])
    if size_h is None or size_h != size_w:
        raise CheckpointError(
            f"{name}: the input must be a fixed square face size, it is {shape_text(inp)}"
        )
    oshape = list(out.shape)
    if len(oshape) != 4 or (isinstance(oshape[1], int) and oshape[1] != 3):
        raise CheckpointError(
            f"{name} is not a GPEN face model: its output is {shape_text(out)}, "
            "expected N x 3 x S x S"
        )
    out_size = _dim(oshape[2]) or size_h
    return OnnxSignature(
        input_name=inp.name,
        output_name=out.name,
        in_size=size_h,
        out_size=out_size,
        batch=_dim(shape[0]),
        dtype=_NUMPY_TYPES[inp.type],
    )


def _open_session(path: Path, providers: list[str], optimize: bool = True) -> Any:
    ort = import_onnxruntime()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # errors only; onnxruntime's own warnings go nowhere useful
    if not optimize:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if not path.is_file():
        raise CheckpointError(f"model file not found: {path}")
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as exc:  # onnxruntime raises its own types (InvalidProtobuf, Fail, ...)
        raise CheckpointError(
            f"{path.name} is not a readable ONNX model: {_first_line(exc)}"
        ) from exc


def _count_parameters(path: Path) -> int:
    """Number of weights in the file's initializers (0 when the onnx package is absent)."""
    try:
        import onnx
    except ImportError:
        return 0
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - a count is only informative
        return 0
    return int(sum(int(np.prod(t.dims)) for t in model.graph.initializer))


def _task(path: Path) -> str:
    name = path.stem.lower()
    if "coloriz" in name:
        return "colorization"
    if "inpaint" in name:
        return "inpainting"
    return "bfr"


def inspect_onnx(path: str | Path) -> Any:
    """A :class:`~gpen_desktop.core.checkpoints.CheckpointInfo` for a GPEN ONNX file
    (``format`` "onnx", ``arch`` "GPEN", sizes from the input/output shapes; the network's
    width is not recorded in ONNX, so ``channel_multiplier``/``narrow`` read 0)."""
    return load_onnx(path).info


# --------------------------------------------------------------------------- providers


def providers_for(device_type: str, available: list[str]) -> list[str]:
    """onnxruntime execution providers for a torch device type (``cpu``, ``cuda``, ``mps``),
    best first, from those ``available``; always ends with the CPU."""
    wanted = {
        "cuda": ["CUDAExecutionProvider"],
        "mps": ["CoreMLExecutionProvider"],
        "cpu": ["DmlExecutionProvider"],
    }.get(device_type, [])
    chosen = [p for p in wanted if p in available]
    return [*chosen, "CPUExecutionProvider"]


# --------------------------------------------------------------------------- running


class OnnxRunner:
    """Runs a GPEN ONNX session on uint8 batches (the Enhancer's runner interface:
    ``device``, ``dtype_name``, ``run_uint8``)."""

    def __init__(self, session: Any, signature: OnnxSignature, device: Any) -> None:
        self.session = session
        self.signature = signature
        self.device = device
        self.dtype_name = signature.dtype_name
        self.providers = list(session.get_providers())
        self.calls = 0  # session.run calls so far (fixed-batch files loop)

    def run_uint8(self, batch_u8: np.ndarray) -> np.ndarray:
        """N x S x S x 3 uint8 RGB -> N x S x S x 3 uint8 RGB (S = the model's input size)."""
        sig = self.signature
        x = np.ascontiguousarray(batch_u8, dtype=np.float32).transpose(0, 3, 1, 2)
        x = (x / 255.0 * 2.0 - 1.0).astype(sig.dtype)
        n = x.shape[0]
        step = sig.batch or n
        outs = []
        for start in range(0, n, step):
            chunk = x[start : start + step]
            real = chunk.shape[0]
            if sig.batch is not None and real < sig.batch:
                pad = np.zeros((sig.batch - real, *chunk.shape[1:]), chunk.dtype)
                chunk = np.concatenate([chunk, pad])
            y = self.session.run([sig.output_name], {sig.input_name: chunk})[0]
            self.calls += 1
            outs.append(np.asarray(y[:real], dtype=np.float32))
        y = np.concatenate(outs)
        u8 = np.round(np.clip((y + 1.0) / 2.0, 0.0, 1.0) * 255.0).astype(np.uint8)
        u8 = np.ascontiguousarray(u8.transpose(0, 2, 3, 1))
        if sig.out_size != sig.in_size:
            import cv2

            u8 = np.stack(
                [
                    cv2.resize(f, (sig.in_size, sig.in_size), interpolation=cv2.INTER_AREA)
                    for f in u8
                ]
            )
        return u8


@dataclass
class LoadedOnnx:
    """An opened GPEN ONNX file: ``info`` (CheckpointInfo) like a loaded checkpoint, and
    :meth:`make_runner` for :class:`~gpen_desktop.core.inference.Enhancer`. ``model`` is None:
    there is no PyTorch module."""

    path: Path
    info: Any
    signature: OnnxSignature
    model: Any = None
    _sessions: dict[tuple[str, ...], Any] = field(default_factory=dict, repr=False)

    def session(self, providers: list[str]) -> Any:
        key = tuple(providers)
        if key not in self._sessions:
            self._sessions[key] = _open_session(self.path, providers)
        return self._sessions[key]

    def make_runner(self, device: Any, dtype: str = "auto") -> OnnxRunner:
        """A runner on the providers matching torch ``device``; ``dtype`` is the file's own
        (a precision setting does not apply to ONNX files)."""
        import torch

        ort = import_onnxruntime()
        device = torch.device(device)
        providers = providers_for(device.type, ort.get_available_providers())
        runner = OnnxRunner(self.session(providers), self.signature, device)
        log.info("ONNX %s on %s", self.path.name, ", ".join(runner.providers))
        return runner


def load_onnx(path: str | Path) -> LoadedOnnx:
    """Open a GPEN ONNX file (CPU session) and read its signature; CheckpointError with a
    one-line message for a missing package, an unreadable file or a non-GPEN graph."""
    from gpen_desktop.core.checkpoints import CheckpointInfo

    t0 = time.perf_counter()
    path = Path(path)
    cpu = ["CPUExecutionProvider"]
    session = _open_session(path, cpu)
    sig = read_signature(session, path.name)
    info = CheckpointInfo(
        arch="GPEN",
        name=path.stem,
        in_size=sig.in_size,
        out_size=sig.out_size,
        channel_multiplier=0,
        narrow=0.0,
        style_dim=None,
        n_mlp=None,
        n_params=_count_parameters(path),
        dtype=sig.dtype_name,
        format="onnx",
        path=str(path),
        file_size=path.stat().st_size,
        task=_task(path),
        hints={
            "input": sig.input_name,
            "output": sig.output_name,
            "batch": sig.batch if sig.batch is not None else "dynamic",
        },
        load_seconds=time.perf_counter() - t0,
    )
    loaded = LoadedOnnx(path, info, sig)
    loaded._sessions[tuple(cpu)] = session
    return loaded


# --------------------------------------------------------------------------- export


def _shared_weight_forward(self: Any, x: Any, style: Any) -> Any:
    """ModulatedConv2d.forward with the style applied to the activations instead of the
    weights (same function: conv(x * s, W) * demod), so the graph has one weight for the
    whole batch and no batch-sized ``groups`` — ONNX needs a static group count."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    batch, in_ch = x.shape[0], x.shape[1]
    s = self.modulation(style)
    weight = self.scale * self.weight[0]
    x = x * s.view(batch, in_ch, 1, 1)
    if self.upsample:
        out = F.conv_transpose2d(x, weight.transpose(0, 1), padding=0, stride=2)
    else:
        out = F.conv2d(x, weight, padding=self.padding)
    if self.demodulate:
        demod = torch.rsqrt(s.pow(2) @ weight.pow(2).sum([2, 3]).t() + 1e-8)
        out = out * demod.view(batch, self.out_channels, 1, 1)
    return self.blur(out) if self.upsample else out


@contextlib.contextmanager
def _export_friendly(model: Any):
    from gpen_desktop.core.gpen.layers import ModulatedConv2d

    patched = [m for m in model.modules() if isinstance(m, ModulatedConv2d)]
    for m in patched:
        m.forward = MethodType(_shared_weight_forward, m)
    try:
        yield model
    finally:
        for m in patched:
            del m.forward


def _sample_faces(size: int, count: int, seed: int = 0) -> np.ndarray:
    """Deterministic smooth test images (count x size x size x 3 uint8)."""
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (count, 8, 8, 3)).astype(np.uint8)
    return np.stack([cv2.resize(s, (size, size), interpolation=cv2.INTER_CUBIC) for s in small])


@dataclass
class ExportReport:
    """What :func:`export_onnx` wrote and how closely the file reproduces PyTorch."""

    path: str
    checkpoint: str
    in_size: int
    dynamic_batch: bool
    max_diff_u8: int
    verified_batch: int
    bytes: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def export_onnx(
    checkpoint: str | Path,
    out: str | Path,
    dynamic_batch: bool = False,
    overwrite: bool = False,
    opset: int | None = None,
) -> ExportReport:
    """Export a GPEN checkpoint to an ONNX file with torch's exporter.

    The file (input ``input``, output ``output``, NCHW RGB in [-1, 1], batch 1 or dynamic) is
    written to a temp name beside ``out``, run once through onnxruntime on deterministic test
    faces and compared with the PyTorch model's 8-bit output; only if no pixel differs by more
    than :data:`EXPORT_TOLERANCE_U8` levels is it renamed to ``out`` (atomically; an existing
    file only with ``overwrite``). CheckpointError with a one-line message otherwise.
    """
    import torch

    from gpen_desktop.core.checkpoints import load_checkpoint
    from gpen_desktop.core.fileio import atomic_write
    from gpen_desktop.core.inference import to_tensor, to_uint8

    t0 = time.perf_counter()
    out = Path(out)
    if not is_onnx_path(out):
        raise CheckpointError(f"the output must be an .onnx file, got {out.name}")
    import_onnxruntime()
    for module in ("onnx", "onnxscript"):
        try:
            __import__(module)
        except ImportError as exc:
            raise CheckpointError(f"exporting to ONNX needs {module}: {INSTALL_HINT}") from exc
    if is_onnx_path(checkpoint):
        raise CheckpointError(f"{Path(checkpoint).name} is already an ONNX file")
    loaded = load_checkpoint(checkpoint, device="cpu")
    model, size = loaded.model, loaded.info.in_size
    batch = 2 if dynamic_batch else 1  # a dynamic dimension must not be traced at size 1
    faces = _sample_faces(size, batch)
    x = to_tensor(faces)
    with torch.no_grad():
        want = to_uint8(model(x))
    kwargs: dict[str, Any] = {}
    if dynamic_batch:
        kwargs["dynamic_shapes"] = ({0: torch.export.Dim("batch", min=1, max=4096)},)
    if opset is not None:
        kwargs["opset_version"] = opset
    with atomic_write(out, overwrite=overwrite, parents=True, error=CheckpointError) as tmp:
        chatter = io.StringIO()
        try:
            with (
                _export_friendly(model),
                torch.no_grad(),
                contextlib.redirect_stdout(chatter),
                contextlib.redirect_stderr(chatter),
            ):
                torch.onnx.export(
                    model,
                    (x,),
                    str(tmp),
                    input_names=["input"],
                    output_names=["output"],
                    dynamo=True,
                    external_data=False,
                    **kwargs,
                )
        except Exception as exc:  # torch's exporter raises many types
            log.debug("exporter output:\n%s", chatter.getvalue())
            raise CheckpointError(f"ONNX export failed: {_first_line(exc)}") from exc
        log.debug("exporter output:\n%s", chatter.getvalue())
        session = _open_session(Path(tmp), ["CPUExecutionProvider"])
        sig = read_signature(session, out.name)
        if sig.in_size != size or (sig.batch is None) != dynamic_batch:
            raise CheckpointError(
                f"the exported file has an unexpected signature (size {sig.in_size}, "
                f"batch {sig.batch or 'dynamic'}); not written"
            )
        got = OnnxRunner(session, sig, torch.device("cpu")).run_uint8(faces)
        diff = int(np.abs(got.astype(np.int16) - want.astype(np.int16)).max())
        if diff > EXPORT_TOLERANCE_U8:
            raise CheckpointError(
                f"the exported file's output differs from PyTorch by up to {diff} levels "
                f"(tolerance {EXPORT_TOLERANCE_U8}); not written"
            )
        del session
    report = ExportReport(
        path=str(out),
        checkpoint=str(checkpoint),
        in_size=size,
        dynamic_batch=dynamic_batch,
        max_diff_u8=diff,
        verified_batch=batch,
        bytes=out.stat().st_size,
        seconds=round(time.perf_counter() - t0, 2),
    )
    log.info("exported %s (max 8-bit difference %d)", out, diff)
    return report


__all__ = [
    "EXPORT_TOLERANCE_U8",
    "INSTALL_HINT",
    "ExportReport",
    "LoadedOnnx",
    "OnnxRunner",
    "OnnxSignature",
    "export_onnx",
    "import_onnxruntime",
    "inspect_onnx",
    "is_onnx_path",
    "load_onnx",
    "providers_for",
    "read_signature",
]
