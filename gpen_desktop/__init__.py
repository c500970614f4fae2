"""GPEN Desktop: face restoration with GPEN models."""

__version__ = "0.1.0"
