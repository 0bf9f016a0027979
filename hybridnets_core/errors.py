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


class OutputError(HybridNetsError):
    """An output file or folder cannot be written (unwritable, a folder in the way, disk full)."""


def describe_failure(exc: BaseException) -> str:
    """One line for any failure: our errors' own message; for anything else its type too, so
    a cause that is not ours (a missing message package's typesupport, a library bug) is
    named."""
    if isinstance(exc, HybridNetsError):
        return str(exc)
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def describe_os_error(exc: OSError) -> str:
    """One line for an OSError the code did not expect: the reason, the path(s) and a hint."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    where = f" ({' -> '.join(paths)})" if paths else ""
    return " ".join(f"{reason}{where}; check the path, its permissions and free space".split())


def missing_torch(what: str, exc: ImportError) -> ConfigError:
    """The error for a feature that runs the network in torch when torch is not installed."""
    return ConfigError(
        f"{what} needs {exc.name or exc}; pip install torch efficientnet-pytorch, or run an "
        "exported .onnx with backend 'onnxruntime'"
    )


def missing_extra(what: str, exc: ImportError) -> ConfigError:
    """The error for a feature whose optional packages are not installed, with the pip line."""
    return ConfigError(
        f"{what} needs onnx and onnxruntime ({exc}); pip install 'hybridnets_ros[onnx]' (CPU) "
        "or 'hybridnets_ros[gpu]' (CUDA/TensorRT)"
    )
