"""What the faces share to run and configure themselves locally: `sources` (the local run:
saved results first, Roboflow connected only when needed), `files` (size-capped reads,
reports written without following links) and `options` (settings declared once).

Nothing is re-exported here, so that importing `gate.local.options` (pure, used by the store
and the service) never loads the engine or an HTTP client.
"""
