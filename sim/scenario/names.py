"""Targets and levers by the names people write: one resolver each, used by every command.

* ``resolve_target`` finds a scenario's target by its id (``technology_contract_turnover_2025``),
  its model variable (``Technology Contract Turnover``, any case or spacing) or its label in
  Chinese or English (``技术合同交易额``, ``Technology-contract turnover``).
* ``resolve_lever`` finds a constant of the model by its Vensim name (any case, spacing or
  underscores, ``variable_key``) or its Chinese label from the model's comment
  (``财政创新投入占收入比重下限``).

Both return the canonical name (the target's id, the Vensim name) or raise ``UnresolvedName``:
an ambiguous name lists what it could mean, an unknown one suggests close matches
(``sim.vensim.catalogue.resolve_name``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from sim.scenario.loading import load_scenario
from sim.scenario.schema import Scenario, Target
from sim.vensim.catalogue import ModelInfo, UnresolvedName, model_info, resolve_name

#: What a target may be written as, for messages.
TARGET_NAMES = "a target's id, its model variable or its Chinese or English label"
#: What a lever may be written as, for messages.
LEVER_NAMES = "a constant's Vensim name (any case or spacing) or its Chinese label"


def resolve_target(targets: Sequence[Target], text: str, extra: Iterable[str] = ()) -> str:
    """The id of the target ``text`` names (its id, variable or zh/en label), or one of
    ``extra`` (e.g. ``all``) written as is.

    Raises:
        UnresolvedName: several targets share that variable or label (it lists them), or none
            matches (it suggests close ones).
    """
    specials = list(extra)
    if text.strip() in specials:
        return text.strip()
    by_id = {t.name: t for t in targets}
    aliases = {t.name: (t.variable, t.label.zh, t.label.en) for t in targets}
    aliases |= {special: () for special in specials}

    def describe(name: str) -> str:
        target = by_id.get(name)
        return "" if target is None else f"{target.label.zh} / {target.label.en}"

    written = "".join(f", or '{special}'" for special in specials)
    return resolve_name(
        text,
        aliases,
        what="a target of the scenario",
        accepted=TARGET_NAMES + written,
        describe=describe,
    )


def scenario_target(scenario: Scenario, text: str) -> Target:
    """The target of ``scenario`` that ``text`` names (``resolve_target``)."""
    name = resolve_target(scenario.targets, text)
    return next(t for t in scenario.targets if t.name == name)


def _lever_aliases(info: ModelInfo, kinds: Iterable[str]) -> dict[str, tuple[str, ...]]:
    wanted = set(kinds)
    return {n: (d.label_zh,) for n, d in info.docs.items() if d.kind in wanted}


def resolve_lever(text: str, model: str | Path | ModelInfo | None = None) -> str:
    """The Vensim name of the constant ``text`` names: its Vensim name (``variable_key``:
    case, spaces and underscores ignored) or its Chinese label in the model.

    A name that is no constant but another variable of the model (a stock, an auxiliary)
    resolves to it, so the caller can say why it cannot be a lever; close matches are
    suggested among the constants.

    Raises:
        UnresolvedName: an ambiguous label (it lists the constants) or no match (close ones
            suggested).
    """
    info = model if isinstance(model, ModelInfo) else model_info(model)

    def describe(name: str) -> str:
        return info.docs[name].label_zh

    constants = _lever_aliases(info, ("constant",))
    accepted = LEVER_NAMES
    try:
        return resolve_name(
            text, constants, what="a constant of the model", accepted=accepted, describe=describe
        )
    except UnresolvedName as unknown:
        if unknown.ambiguous:
            raise
        others = _lever_aliases(info, {d.kind for d in info.docs.values()} - {"constant"})
        try:
            return resolve_name(
                text, others, what="a variable", accepted=accepted, describe=describe
            )
        except UnresolvedName:
            raise unknown from None


def target_ids(path: str | Path, texts: Iterable[str], extra: Iterable[str] = ()) -> list[str]:
    """The ids of the targets ``texts`` name in the scenario file ``path`` (``extends``
    resolved; the file is checked against the schema, not the model: the command that runs it
    does that).

    Raises:
        ScenarioError: the file cannot be read or is malformed.
        UnresolvedName: a text names several targets or none.
    """
    targets = load_scenario(path, check_model=False).targets
    specials = tuple(extra)
    return [resolve_target(targets, text, specials) for text in texts]
