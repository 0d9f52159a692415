"""The pure core: values in, values out. No I/O, no environment, no aiohttp, no jinja2.

The config as values and the one vocabulary (`model`), the metric catalogue (`metrics`);
reading an evaluation's documents (`results`, `panels`, `lookup`: a value, or why there is
none), judging rules against them (`evaluate`, with `bootstrap` intervals) into an outcome
(`outcome`) and the decision it makes under fail-on (`decision`); the trend's values (`trend`),
the gate id (`gate_id`), the error tree and exit codes (`errors`), and the text helpers every
layer shares: strict JSON (`strict_json`), secret redaction (`redact`), one-line text (`text`).
"""
