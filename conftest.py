"""Settings every test folder of this repository shares."""

import pytest


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """``@pytest.mark.anyio`` tests run on asyncio, the loop the gateway serves on: anyio's own
    fixture would also run them on trio, which the browser tests' selenium installs."""
    return "asyncio"
