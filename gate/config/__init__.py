"""The config: YAML text or a mapping to `gate.core.model.GateConfig`, every problem located.

`loader` is the entry (`load_config`, `config_from_data`); it walks the `nodes` (YAML's:
`yaml_nodes`) with the validator's `primitives` and `rules`, over the fields declared once in
`fields` (from which `schema` makes the JSON Schema). `from_base` and `diff` compare two
configs (a pull request's and its base's).
"""
