"""Model, device, detector and restore options, plus export settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLocale, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gpen_desktop.core.options import option
from gpen_desktop.gui import settings as cfg
from gpen_desktop.gui.export_files import FORMATS, ExportSettings
from gpen_desktop.gui.icons import icon
from gpen_desktop.gui.panels.empty_state import ModelCard
from gpen_desktop.gui.panels.wheel import guard_wheel


def human_size(n: int | None) -> str:
    """A file size in the user's locale ("284 MB"); "" for none."""
    if not n:
        return ""
    return QLocale().formattedDataSize(int(n), 0, QLocale.DataSizeFormat.DataSizeSIFormat)


def model_text(fm: Any) -> str:
    """How a found model reads in the model list: name and size."""
    info = fm.info
    size = human_size(getattr(info, "file_size", 0) or _file_size(fm.path))
    name = info.name or Path(fm.path).stem
    if getattr(fm, "known", None) is None and name == Path(fm.path).stem:
        name = f"{name} (GPEN {info.in_size} px)"
    return f"{name}  ·  {size}" if size else name


def is_restorer(fm: Any) -> bool:
    """A found model that restores faces (GPEN-Inpainting fills damage strokes instead)."""
    kind = getattr(fm, "kind", "restorer" if fm.info is not None else "invalid")
    return kind == "restorer" and fm.info is not None and not is_inpainter(fm)


def is_inpainter(fm: Any) -> bool:
    """A found GPEN-Inpainting checkpoint (used for faces under damage strokes)."""
    return (
        getattr(fm, "kind", "restorer") == "restorer"
        and getattr(fm.info, "task", "") == "inpainting"
    )


#: Display names of known background upscaler families ("realesrnet_x2" reads "RealESRNet").
SR_NAMES = {
    "realesrnet": "RealESRNet",
    "realesr-general": "Real-ESRGAN",
    "realesr-general-wdn": "Real-ESRGAN WDN",
}
#: The background model that Denoise strength applies to, and its weak-denoise partner.
GENERAL_X4V3, GENERAL_WDN_X4V3 = "realesr-general-x4v3", "realesr-general-wdn-x4v3"
SPEED_TIPS = {
    "fast": "fast: a compact network ({mflops:.1f} MFLOP per input pixel)",
    "best": "best: a full network, slower, the most detail ({mflops:.1f} MFLOP per input pixel)",
}


def sr_name(fm: Any) -> str:
    """A super-resolution model's name without its scale: "RealESRNet" for GPEN's files,
    "Real-ESRGAN" for realesr-general-x4v3 ("Real-ESRGAN WDN" for its weak-denoise partner),
    else the file's name ("tiny_x2" reads "tiny")."""
    info = fm.info
    name = str(getattr(fm.known, "name", "") or getattr(info, "name", "") or Path(fm.path).stem)
    base = re.sub(rf"[_-]?x{int(info.scale)}(v\d+)?$", "", name, flags=re.IGNORECASE) or name
    return SR_NAMES.get(base.lower(), base)


def sr_speed(fm: Any) -> str:
    """The model's speed class, "fast" or "best", from its cost per input pixel as counted
    when the weights folder was scanned (core.superres.SRInfo.speed); "" when unknown."""
    return str(getattr(fm.info, "speed", "") or "")


def sr_text(fm: Any) -> str:
    """How a found super-resolution model reads in the Background list:
    "RealESRNet ×2 · best · 67 MB"."""
    info = fm.info
    size = human_size(getattr(info, "file_size", 0) or _file_size(fm.path))
    parts = [f"{sr_name(fm)} ×{info.scale}", sr_speed(fm), size]
    return " · ".join(p for p in parts if p)


def sr_tip(fm: Any) -> str:
    """The Background list's tooltip of a found super-resolution model."""
    speed = sr_speed(fm)
    lines = [fm.info.summary()]
    if speed:
        lines.append(SPEED_TIPS[speed].format(mflops=fm.info.mflops_per_px))
    return "\n".join([*lines, str(fm.path)])


def has_denoise_partner(fm: Any, found: list[Any]) -> bool:
    """Whether ``found`` (a weights scan) holds realesr-general-wdn-x4v3 beside ``fm``."""
    folder = Path(fm.path).parent
    return any(
        getattr(f, "kind", "") == "superres"
        and getattr(f.info, "name", "") == GENERAL_WDN_X4V3
        and Path(f.path).parent == folder
        for f in found
    )


def inpainter_name(fm: Any) -> str:
    return fm.known.name if getattr(fm, "known", None) is not None else Path(fm.path).stem


