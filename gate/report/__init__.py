"""The outcome as Markdown (laid out by the top-level templates/), JSON and JUnit.

Markdown: `render.build_report` builds the report model once (`model`: the headline and
story, an evaluation's `sections`, a failing rule's `rules`, their `tables`, in the `text`
and `ranking` the report writes and sorts by), and `render.render` renders it to a size
through the `templates` (the `view` is what they see); `render.render_report` does both.
`no_verdict` stands in for a report when there is no verdict, `shorten` cuts Markdown that
was not built to fit, `markdown` escapes untrusted text, `trend` draws an evaluation's trend.
JSON and JUnit: `formats`.
"""
