"""The PySide6 desktop application over :mod:`gpen_desktop.core`.

Importing this package (or any GUI module) never imports torch, OpenCV or the face detectors:
they load on the worker thread the first time they are needed, so the window appears fast.
"""
