"""A campaign's posting instructions for the person asking: the view function the admin page
and its Markdown download call (``web.instructions_pages``).

The operator's staff (admin, operator, analyst) read any campaign's instructions; a
``supplier`` principal only its own campaigns' (DESIGN §9, the portals). The instructions
hold no personal data and no key, so an analyst reads them whole.
"""

from __future__ import annotations

from pingtree.api.instructions_markdown import instructions_markdown
from pingtree.api.instructions_model import Instructions, posting_instructions
from pingtree.flows.errors import NotFound
from pingtree.flows.ports import Ports
from pingtree.principals import Forbidden, Principal

__all__ = ["campaign_instructions", "campaign_instructions_markdown", "may_read_instructions"]


def may_read_instructions(viewer: Principal, supplier_id: str) -> bool:
    """Whether ``viewer`` may read the instructions of a campaign of ``supplier_id``."""
    return viewer.is_staff or (viewer.role == "supplier" and viewer.supplier_id == supplier_id)


def campaign_instructions(
    ports: Ports, viewer: Principal, campaign_id: str, base_url: str
) -> Instructions:
    """The live configuration's instructions for ``campaign_id``, URLs under ``base_url``.

    :class:`Forbidden` when ``viewer`` may not read them (checked before the
    campaign is looked up: a supplier learns nothing of other campaigns), ``NotFound``
    when no such campaign is configured."""
    snapshot = ports.snapshots.current()
    campaign = snapshot.config.campaigns.get(campaign_id)
    supplier_id = campaign.supplier_id if campaign is not None else ""
    if not may_read_instructions(viewer, supplier_id):
        raise Forbidden(f"The {viewer.role} role may not read these instructions.")
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id!r}")
    return posting_instructions(snapshot, campaign_id, base_url)


def campaign_instructions_markdown(
    ports: Ports, viewer: Principal, campaign_id: str, base_url: str
) -> str:
    """The same instructions as a Markdown document."""
    return instructions_markdown(campaign_instructions(ports, viewer, campaign_id, base_url))
