"""Lead-funnel metrics and the funnel's stages.

- :mod:`attribution.funnel.report`: :func:`funnel`, stage counts, conversion
  rates, time to conversion and money per customer (:class:`FunnelReport`);
- :mod:`attribution.funnel.stages`: the ordered CRM stages a person moves
  through (:class:`FunnelStages`, :data:`B2B_STAGES`, :data:`ECOMMERCE_STAGES`).

Examples
--------
>>> FunnelStages.parse("lead,customer").order
('lead', 'customer')
>>> "channel" in GROUPINGS
True
"""

from attribution.funnel.report import ASSIGNMENTS, GROUPINGS, MODES, FunnelReport, funnel
from attribution.funnel.stages import (
    B2B_STAGES,
    ECOMMERCE_STAGES,
    FunnelStages,
    as_stages,
    default_stages,
)

__all__ = [
    "ASSIGNMENTS",
    "B2B_STAGES",
    "ECOMMERCE_STAGES",
    "GROUPINGS",
    "MODES",
    "FunnelReport",
    "FunnelStages",
    "as_stages",
    "default_stages",
    "funnel",
]
