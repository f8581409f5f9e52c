"""Twin's own tool families, one module each; pipeline.tools.family reads every module here."""
