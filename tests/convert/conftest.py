"""The converter tests run the reduced ResShift networks: one thread, as in tests/released."""

from tests.released.fixtures import one_thread  # noqa: F401 (autouse fixture)
