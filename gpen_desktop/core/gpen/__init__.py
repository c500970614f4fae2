"""The GPEN network (pure PyTorch), its configuration and helpers for random-weight models."""

from gpen_desktop.core.gpen.config import (
    ConfigError,
    GPENConfig,
    channel_table,
    config_from_state_dict,
    discriminator_config_from_state_dict,
)
from gpen_desktop.core.gpen.network import Discriminator, FullGenerator, Generator
from gpen_desktop.core.gpen.random import random_checkpoint, random_generator

__all__ = [
    "ConfigError",
    "Discriminator",
    "FullGenerator",
    "GPENConfig",
    "Generator",
    "channel_table",
    "config_from_state_dict",
    "discriminator_config_from_state_dict",
    "random_checkpoint",
    "random_generator",
]
