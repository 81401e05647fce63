from tests.api.conftest import clock, market

__all__ = ["clock", "market"]
