"""The config a pull request is gated with under `config-from: base`, and the settings that
decide the verdict which the pull request's own config changes.

Pure: two `GateConfig`s in, the base commit's and the checkout's. Each field of the top level
and of an `evals` item says where it comes from (`Origin`, in the tables of
`gate.config.fields`). What to gate (`Origin.CHECKOUT`: the evals, their id, model, version
and name, the workspace, the trend chart) is the checkout's; everything that decides the
verdict (`Origin.BASE`: the rules, `require_same_version`, each eval's `baseline`, and any
field marked so later) is the base's. An eval's settings come from the base's eval of the same
name (its label: the `name`, else its id, model or version). An eval the base does not have
gets its fields' defaults: no baseline; when the checkout's item names one anyway, the gated
item says `baseline: base`, which finds no eval of that name in the base's config and so has
no baseline either, the report saying why (`no eval named X in the base branch's config`).

How the rules differ is `gate.config.diff`'s; every other such setting the checkout writes
otherwise is a `SettingChange`, listed in the report like a changed rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from gate.config.fields import EVAL, TOP, Field, Origin
from gate.core.model import BASE, EvalSpec, GateConfig, Location

__all__ = [
    "EVAL_FROM_BASE",
    "TOP_FROM_BASE",
    "SettingChange",
    "gated_config",
    "setting_changes",
]

TOP_FROM_BASE: Final = tuple(f for f in TOP.fields if f.origin is Origin.BASE)
EVAL_FROM_BASE: Final = tuple(f for f in EVAL.fields if f.origin is Origin.BASE)
RULES = "rules"  # compared rule by rule (gate.config.diff), not as one setting
_SETTINGS: Final = tuple(f for f in TOP_FROM_BASE if f.name != RULES)


@dataclass(frozen=True, slots=True)
class SettingChange:
    """A setting that decides the verdict, which the checkout's config sets otherwise than
    the base's: `before` the base's value, `after` the checkout's (a field's default when it is
    not written; None: none). `eval_label`: the eval it belongs to (None: the top level).
    `location`: where the checkout writes it (for an eval's setting it does not write: the
    eval's item), else where the base does."""

    key: str
    before: object
    after: object
    location: Location | None = field(default=None, compare=False)
    eval_label: str | None = None

    @property
    def kind(self) -> str:
        return "changed"

    def describe(self, value: object) -> str:
        """One side of it, as a config says it: `require_same_version: false`, `baseline of
        detector: e0` (`none`: not set)."""
        if value is None:
            shown = "none"
        elif isinstance(value, bool):
            shown = "true" if value else "false"
        else:
            shown = str(value)
        if self.eval_label is None:
            return f"{self.key}: {shown}"
        return f"{self.key} of {self.eval_label}: {shown}"


def _by_label(evals: tuple[EvalSpec, ...]) -> Mapping[str, EvalSpec]:
    return {spec.label: spec for spec in evals}


def _value(owner: GateConfig | EvalSpec | None, field: Field) -> Any:
    return field.when_missing if owner is None else getattr(owner, field.name)


def _gated_eval(spec: EvalSpec, theirs: EvalSpec | None) -> EvalSpec:
    """`spec` with its verdict settings from the base's eval of its name (`theirs`)."""
    gated = replace(spec, **{f.name: _value(theirs, f) for f in EVAL_FROM_BASE})
    if theirs is None and spec.baseline is not None:
        return replace(gated, baseline=BASE)  # no baseline, and the report says why
    return gated


def gated_config(base: GateConfig, checkout: GateConfig) -> GateConfig:
    """The checkout's config with every setting that decides the verdict taken from `base`."""
    base_evals = _by_label(base.evals)
    evals = tuple(_gated_eval(spec, base_evals.get(spec.label)) for spec in checkout.evals)
    return replace(checkout, evals=evals, **{f.name: getattr(base, f.name) for f in TOP_FROM_BASE})


def _located(
    key: str, checkout: GateConfig | EvalSpec, base: GateConfig | EvalSpec | None
) -> Location | None:
    written = checkout.located(key)
    if written is not None:
        return written
    if isinstance(checkout, EvalSpec):  # the item that leaves it out
        return checkout.location
    return base.located(key) if base is not None else None


def setting_changes(base: GateConfig, checkout: GateConfig) -> tuple[SettingChange, ...]:
    """Every setting that decides the verdict (but the rules) which `checkout` sets otherwise
    than `base`: the top level's first, then each of the checkout's evals' in its order."""
    changes = [
        SettingChange(f.name, before, after, _located(f.name, checkout, base))
        for f in _SETTINGS
        if (before := getattr(base, f.name)) != (after := getattr(checkout, f.name))
    ]
    base_evals = _by_label(base.evals)
    for spec in checkout.evals:
        theirs = base_evals.get(spec.label)
        changes.extend(
            SettingChange(f.name, before, after, _located(f.name, spec, theirs), spec.label)
            for f in EVAL_FROM_BASE
            if (before := _value(theirs, f)) != (after := getattr(spec, f.name))
        )
    return tuple(changes)


def _item_label(item: Any) -> str | None:
    """An `evals` item's label as written (its name, else its id, model or version), as
    `EvalSpec.label` says it; None for an item that is neither text nor a mapping."""
    if isinstance(item, str):
        return item
    if not isinstance(item, Mapping):
        return None
    for key in ("name", "id", "model", "version"):
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _gated_item(item: Any, theirs: Any) -> Any:
    """A checkout's `evals` item with its verdict settings from the base's item of its label
    (`theirs`; None: the base has none, and the item gets no such setting: no baseline)."""
    gated: dict[str, Any] = {"id": item} if isinstance(item, str) else dict(item)
    for f in EVAL_FROM_BASE:
        gated.pop(f.name, None)
        if isinstance(theirs, Mapping) and theirs.get(f.name) is not None:
            gated[f.name] = theirs[f.name]
    return gated


def gated_document(base: Mapping[str, Any], checkout: Mapping[str, Any]) -> dict[str, Any]:
    """`gated_config` on the two configs as written (parsed YAML, both already validated): the
    checkout's document with every setting that decides the verdict taken from the base's, for
    a gate run elsewhere (the service) on the text itself. An eval the base does not have gets
    no baseline (`gated_config` marks it `base` so the report can say why; a document sent on
    cannot use `base`)."""
    gated = dict(checkout)
    for f in TOP_FROM_BASE:
        gated.pop(f.name, None)
        if base.get(f.name) is not None:
            gated[f.name] = base[f.name]
    evals = checkout.get("evals")
    if isinstance(evals, list):
        theirs = {
            label: item
            for item in (base.get("evals") or [])
            if (label := _item_label(item)) is not None
        }
        gated["evals"] = [_gated_item(item, theirs.get(_item_label(item) or "")) for item in evals]
    return gated
