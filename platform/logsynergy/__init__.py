"""LogSynergy: cross-system log anomaly detection by transfer from mature systems (core library)."""

__version__ = "0.1.0"
