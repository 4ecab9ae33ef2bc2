"""Domain errors of the core library. Callers (CLI, API) map them to user-facing messages once."""


class LogSynergyError(Exception):
    """Base of every error the product raises on purpose; its message is shown to the user as is."""


class InputError(LogSynergyError):
    """Bad user input: a missing file, unknown format, unusable or empty log, labels that match nothing."""


class ConfigError(LogSynergyError):
    """An invalid configuration file or setting."""


class InterpreterError(LogSynergyError):
    """The LLM interpreter failed after its retries."""


class ArtifactError(LogSynergyError):
    """A detector artifact is missing, incomplete or of an incompatible version."""


class StoreError(LogSynergyError):
    """The object store failed or refused an operation."""


class ObjectNotFound(StoreError):
    """No object under the requested key."""


class ObjectTooLarge(InputError):
    """An upload went over its size limit; nothing was stored."""
