"""Typed errors: every user-facing failure is one of these, with a one-line message and fix."""


class HybridNetsError(Exception):
    """Base class; the CLI prints these as a single line instead of a traceback."""


class InputError(HybridNetsError):
    """An image, array or file given to the pipeline cannot be used."""


class CheckpointError(HybridNetsError):
    """A weights file is missing, unreadable, or does not match the network."""


class ConfigError(HybridNetsError):
    """A model, project or command-line setting is invalid."""


class DatasetError(HybridNetsError):
    """A dataset folder, label or mask is missing or malformed."""
