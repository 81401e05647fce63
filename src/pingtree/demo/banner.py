"""What ``pingtree demo`` prints at start: where to look, how to sign in, what to paste."""

from __future__ import annotations

import json

from pingtree.demo.market import CAMPAIGNS
from pingtree.demo.runner import DemoAccess

__all__ = ["SAMPLE_CONTACT", "SAMPLE_PING", "banner"]

#: the ``curl`` examples' lead (README's walkthrough): a ping of non-PII fields…
SAMPLE_PING = {"zip": "33101", "state": "FL", "age": 34, "currently_insured": True}
#: … and what its post adds, in the fictional 555-01xx range and a reserved domain
SAMPLE_CONTACT = {
    "first_name": "Ana",
    "last_name": "Lima",
    "email": "ana@example.com",
    "phone": "305-555-0142",
}


def banner(access: DemoAccess) -> str:
    url = access.base_url
    campaign = CAMPAIGNS[0]
    key = access.campaign_keys[campaign.id]
    data = f"{access.data_dir}" + (" (temporary: deleted on exit)" if access.temporary else "")
    traffic = (
        f"{access.traffic:g} leads a second (--traffic 0 turns it off)"
        if access.traffic > 0
        else "off (--traffic 1 sends a lead a second)"
    )
    width = max(len(c.id) for c in CAMPAIGNS) + 2
    keys = "\n".join(
        f"  {c.id:<{width}}{c.description:<24}{access.campaign_keys[c.id]}" for c in CAMPAIGNS
    )
    ping = json.dumps({"fields": SAMPLE_PING})
    post = json.dumps({"ping_id": "PASTE-THE-PING-ID", "fields": {**SAMPLE_PING, **SAMPLE_CONTACT}})
    return f"""
pingtree demo is running (Ctrl-C stops it)

  web UI        {url}/ui
  admin login   {access.username} / {access.password}
  admin token   {access.admin_token}
  API docs      {url}/docs
  hosted form   {url}/f/northstar_quote
  mock buyers   {access.mock_buyer_url}
  data          {data}
  traffic       {traffic}

campaign keys
{keys}

# ping ({campaign.id}): non-PII fields only
curl -s {url}/api/v1/ping -H 'Authorization: Bearer {key}' \\
  -H 'content-type: application/json' \\
  -d '{ping}'

# post the full lead with the ping id from that answer
curl -s {url}/api/v1/post -H 'Authorization: Bearer {key}' \\
  -H 'content-type: application/json' \\
  -d '{post}'

# the sales, and a lead with its trace: every buyer order, its outcome and why
curl -s {url}/api/v1/admin/sales -H 'Authorization: Bearer {access.admin_token}'
curl -s {url}/api/v1/admin/leads/PASTE-THE-LEAD-ID -H 'Authorization: Bearer {access.admin_token}'
"""
