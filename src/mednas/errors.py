"""Exceptions that carry a message meant for the person running the pipeline."""


class MednasError(Exception):
    """Base class: the message names the file or key at fault."""


class DataError(MednasError):
    """A data set on disk is missing, unreadable or inconsistent."""


class ConfigError(MednasError):
    """A configuration value is missing or unsupported."""


class ProvenanceError(MednasError):
    """A provenance record is missing or does not match the file it describes."""
