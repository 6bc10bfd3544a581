"""Packages that are also the function of the same name: ``from srkit import train; train(...)``.

``srkit.train`` and ``srkit.degrade`` are packages, and Python binds a package to its
parent's attribute once it is imported, so ``from srkit import train`` can yield the
package. Making those two packages callable (a module class with ``__call__``,
supported by Python for module objects) keeps the library face one name per command.
"""

from __future__ import annotations

import sys
import types
from typing import Any, Callable


def make_callable(module_name: str, function: Callable[[], Callable[..., Any]]) -> None:
    """Calling the module ``module_name`` calls ``function()(...)`` (``function`` imports it lazily)."""

    class CallablePackage(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return function()(*args, **kwargs)

    sys.modules[module_name].__class__ = CallablePackage
