"""The API tests' server fixture, for the exchange tests' real processes."""

from tests.api.conftest import start_server

__all__ = ["start_server"]
