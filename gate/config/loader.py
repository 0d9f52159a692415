"""Loading the eval-gate config: YAML text (`load_config`) or an already-parsed mapping
(`config_from_data`) to a `GateConfig`, or one `ConfigError` listing every problem.

Both walk the same validator over config nodes (`gate.config.nodes`), so YAML (each problem
at line:column, `gate.config.yaml_nodes`) and JSON from the HTTP service (each problem at a
path such as `rules[2].min`) obey exactly the same rules. The validator here reads the top
level and the `evals:` list; the rules are `gate.config.rules`', the values' readers
`gate.config.primitives`'.
"""

from __future__ import annotations

from typing import Any, Final

from gate.config.fields import EVAL, RULE, TOP
from gate.config.nodes import DataNode, Node
from gate.config.rules import RuleChecker, parse_compact_rule
from gate.config.yaml_nodes import EMPTY_CONFIG, BudgetExhausted, compose
from gate.core.errors import ConfigError, Problem
from gate.core.model import AUTO, EvalBy, EvalSpec, GateConfig

__all__ = [
    "EVAL_KEYS",
    "RULE_KEYS",
    "TOP_KEYS",
    "config_from_data",
    "load_config",
    "parse_compact_rule",
]

# The keys each mapping may hold, in the order the docs and the JSON Schema list them: the
# fields are declared once, in `gate.config.fields`, and the validator walks those tables.
TOP_KEYS: Final = TOP.keys
EVAL_KEYS: Final = EVAL.keys
RULE_KEYS: Final = RULE.keys


def load_config(text: str, source: str = "<config>") -> GateConfig:
    """YAML text -> GateConfig; raises ConfigError listing every problem, each at line:column."""
    root = compose(text, source)
    if root is None:
        raise ConfigError([Problem(EMPTY_CONFIG, source, 1, 1)])
    try:
        return _Validator(source, by_path=False).run(root)
    except BudgetExhausted as exc:
        raise ConfigError([exc.problem(source)]) from None


def config_from_data(data: Any, source: str = "<request>") -> GateConfig:
    """An already-parsed mapping (e.g. JSON) -> GateConfig, with the same validation.

    There are no line numbers, so each problem message starts with the path of the offending
    value, e.g. `rules[2].min: min must be between 0 and 1, got 70`.
    """
    if data is None:
        raise ConfigError([Problem(EMPTY_CONFIG, source)])
    return _Validator(source, by_path=True).run(DataNode(data, ""))


class _Validator(RuleChecker):
    """Walks the nodes, collects every problem, builds the GateConfig if there were none."""

    def run(self, root: Node) -> GateConfig:
        config = self.config(root)
        if self.problems or config is None:
            shown = self.shown() or [Problem("invalid config", self.source)]
            raise ConfigError(shown, total=max(self.problems, 1))
        return config

    def config(self, root: Node) -> GateConfig | None:
        if root.kind != "mapping":
            self.report(
                root,
                "the config must be a mapping with `version: 1` and `rules:`, "
                f"got {root.describe()}",
            )
            return None
        values, fields = self.record(root, TOP)
        version: int | None = values["version"]
        if self.problems or version is None:
            return None
        return GateConfig(
            version=version,
            rules=values["rules"] or (),
            workspace=values["workspace"],
            evals=values["evals"] or (),
            source=self.source,
            require_same_version=bool(values["require_same_version"]),
            trend=values["trend"],
            locations=self.locations(fields),
        )

    def evals(self, node: Node) -> tuple[EvalSpec, ...]:
        if node.kind != "sequence":
            self.report(node, f"evals must be a list, got {node.describe()}")
            return ()
        specs: list[EvalSpec] = []
        ids: dict[str, tuple[Node, int]] = {}
        names: dict[str, tuple[Node, int]] = {}
        for index, item in enumerate(node.items()):
            spec, id_node, name_node = self.eval_item(item)
            if spec is None:
                continue
            assert id_node is not None
            key = spec.id if spec.by is EvalBy.ID else spec.named
            if key in ids:
                first = ids[key][0]
                self.report(
                    id_node,
                    f"duplicate eval {spec.by.value} {spec.id!r} (first at {self.where(first)})",
                )
            else:
                ids[key] = (id_node, index)
            if spec.name is not None and name_node is not None:
                if spec.name in names:
                    first = names[spec.name][0]
                    self.report(
                        name_node,
                        f"duplicate eval name {spec.name!r} (first at {self.where(first)})",
                    )
                else:
                    names[spec.name] = (name_node, index)
            specs.append(spec)
        # A rule's `evals:` refers to evals by name or id: one eval's name must not be another's id.
        for name, (name_node, index) in names.items():
            if name in ids and ids[name][1] != index:
                other = ids[name][0]
                self.report(
                    name_node,
                    f"eval name {name!r} is the id of another eval ({self.where(other)}): "
                    "rules could not tell them apart; rename it",
                )
        return tuple(specs)

    def eval_item(self, node: Node) -> tuple[EvalSpec | None, Node | None, Node | None]:
        """One `evals` item: an id, or a mapping; returns the spec and its id and name nodes."""
        before = self.problems
        if node.kind == "scalar" and node.value is not None:
            eval_id = self.ident(node, "an eval id")
            if eval_id is None:
                return None, None, None
            return EvalSpec(id=eval_id, location=self.location(node)), node, None
        if node.kind != "mapping":
            self.report(
                node,
                "each eval must be an id or a mapping with id, name and baseline, "
                f"got {node.describe()}",
            )
            return None, None, None
        values, fields = self.record(node, EVAL)
        named = [by for by in EvalBy if by.value in fields]
        if not named:
            self.report(
                node,
                "eval has no id: add id: <the evaluation's id> "
                "(or model: <a model id>, or version: <a dataset version id>)",
            )
        for extra in named[1:]:
            self.report(
                fields[extra.value][0],
                f"an eval has exactly one of id, model and version: "
                f"remove {extra.value}: or {named[0].value}:",
            )
        by = named[0] if named else EvalBy.ID
        eval_id, name, baseline = values[by.value], values["name"], values["baseline"]
        id_node = fields[by.value][1] if by.value in fields else None
        name_node = fields["name"][1] if "name" in fields else None
        if by is EvalBy.ID and baseline is not None and baseline == eval_id:
            self.report(
                fields["baseline"][1],
                f"eval {eval_id!r} cannot be its own baseline: "
                f"use {AUTO!r} or another evaluation's id",
            )
        if eval_id is None or self.problems != before:
            return None, None, None
        spec = EvalSpec(
            id=eval_id,
            name=name,
            baseline=baseline,
            location=self.location(node),
            by=by,
            locations=self.locations(fields),
        )
        return spec, id_node, name_node
