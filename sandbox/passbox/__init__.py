"""passbox: a local, contract-tested sandbox of the SEEK Pass and VerifyPass APIs."""

__version__ = "0.1.0"
