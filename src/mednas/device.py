"""Resolve the configured compute device (``device: auto | cpu | cuda | cuda:N``)."""

from __future__ import annotations

from mednas.errors import ConfigError


def resolve_device(setting: str) -> str:
    """Return a concrete torch device string for a config value.

    ``auto`` picks CUDA when available and the CPU otherwise. An explicit ``cuda``
    request on a machine without CUDA is an error, never a silent fall back to CPU.
    """
    import torch

    setting = str(setting).strip().lower()
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "cpu":
        return "cpu"
    if setting == "cuda" or setting.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device: '{setting}' was requested but CUDA is not available on this machine")
        if ":" in setting:
            index = int(setting.split(":", 1)[1])
            if index >= torch.cuda.device_count():
                raise ConfigError(f"device: '{setting}' but only {torch.cuda.device_count()} CUDA device(s) exist")
        return setting
    raise ConfigError(f"device: unsupported value '{setting}' (use auto, cpu, cuda or cuda:N)")


def describe_device(device: str) -> dict[str, str]:
    """A short description of ``device`` for provenance records."""
    import platform

    import torch

    info = {"device": device, "torch": torch.__version__, "machine": platform.machine()}
    if device.startswith("cuda"):
        info["name"] = torch.cuda.get_device_name(torch.device(device))
        info["cuda"] = str(torch.version.cuda)
    else:
        info["name"] = platform.processor() or platform.machine()
        info["threads"] = str(torch.get_num_threads())
    return info