#: Words for core's choice keys (the lists themselves come from core through gui.settings).
LABELS = {
    "detector": {
        "auto": "Auto",
        "retinaface": "RetinaFace (needs its weights)",
        "dlib": "dlib HOG (fast, offline)",
        "dlib-cnn": "dlib CNN (slower, finds more)",
    },
    "mask": {"feather": "Soft square (fast)", "parsing": "Face parsing (needs ParseNet)"},
    "precision": {
        "auto": "Fast (auto)",
        "float32": "Exact (float32)",
        "bfloat16": "bfloat16",
        "float16": "float16 (GPUs)",
    },
    "inpaint_method": {"telea": "OpenCV Telea", "ns": "OpenCV Navier–Stokes"},
    "inpaint_mode": {"inpaint+restore": "Inpaint, then restore", "inpaint": "Inpaint only"},
}
RESAMPLE_ONLY = "Resample only"
SR_HELP = (
    "How the rest of the photo is enlarged: resampled (Lanczos), or through a "
    "super-resolution model from the weights folder (slower, sharper). Faces are restored "
    "either way."
)
INPAINTER_TIP = (
    "GPEN's inpainting model fills faces under damage strokes (Settings ▸ Old photos); "
    "it is not a restoration model.\n{path}"
)
CHOOSE_FILE = "__choose__"


