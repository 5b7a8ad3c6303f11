"""Funnel stages: the ordered list of CRM stages a person moves through.

A :class:`FunnelStages` is configuration, not data: the stage names in
``conversions.stage`` that form the funnel, in order, and the stage(s) that
end it badly. The first stage is the funnel's entry (the *lead* stage of
the lead conversion rate and of CPL), the last is the winning end
(*customers*, revenue).

- :data:`B2B_STAGES` (the default): ``lead → mql → sql → opportunity →
  closed_won``, with ``closed_lost`` as the losing end;
- :data:`ECOMMERCE_STAGES`: ``lead → purchase`` (a sign-up, then orders);
- any other list: ``FunnelStages.parse("subscriber,lead,customer")`` or
  ``closedloop funnel --stages subscriber,lead,customer``.

:func:`default_stages` picks B2B unless the conversions are e-commerce
(``purchase`` present and ``closed_won`` absent), and keeps of it the stages
the data has (Olist's ``mql`` and ``closed_won``: ``mql → closed_won``).

The stage-aware models (``u_shaped``, ``w_shaped``, ``full_path``) name the
stages they look for with their own parameters (``lead_stage``,
``opportunity_stage``, ``won_stage``), whose defaults are the B2B names.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from attribution.errors import ParameterError

COUNT_NAMES = {
    "lead": "leads",
    "mql": "mqls",
    "sql": "sqls",
    "sal": "sals",
    "opportunity": "opportunities",
    "subscriber": "subscribers",
}
"""Plural column names of the stage counts; other stages use their own name."""


@dataclass(frozen=True)
class FunnelStages:
    """An ordered funnel: entry stage first, winning stage last, and the losing end(s).

    Attributes
    ----------
    order
        Stage names from the funnel's entry to its winning end (at least one).
    lost
        Stages that close a deal without a win (``closed_lost``); they imply
        that every stage but the last was reached.

    Examples
    --------
    >>> stages = FunnelStages.parse("lead,mql,closed_won", lost="closed_lost")
    >>> stages.entry, stages.won, stages.lost
    ('lead', 'closed_won', ('closed_lost',))
    >>> stages.count_column("mql"), stages.count_column("closed_won")
    ('mqls', 'won')
    """

    order: tuple[str, ...] = ("lead", "mql", "sql", "opportunity", "closed_won")
    lost: tuple[str, ...] = ("closed_lost",)

    def __post_init__(self) -> None:
        if not self.order:
            raise ParameterError("A funnel needs at least one stage. Got an empty list instead.")
        names = [*self.order, *self.lost]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ParameterError(
                f"Funnel stages must be distinct; {', '.join(repeated)} appear(s) more than once."
            )
        blank = [n for n in names if not n.strip()]
        if blank:
            raise ParameterError("Funnel stage names cannot be empty.")

    @classmethod
    def parse(cls, text: str, lost: str | None = "closed_lost") -> FunnelStages:
        """Build stages from a comma-separated list (``"lead,mql,sql,opportunity,closed_won"``).

        ``lost`` is a comma-separated list too; ``None`` or ``""`` means none.

        Examples
        --------
        >>> FunnelStages.parse(" mql , closed_won ").order
        ('mql', 'closed_won')
        """
        order = tuple(part.strip() for part in text.split(",") if part.strip())
        losing = tuple(part.strip() for part in (lost or "").split(",") if part.strip())
        losing = tuple(s for s in losing if s not in order)
        return cls(order=order, lost=losing)

    @property
    def entry(self) -> str:
        """The funnel's first stage: what lead counts, CPL and lead conversion rate use."""
        return self.order[0]

    @property
    def won(self) -> str:
        """The funnel's winning end: customers, orders and revenue."""
        return self.order[-1]

    def count_column(self, stage: str) -> str:
        """Name of a stage's count column: ``leads``, ``mqls`` …, ``won``, ``lost``."""
        if stage == self.won:
            return "won"
        if stage in self.lost:
            return "lost"
        return COUNT_NAMES.get(stage, stage)

    def label(self, stage: str) -> str:
        """Short label used in rate names: ``mql``, ``sql`` …, ``won``.

        Examples
        --------
        >>> B2B_STAGES.label("opportunity"), B2B_STAGES.label("closed_won")
        ('opportunity', 'won')
        """
        return "won" if stage == self.won else stage

    def rate_column(self, earlier: str, later: str) -> str:
        """Name of the rate from one stage to the next, e.g. ``mql_to_sql_rate``."""
        return f"{self.label(earlier)}_to_{self.label(later)}_rate"

    def steps(self) -> list[tuple[str, str]]:
        """Consecutive stage pairs of the funnel.

        Examples
        --------
        >>> FunnelStages.parse("lead,mql,closed_won").steps()
        [('lead', 'mql'), ('mql', 'closed_won')]
        """
        return list(zip(self.order, self.order[1:], strict=False))

    def __str__(self) -> str:
        lost = f" (lost: {', '.join(self.lost)})" if self.lost else ""
        return " → ".join(self.order) + lost


