"""Core of GPEN Desktop: network, checkpoints, faces, images and the restoration pipeline.

Nothing under this package imports Qt; the GUI and the CLI both sit on top of it.
"""
