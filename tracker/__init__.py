"""tracker: watch machine-learning leaderboards and report new SOTA and leader changes."""

__version__ = "0.1.0"

__all__ = ["__version__"]
