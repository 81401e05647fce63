"""``pingtree demo``: a whole marketplace in one process, to see pingtree work.

The demo configuration (``demo.yaml``: the shipped verticals, three suppliers, eight
buyers), mock buyers answering for those buyers on 127.0.0.1 (``mock_buyers.yaml``), a
generator of synthetic, fictional leads (``leads``) and the traffic that sends them through
the seller API (``traffic``); ``runner`` starts and stops it all, ``banner`` says how to use it.
"""

from pingtree.demo.banner import banner
from pingtree.demo.runner import DemoAccess, DemoError, DemoOptions, run_demo

__all__ = ["DemoAccess", "DemoError", "DemoOptions", "banner", "run_demo"]
