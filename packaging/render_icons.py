"""Render resources/gpen-desktop.svg into the raster icons packagers need.

    python packaging/render_icons.py

writes resources/gpen-desktop.png (256 px), packaging/gpen-desktop.ico (Windows, 16–256 px)
and packaging/gpen-desktop.icns (macOS). Needs PySide6 (QtSvg) and Pillow; run it again
after editing the SVG.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "resources" / "gpen-desktop.svg"


def render(side: int) -> bytes:
    """PNG bytes of the SVG rendered at ``side``×``side`` pixels."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {SVG}")
    image = QImage(side, side, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, side, side))
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    (ROOT / "resources" / "gpen-desktop.png").write_bytes(render(256))
    big = Image.open(io.BytesIO(render(1024))).convert("RGBA")
    ico_sizes = [(s, s) for s in (16, 24, 32, 48, 64, 128, 256)]
    Image.open(io.BytesIO(render(256))).save(
        ROOT / "packaging" / "gpen-desktop.ico", sizes=ico_sizes
    )
    big.save(ROOT / "packaging" / "gpen-desktop.icns")
    print(
        "wrote resources/gpen-desktop.png, packaging/gpen-desktop.ico, packaging/gpen-desktop.icns"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
