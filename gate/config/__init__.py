"""The config: YAML text or a mapping to `gate.core.model.GateConfig`, every problem located."""
