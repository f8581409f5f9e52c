"""The `twin` command line: one module per command group."""

from pipeline.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
