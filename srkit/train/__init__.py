"""Training (``srkit train``): every recipe, from HR photos or existing pairs, on one or many devices.

``from srkit.train import train`` -- see :func:`srkit.train.api.train`. The package itself
is callable as :func:`srkit.api.train` (``from srkit import train; train("sr3", ...)``).
"""

from srkit._callable_package import make_callable
from srkit.train.api import train

__all__ = ["train"]


def _library_train():  # noqa: ANN202 - srkit.api imports torch and the whole package
    from srkit.api import train as library_train

    return library_train


make_callable(__name__, _library_train)
