"""Acting safely: routing a request to tools, the planner, grounding arguments in the user's words,
the permission gate, the runner and the tamper-evident audit log."""
