"""Twin's benchmarks: latency, tools, memory and identity. Each prints a table and writes JSON.

Run from a checkout: `python -m bench latency --turns 20` (the same as `twin bench latency`).
"""
