"""The demo marketplace: its configuration, its mock buyers and its campaigns."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import Literal

import yaml

from pingtree.config.packaged import vertical_text
from pingtree.config.parse import load_yaml
from pingtree.config.schema import ConfigDocument
from pingtree.demo.leads import Vertical
from pingtree.mockbuyer import MockBuyerConfig, load_config

__all__ = [
    "CAMPAIGNS",
    "MOCK_BUYER_PLACEHOLDER",
    "DemoCampaign",
    "demo_document",
    "mock_buyer_config",
]

#: stands for the mock buyers' base URL in ``demo.yaml``
MOCK_BUYER_PLACEHOLDER = "${MOCK_BUYER}"
_VERTICALS: tuple[Vertical, ...] = ("auto_insurance", "health_insurance")


@dataclass(frozen=True)
class DemoCampaign:
    id: str
    vertical: Vertical
    mode: Literal["ping_post", "direct_post"]
    #: how it sells, in words
    description: str
    #: its share of the demo traffic
    weight: int


#: the campaigns of ``demo.yaml``; the first is the one the printed ``curl`` examples use
CAMPAIGNS = (
    DemoCampaign("sunrise_auto", "auto_insurance", "ping_post", "ping/post, exclusive", 45),
    DemoCampaign("harborview_health", "health_insurance", "ping_post", "ping/post, shared", 35),
    DemoCampaign("northstar_auto_direct", "auto_insurance", "direct_post", "direct post", 20),
)


def demo_document(mock_buyer_url: str) -> ConfigDocument:
    """The shipped verticals and the demo's suppliers and buyers, the buyers' endpoints at
    ``mock_buyer_url``."""
    text = _read("demo.yaml").replace(MOCK_BUYER_PLACEHOLDER, mock_buyer_url)
    market = load_yaml(text)
    verticals = [spec for name in _VERTICALS for spec in load_yaml(vertical_text(name)).verticals]
    return market.model_copy(update={"verticals": verticals})


def mock_buyer_config() -> MockBuyerConfig:
    """How each demo buyer's endpoint answers (``mock_buyers.yaml``)."""
    return load_config(yaml.safe_load(_read("mock_buyers.yaml")))


def _read(name: str) -> str:
    return files("pingtree.demo").joinpath(name).read_text("utf-8")