B2B_STAGES = FunnelStages()
"""lead → mql → sql → opportunity → closed_won, closed_lost as the losing end."""

ECOMMERCE_STAGES = FunnelStages(order=("lead", "purchase"), lost=())
"""lead → purchase: a sign-up, then orders."""


def default_stages(conversions: pl.DataFrame) -> FunnelStages:
    """Pick the B2B or e-commerce funnel, keeping of it the stages the data has.

    E-commerce (``lead → purchase``) when the data has purchases and no
    ``closed_won``, B2B otherwise. Of the preset's stages, those with a row
    in ``conversions`` are kept, in the preset's order, when there are at
    least two of them and the winning stage is one: Olist's ``mql`` and
    ``closed_won`` rows give ``mql → closed_won``. Otherwise the whole
    preset is the funnel, and the report shows its absent stages as null.
    The losing stages are kept either way (when the data has none, ``lost``
    and ``win_rate`` are null).

    Examples
    --------
    >>> default_stages(pl.DataFrame({"stage": ["lead", "purchase"]})) is ECOMMERCE_STAGES
    True
    >>> default_stages(pl.DataFrame({"stage": ["lead", "mql", "sql", "opportunity",
    ...     "closed_won"]})) is B2B_STAGES
    True
    >>> default_stages(pl.DataFrame({"stage": ["mql", "closed_won", "closed_won"]}))
    FunnelStages(order=('mql', 'closed_won'), lost=('closed_lost',))
    >>> default_stages(pl.DataFrame({"stage": ["lead", "mql"]})) is B2B_STAGES
    True
    """
    present = set(conversions["stage"].drop_nulls().unique().to_list())
    preset = (
        ECOMMERCE_STAGES if "purchase" in present and "closed_won" not in present else B2B_STAGES
    )
    kept = tuple(s for s in preset.order if s in present)
    if kept == preset.order or len(kept) < 2 or kept[-1] != preset.won:
        return preset
    return FunnelStages(order=kept, lost=preset.lost)


def as_stages(
    stages: FunnelStages | str | list[str] | tuple[str, ...] | None, conversions: pl.DataFrame
) -> FunnelStages:
    """Accept stages as an object, a comma-separated string, a list, or ``None`` (the default).

    Examples
    --------
    >>> as_stages(["mql", "closed_won"], pl.DataFrame({"stage": ["mql"]})).order
    ('mql', 'closed_won')
    """
    if stages is None:
        return default_stages(conversions)
    if isinstance(stages, FunnelStages):
        return stages
    if isinstance(stages, str):
        return FunnelStages.parse(stages)
    return FunnelStages.parse(",".join(stages))


__all__ = [
    "B2B_STAGES",
    "ECOMMERCE_STAGES",
    "FunnelStages",
    "as_stages",
    "default_stages",
]
