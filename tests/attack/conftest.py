from tests.channels.conftest import fake  # noqa: F401  the fake Bot API on 127.0.0.1