class NarrowCombo(QComboBox):
    """A combo box whose width does not follow its longest entry (so the settings panel fits
    its dock); the open list is as wide as its entries need."""

    def __init__(self, chars: int = 10, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(chars)

    def showPopup(self) -> None:  # noqa: N802 - Qt's name
        view = self.view()
        margin = view.verticalScrollBar().sizeHint().width() + 2 * view.frameWidth() + 8
        view.setMinimumWidth(view.sizeHintForColumn(0) + margin)
        super().showPopup()


def _fill(combo: QComboBox, keys: tuple, labels: dict[Any, str]) -> None:
    for key in keys:
        combo.addItem(labels.get(key, str(key)), key)


class OptionsPanel(QWidget):
    """Model, device, detector and restore options, plus export settings.

    ``optionsChanged`` fires on any change; :meth:`options` returns core's frozen
    ``RestoreOptions``, :meth:`export_settings` an :class:`ExportSettings`.
    """

    optionsChanged = Signal()
    #: the weights scan's FoundModel list, each time :meth:`set_models` gets one
    modelsScanned = Signal(object)  # noqa: N815 - Qt signal naming
    themeChanged = Signal(str)  # "system", "light" or "dark"
    chooseCheckpointRequested = Signal()
    manageModelsRequested = Signal()
    useForAllRequested = Signal()
    makeDefaultRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self._custom: list[str] = []
        self._scanned = False
        self._sr_scales: dict[str, int] = {}  # background model path -> its scale
        #: realesr-general-x4v3 files found -> whether their weak-denoise partner is beside them
        self._sr_denoise: dict[str, bool] = {}
        self._last_sr = ""  # the background model the Output scale list was made for
        self._inpaint_model = ""  # GPEN-Inpainting file from the scan ("" = OpenCV)
        self._inpaint_name = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        # whose settings these are: each photo owns its options
        self.scope_label = QLabel()
        self.scope_label.setWordWrap(True)
        self.scope_label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.scope_label)
        scope_row = QHBoxLayout()
        self.use_for_all = QPushButton("Use for All Photos")
        self.use_for_all.setToolTip("Give every open photo these settings")
        self.use_for_all.clicked.connect(self.useForAllRequested)
        self.make_default = QPushButton("Make Default")
        self.make_default.setToolTip("Photos opened from now on start with these settings")
        self.make_default.clicked.connect(self.makeDefaultRequested)
        scope_row.addWidget(self.use_for_all)
        scope_row.addWidget(self.make_default)
        layout.addLayout(scope_row)
        self.set_scope_label(None)

        model_box = QGroupBox("Model")
        mform = QVBoxLayout(model_box)
        self.model = NarrowCombo(12)
        self.model.activated.connect(self._on_model_activated)
        self.model.currentIndexChanged.connect(self._changed)
        row = QHBoxLayout()
        row.addWidget(self.model, 1)
        manage = QToolButton()
        manage.setIcon(icon("models"))
        manage.setToolTip("Model manager…")
        manage.clicked.connect(self.manageModelsRequested)
        row.addWidget(manage)
        mform.addLayout(row)
        self.model_info = QLabel("Looking for models…")
        self.model_info.setWordWrap(True)
        self.model_info.setEnabled(False)
        mform.addWidget(self.model_info)
        self.model_card = ModelCard(compact=True)
        self.model_card.manageModelsRequested.connect(self.manageModelsRequested)
        self.model_card.chooseCheckpointRequested.connect(self.chooseCheckpointRequested)
        self.model_card.hide()
        mform.addWidget(self.model_card)
        layout.addWidget(model_box)

        run_box = QGroupBox("Restore")
        form = QFormLayout(run_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.device = NarrowCombo()
        self.device.addItem("Auto", "auto")
        self.device.currentIndexChanged.connect(self._changed)
        form.addRow(option("device").label, self.device)
        self.precision = NarrowCombo()
        _fill(self.precision, cfg.PRECISIONS, LABELS["precision"])
        self.precision.setToolTip(
            "Fast: bfloat16 on CPUs with AMX or AVX512-BF16 and float16 on NVIDIA GPUs, several "
            "times faster; faces differ from Exact by at most 2 of 255 levels.\n"
            "Exact: float32 everywhere, the reference GPEN output."
        )
        self.precision.currentIndexChanged.connect(self._changed)
        form.addRow(option("precision").label, self.precision)
        self.detector = NarrowCombo()
        _fill(self.detector, cfg.DETECTORS, LABELS["detector"])
        self.detector.currentIndexChanged.connect(self._changed)
        form.addRow(option("detector").label, self.detector)
        self.blend, self.blend_label, blend_row = self._percent_slider(100)
        self.blend.setToolTip(
            "How much of the restored face to use: 100 % restored, lower keeps more of the original"
        )
        form.addRow(option("blend").label, blend_row)
        self.mask = NarrowCombo()
        _fill(self.mask, cfg.MASK_TYPES, LABELS["mask"])
        self.mask.currentIndexChanged.connect(self._changed)
        form.addRow(option("mask").label, self.mask)
        self.color_match = QCheckBox("Match colours to the original")
        self.color_match.toggled.connect(self._changed)
        form.addRow(self.color_match)  # the whole row: the panel stays narrow
        self.match_grain = QCheckBox(option("match_grain").label)
        self.match_grain.toggled.connect(self._changed)
        form.addRow(self.match_grain)
        self.upscale = NarrowCombo()
        _fill(self.upscale, cfg.UPSCALES, {n: f"{n}×" for n in cfg.UPSCALES})
        self.upscale.setToolTip(
            'Scale the whole output photo (with a Background model, "Model\'s own" is its scale)'
        )
        self.upscale.currentIndexChanged.connect(self._changed)
        form.addRow(option("upscale").label, self.upscale)
        self.batch = QSpinBox()
        self.batch.setRange(1, 32)
        self.batch.setValue(4)
        self.batch.setToolTip("Faces per network batch (lower uses less memory)")
        self.batch.valueChanged.connect(self._changed)
        form.addRow(option("batch_size").label, self.batch)
        self._add_sharp_rows(form)
        layout.addWidget(run_box)

        old_box = QGroupBox("Old photos")
        oform = QFormLayout(old_box)
        oform.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.sr_model = NarrowCombo()
        self.sr_model.addItem(RESAMPLE_ONLY, "")
        self.sr_model.setToolTip(SR_HELP)
        self.sr_model.currentIndexChanged.connect(self._on_sr_changed)
        oform.addRow(option("sr_model").label, self.sr_model)
        self.denoise, self.denoise_label, denoise_row = self._percent_slider(
            round(100 * option("denoise_strength").default)
        )
        oform.addRow(option("denoise_strength").label, denoise_row)
        self.denoise_info = QLabel()
        self.denoise_info.setWordWrap(True)
        self.denoise_info.setEnabled(False)
        oform.addRow(self.denoise_info)
        self._sync_denoise()
        strokes = QLabel("Damage strokes")
        strokes.setToolTip("How scratches and spots painted with the damage brush are filled")
        oform.addRow(strokes)
        self.inpaint_method = NarrowCombo()
        _fill(self.inpaint_method, cfg.INPAINT_METHODS, LABELS["inpaint_method"])
        self.inpaint_method.setToolTip("OpenCV's filler for strokes outside the faces")
        self.inpaint_method.currentIndexChanged.connect(self._changed)
        oform.addRow(option("inpaint_method").label, self.inpaint_method)
        self.inpaint_mode = NarrowCombo()
        modes = sorted(cfg.INPAINT_MODES, key=lambda m: m != cfg.INPAINT_MODE.default)
        _fill(self.inpaint_mode, tuple(modes), LABELS["inpaint_mode"])  # the default first
        self.inpaint_mode.setToolTip(
            "Inpaint, then restore: the restoration model runs on the inpainted face.\n"
            "Inpaint only: the inpainted face is pasted as it is."
        )
        self.inpaint_mode.currentIndexChanged.connect(self._changed)
        oform.addRow(option("inpaint_mode").label, self.inpaint_mode)
        self.inpaint_info = QLabel()
        self.inpaint_info.setWordWrap(True)
        self.inpaint_info.setEnabled(False)
        oform.addRow(self.inpaint_info)
        self._update_inpaint_info()
        layout.addWidget(old_box)

        export_box = QGroupBox("Export")
        eform = QFormLayout(export_box)
        self.format = NarrowCombo()
        self.format.addItems(list(FORMATS))
        eform.addRow("Format", self.format)
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(95)
        self.quality.setSuffix(" %")
        self.quality.setToolTip("JPEG and WebP quality")
        eform.addRow("Quality", self.quality)
        self.keep_metadata = QCheckBox("Keep EXIF and colour profile")
        self.keep_metadata.setChecked(True)
        eform.addRow(self.keep_metadata)
        self.suffix = QLineEdit("_restored")
        self.suffix.setToolTip("Added to file names by Export All")
        eform.addRow("Suffix", self.suffix)
        self.format.currentTextChanged.connect(
            lambda f: self.quality.setEnabled(f in ("JPEG", "WebP"))
        )
        self.quality.setEnabled(False)
        layout.addWidget(export_box)
        look_box = QGroupBox("Appearance")
        lform = QFormLayout(look_box)
        self.theme = NarrowCombo()
        _fill(self.theme, cfg.THEMES, {"system": "System", "light": "Light", "dark": "Dark"})
        self.theme.currentIndexChanged.connect(
            lambda _i: self._loading or self.themeChanged.emit(self.theme.currentData())
        )
        lform.addRow("Theme", self.theme)
        layout.addWidget(look_box)
        layout.addStretch()
        # the option table's words: one place says what each option means
        for name, widget in self.fields().items():
            if not isinstance(widget, QLabel):  # (a label's tip says what was found)
                widget.setToolTip(option(name).tooltip)
        guard_wheel(self)

    def _percent_slider(self, value: int) -> tuple[QSlider, QLabel, QHBoxLayout]:
        """A 0-100 % slider with its value beside it (a row to add), wired to ``_changed``."""
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(0, 100)
        slider.setValue(value)
        label = QLabel(f"{value} %")
        label.setMinimumWidth(44)
        slider.valueChanged.connect(lambda v: label.setText(f"{v} %"))
        slider.valueChanged.connect(self._changed)
        row = QHBoxLayout()
        row.addWidget(slider, 1)
        row.addWidget(label)
        return slider, label, row

    def _add_sharp_rows(self, form: QFormLayout) -> None:
        """ "Leave sharp faces as they are" with its threshold, and "Fade near the threshold"
        (the option table's skip_sharp: 0 = off, else the threshold; sharp_fade)."""
        from gpen_desktop.core.faces.quality import SHARP

        row = QHBoxLayout()
        self.skip_sharp = QCheckBox(option("skip_sharp").label)
        self.sharp_threshold = QDoubleSpinBox()
        self.sharp_threshold.setRange(0.01, 1.0)
        self.sharp_threshold.setDecimals(2)
        self.sharp_threshold.setSingleStep(0.05)
        self.sharp_threshold.setValue(SHARP)
        self.sharp_threshold.setEnabled(False)
        self.sharp_threshold.setToolTip(
            "Faces whose quality score (0-1, in the face list) is above this are left as "
            f"they are; from {SHARP:.1f} up a face reads sharp already"
        )
        self.sharp_fade = QCheckBox(option("sharp_fade").label)
        self.sharp_fade.setEnabled(False)
        self.skip_sharp.toggled.connect(self.sharp_threshold.setEnabled)
        self.skip_sharp.toggled.connect(self.sharp_fade.setEnabled)
        for signal in (
            self.skip_sharp.toggled,
            self.sharp_threshold.valueChanged,
            self.sharp_fade.toggled,
        ):
            signal.connect(self._changed)
        row.addWidget(self.skip_sharp, 1)
        row.addWidget(self.sharp_threshold)
        form.addRow(row)  # the whole row: the panel stays narrow
        form.addRow(self.sharp_fade)

    def _skip_sharp_value(self) -> float:
        return self.sharp_threshold.value() if self.skip_sharp.isChecked() else 0.0

    def _show_skip_sharp(self, value: Any) -> None:
        value = float(value or 0.0)
        self.skip_sharp.setChecked(value > 0)
        if value > 0:
            self.sharp_threshold.setValue(min(1.0, value))

    def fields(self) -> dict[str, QWidget]:
        """Option name (from the option table) -> the control that shows it."""
        return {
            "model_path": self.model,
            "device": self.device,
            "precision": self.precision,
            "detector": self.detector,
            "blend": self.blend,
            "mask": self.mask,
            "color_match": self.color_match,
            "match_grain": self.match_grain,
            "upscale": self.upscale,
            "batch_size": self.batch,
            "sr_model": self.sr_model,
            "denoise_strength": self.denoise,
            "inpaint_model": self.inpaint_info,
            "inpaint_method": self.inpaint_method,
            "inpaint_mode": self.inpaint_mode,
            "skip_sharp": self.skip_sharp,
            "sharp_fade": self.sharp_fade,
        }

    def set_scope_label(self, photo: str | None) -> None:
        """Say whose settings the panel shows: ``photo``'s, or (None) the defaults."""
        if photo is None:
            self.scope_label.setText("Settings for new photos")
        else:
            self.scope_label.setText(f"Settings of “{photo}”")
        self.use_for_all.setVisible(photo is not None)
        self.make_default.setVisible(photo is not None)

    # ------------------------------------------------------------------ models and devices
    def set_models(self, found: list[Any], weights_dir: str) -> None:
        """Fill the model list from ``core.models.scan_weights`` results."""
        self._scanned = True
        previous = self.model_path()
        self._loading = True
        try:
            self.model.clear()
            usable = 0
            for fm in found:
                kind = getattr(fm, "kind", "restorer" if fm.info is not None else "invalid")
                if is_restorer(fm):
                    self.model.addItem(model_text(fm), str(fm.path))
                    self.model.setItemData(
                        self.model.count() - 1,
                        f"{fm.info.summary()}\n{fm.path}",
                        Qt.ItemDataRole.ToolTipRole,
                    )
                    usable += 1
                elif is_inpainter(fm):  # listed, not choosable: it fills damage strokes
                    self.model.addItem(f"{inpainter_name(fm)} (for damage strokes)", "")
                    idx = self.model.count() - 1
                    tip = INPAINTER_TIP.format(path=fm.path)
                    self.model.setItemData(idx, tip, Qt.ItemDataRole.ToolTipRole)
                    self.model.model().item(idx).setEnabled(False)
                elif kind == "invalid":
                    self.model.addItem(f"{Path(fm.path).name} (not usable)", "")
                    idx = self.model.count() - 1
                    self.model.setItemData(idx, fm.error or "", Qt.ItemDataRole.ToolTipRole)
                    self.model.model().item(idx).setEnabled(False)
            for path in self._custom:
                if self.model.findData(path) < 0 and Path(path).is_file():
                    self.model.addItem(f"{Path(path).name} (chosen file)", path)
                    usable += 1
            self.model.insertSeparator(self.model.count())
            self.model.addItem("Choose a checkpoint file…", CHOOSE_FILE)
            index = self.model.findData(previous) if previous else -1
            if index < 0:
                index = next((i for i in range(self.model.count()) if self._is_model_index(i)), -1)
            self.model.setCurrentIndex(max(index, 0) if index >= 0 else -1)
            self._set_old_photo_models(found)
        finally:
            self._loading = False
        self.model_card.set_weights_dir(weights_dir)
        self.model_card.setVisible(usable == 0)
        self.model.setVisible(True)
        self._update_model_info()
        self.modelsScanned.emit(list(found))
        self.optionsChanged.emit()

    def _set_old_photo_models(self, found: list[Any]) -> None:
        """The Background list (super-resolution models found) and the inpainting model; a
        background model no longer found falls back to "Resample only"."""
        previous = self.sr_path()
        self.sr_model.clear()
        self.sr_model.addItem(RESAMPLE_ONLY, "")
        self.sr_model.setItemData(0, "Lanczos resampling, no model", Qt.ItemDataRole.ToolTipRole)
        self._sr_scales = {}
        self._sr_denoise = {}
        for fm in found:
            if getattr(fm, "kind", "") != "superres" or fm.info is None:
                continue
            path = str(fm.path)
            self._sr_scales[path] = int(fm.info.scale)
            if getattr(fm.info, "name", "") == GENERAL_X4V3:
                self._sr_denoise[path] = has_denoise_partner(fm, found)
            self.sr_model.addItem(sr_text(fm), path)
            self.sr_model.setItemData(
                self.sr_model.count() - 1, sr_tip(fm), Qt.ItemDataRole.ToolTipRole
            )
        self.sr_model.setCurrentIndex(max(0, self.sr_model.findData(previous)) if previous else 0)
        self._sync_upscale()
        self._sync_denoise()
        inpainters = sorted(
            (fm for fm in found if is_inpainter(fm)), key=lambda fm: fm.known is None
        )
        best = inpainters[0] if inpainters else None
        self._inpaint_model = str(best.path) if best else ""
        self._inpaint_name = inpainter_name(best) if best else ""
        self._update_inpaint_info()

    def sr_path(self) -> str:
        """The background super-resolution model chosen ("" = resample only)."""
        return str(self.sr_model.currentData() or "")

    def inpaint_label(self) -> str:
        """Which inpainting faces under damage strokes get, in one line."""
        return self.inpaint_info.text()

    def _update_inpaint_info(self) -> None:
        if self._inpaint_model:
            self.inpaint_info.setText(f"Faces: {self._inpaint_name} (found in weights)")
            self.inpaint_info.setToolTip(self._inpaint_model)
        else:
            self.inpaint_info.setText(
                "Faces: OpenCV (no GPEN-Inpainting model in weights/ — Model manager)"
            )
            self.inpaint_info.setToolTip(
                "Get GPEN-Inpainting-1024 with the model manager to inpaint faces under "
                "damage strokes with GPEN"
            )

    def _sync_denoise(self) -> None:
        """Denoise strength is usable exactly while the chosen background model is
        realesr-general-x4v3 with its weak-denoise partner beside it; the line under it says
        what it needs otherwise."""
        path = self.sr_path()
        partner = self._sr_denoise.get(path)
        self.denoise.setEnabled(bool(partner))
        self.denoise_label.setEnabled(bool(partner))
        if partner is None:
            text = "For the Real-ESRGAN background model"
        elif partner:
            text = "100 % removes noise, 0 % keeps the grain"
        else:
            text = (
                f"Needs {GENERAL_WDN_X4V3}.pth beside {Path(path).name} (Model manager); "
                "the plain model runs"
            )
        self.denoise_info.setText(text)
        self.denoise_info.setVisible(path in self._sr_denoise)

    def denoise_usable(self) -> bool:
        """Whether Denoise strength applies to the chosen background model."""
        return self.denoise.isEnabled()

    def _on_sr_changed(self, _index: int) -> None:
        self._sync_denoise()
        if self._loading:
            return
        turned_on = bool(self.sr_path()) and not self._last_sr
        # switching a model on: its own scale, unless another output scale was chosen
        self._sync_upscale(choose_own=turned_on and self.upscale.currentData() == 1)
        self._changed()

    def _sync_upscale(self, choose_own: bool = False) -> None:
        """The Output scale list has "Model's own (×N)" (upscale 0) exactly while a
        background model is chosen, so the panel never shows an invalid scale. Leaving
        "Model's own" for "Resample only" goes back to 1× (no silent enlargement)."""
        own = self.upscale.findData(0)
        loading, self._loading = self._loading, True
        try:
            if self.sr_path():
                scale = self._sr_scales.get(self.sr_path(), 0)
                text = f"Model's own (×{scale})" if scale else "Model's own"
                if own < 0:
                    self.upscale.insertItem(0, text, 0)
                    own = 0
                self.upscale.setItemText(own, text)
                if choose_own:
                    self.upscale.setCurrentIndex(own)
            elif own >= 0:
                if self.upscale.currentIndex() == own:
                    self.upscale.setCurrentIndex(self.upscale.findData(1))
                self.upscale.removeItem(self.upscale.findData(0))
            self._last_sr = self.sr_path()
        finally:
            self._loading = loading

    def _upscale_value(self) -> int:
        data = self.upscale.currentData()
        value = int(data) if data is not None else 1
        return value if value or self.sr_path() else 1

    def _is_model_index(self, index: int) -> bool:
        data = self.model.itemData(index)
        return bool(data) and data != CHOOSE_FILE

    def add_custom_model(self, path: str, label: str | None = None) -> None:
        """Add (and select) a checkpoint chosen from disk."""
        if path not in self._custom:
            self._custom.append(path)
        index = self.model.findData(path)
        if index < 0:
            insert_at = max(0, self.model.count() - 2)
            self.model.insertItem(insert_at, label or f"{Path(path).name} (chosen file)", path)
            index = insert_at
        self.model.setCurrentIndex(index)
        self.model_card.hide()
        self._update_model_info()

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        current = self.device.currentData()
        self._loading = True
        try:
            self.device.clear()
            for key, label in devices:
                self.device.addItem(_plain_device(label), key)
            index = self.device.findData(current)
            self.device.setCurrentIndex(max(0, index))
        finally:
            self._loading = False

    def set_available(self, detectors: tuple[str, ...], parsing: bool, weights_dir: str) -> None:
        """Grey out detectors and masks whose weights are missing (with the reason)."""
        where = weights_dir or "the weights folder"
        for combo, usable, why in (
            (
                self.detector,
                {"auto", *detectors},
                f"needs RetinaFace-R50.pth (model manager) in {where}",
            ),
            (
                self.mask,
                {"feather", *(("parsing",) if parsing else ())},
                f"needs ParseNet-latest.pth (model manager) in {where}",
            ),
        ):
            for i in range(combo.count()):
                ok = combo.itemData(i) in usable
                combo.model().item(i).setEnabled(ok)
                combo.setItemData(i, None if ok else why, Qt.ItemDataRole.ToolTipRole)
            if combo.currentData() not in usable:
                combo.setCurrentIndex(0)

    def model_path(self) -> str:
        data = self.model.currentData()
        return str(data) if data and data != CHOOSE_FILE else ""

    def model_label(self) -> str:
        if not self.model_path():
            return "no model" if self._scanned else "looking for models…"
        return self.model.currentText().split("  ·  ")[0]

    def has_model(self) -> bool:
        return bool(self.model_path())

    def _on_model_activated(self, index: int) -> None:
        if self.model.itemData(index) == CHOOSE_FILE:
            fallback = next((i for i in range(self.model.count()) if self._is_model_index(i)), -1)
            self.model.setCurrentIndex(fallback)
            self.chooseCheckpointRequested.emit()

    def _update_model_info(self) -> None:
        if self.model_path():
            tip = self.model.itemData(self.model.currentIndex(), Qt.ItemDataRole.ToolTipRole)
            self.model_info.setText(str(tip).splitlines()[0] if tip else self.model_path())
            self.model_info.setVisible(True)
        else:
            self.model_info.setVisible(not self._scanned)

    def _changed(self, *_args) -> None:
        if self._loading:
            return
        self._update_model_info()
        self.optionsChanged.emit()

    # ------------------------------------------------------------------ values
    def values(self) -> dict[str, Any]:
        """The restore options shown, as RestoreOptions field -> value."""
        return {
            "model_path": self.model_path(),
            "device": self.device.currentData() or "auto",
            "precision": self.precision.currentData() or "auto",
            "detector": self.detector.currentData() or "auto",
            "blend": self.blend.value() / 100.0,
            "mask": self.mask.currentData() or "feather",
            "color_match": self.color_match.isChecked(),
            "match_grain": self.match_grain.isChecked(),
            "upscale": self._upscale_value(),
            "batch_size": self.batch.value(),
            "sr_model": self.sr_path(),
            "denoise_strength": self.denoise.value() / 100.0,
            "inpaint_model": self._inpaint_model,
            "inpaint_method": self.inpaint_method.currentData() or "telea",
            "inpaint_mode": self.inpaint_mode.currentData() or "inpaint+restore",
            "skip_sharp": self._skip_sharp_value(),
            "sharp_fade": self.sharp_fade.isChecked(),
        }

    def set_values(self, values: dict[str, Any]) -> None:
        """Show restore options (RestoreOptions field -> value), e.g. from a saved session.
        ``inpaint_model`` is not taken: the weights scan decides it; a background model not
        found in the scan shows as "Resample only"."""
        self._loading = True
        try:
            if values.get("model_path"):
                path = str(values["model_path"])
                if self.model.findData(path) < 0:
                    self.add_custom_model(path)
                self.model.setCurrentIndex(self.model.findData(path))
            _select(self.device, values.get("device"))
            _select(self.precision, values.get("precision"))
            _select(self.detector, values.get("detector"))
            if "blend" in values:
                self.blend.setValue(round(100 * float(values["blend"])))
            _select(self.mask, values.get("mask"))
            if "color_match" in values:
                self.color_match.setChecked(bool(values["color_match"]))
            if "match_grain" in values:
                self.match_grain.setChecked(bool(values["match_grain"]))
            if "sr_model" in values:
                self._show_sr(str(values["sr_model"] or ""))
            if "denoise_strength" in values:
                self.denoise.setValue(round(100 * float(values["denoise_strength"])))
            _select(self.upscale, values.get("upscale"))
            _select(self.inpaint_method, values.get("inpaint_method"))
            _select(self.inpaint_mode, values.get("inpaint_mode"))
            if "batch_size" in values:
                self.batch.setValue(int(values["batch_size"]))
            if "skip_sharp" in values:
                self._show_skip_sharp(values["skip_sharp"])
            if "sharp_fade" in values:
                self.sharp_fade.setChecked(bool(values["sharp_fade"]))
        finally:
            self._loading = False
        self._changed()

    def options(self, **overrides: Any) -> Any:
        """The shown options as ``core.pipeline.RestoreOptions`` (``overrides`` replace fields)."""
        return cfg.restore_options(self.values(), **overrides)

    def export_settings(self) -> ExportSettings:
        return ExportSettings(
            format=self.format.currentText(),
            quality=self.quality.value(),
            keep_metadata=self.keep_metadata.isChecked(),
            suffix=self.suffix.text(),
        )

    def save_settings(self, s) -> None:
        cfg.write_options(s, self.values())
        cfg.CUSTOM_MODELS.write(s, self._custom)
        e = self.export_settings()
        cfg.EXPORT_FORMAT.write(s, e.format)
        cfg.EXPORT_QUALITY.write(s, e.quality)
        cfg.EXPORT_METADATA.write(s, e.keep_metadata)
        cfg.EXPORT_SUFFIX.write(s, e.suffix)
        cfg.THEME.write(s, self.theme.currentData())

    def load_settings(self, s) -> None:
        v = cfg.read_options(s)
        self._loading = True
        try:
            self._custom = list(cfg.CUSTOM_MODELS.read(s))
            model = v["model_path"]
            if model:
                # selectable once the scan lists it; remember it meanwhile
                self.model.addItem(Path(model).name, model)
                self.model.setCurrentIndex(self.model.count() - 1)
            device = v["device"]
            if self.device.findData(device) < 0:
                self.device.addItem(device, device)
            self.device.setCurrentIndex(self.device.findData(device))
            _select(self.precision, v["precision"])
            _select(self.detector, v["detector"])
            self.blend.setValue(round(100 * min(1.0, max(0.0, v["blend"]))))
            _select(self.mask, v["mask"])
            self.color_match.setChecked(v["color_match"])
            self.match_grain.setChecked(v["match_grain"])
            self._show_sr(v["sr_model"])
            self.denoise.setValue(round(100 * min(1.0, max(0.0, v["denoise_strength"]))))
            _select(self.upscale, v["upscale"])
            _select(self.inpaint_method, v["inpaint_method"])
            _select(self.inpaint_mode, v["inpaint_mode"])
            self.batch.setValue(v["batch_size"])
            self._show_skip_sharp(min(1.0, max(0.0, v["skip_sharp"])))
            self.sharp_fade.setChecked(v["sharp_fade"])
            self.format.setCurrentText(cfg.EXPORT_FORMAT.read(s))
            self.quality.setValue(cfg.EXPORT_QUALITY.read(s))
            self.keep_metadata.setChecked(cfg.EXPORT_METADATA.read(s))
            self.suffix.setText(cfg.EXPORT_SUFFIX.read(s))
            _select(self.theme, cfg.THEME.read(s))
        finally:
            self._loading = False

    def _show_sr(self, path: str) -> None:
        """Select the background model ``path``: before the first scan it is listed by file
        name until the scan confirms it; after, one not found falls back to "Resample only"."""
        index = self.sr_model.findData(path) if path else 0
        if index < 0 and not self._scanned:
            self.sr_model.addItem(Path(path).name, path)
            index = self.sr_model.count() - 1
        self.sr_model.setCurrentIndex(max(0, index))
        self._sync_upscale()
        self._sync_denoise()


def _plain_device(label: str) -> str:
    """'Auto (CPU (2 threads))' reads 'Auto (CPU, 2 threads)'."""
    head, sep, inner = label.partition(" (")
    if sep and inner.endswith("))") and " (" in inner:
        name, _, rest = inner[:-1].partition(" (")
        return f"{head} ({name}, {rest}"
    return label


def _select(combo: QComboBox, data: Any) -> None:
    index = combo.findData(data)
    if index >= 0:
        combo.setCurrentIndex(index)


def _file_size(path: Any) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0
