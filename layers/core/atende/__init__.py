"""Atende: the shared package behind every Lambda function (shipped as the core layer)."""

__version__ = "0.1.0"
