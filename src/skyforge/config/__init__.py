"""Validated, typed configuration: load and validate (:mod:`.schema`), one frozen dataclass per
section (:mod:`.sections`), checks across sections (:mod:`.checks`).

``from skyforge import config as C`` and ``from skyforge.config import X`` reach every public name.
"""

# The package's public names are its modules' ``__all__``, re-exported as one namespace.
from skyforge.config.checks import *  # noqa: F403
from skyforge.config.checks import __all__ as _checks
from skyforge.config.schema import *  # noqa: F403
from skyforge.config.schema import __all__ as _schema
from skyforge.config.sections import *  # noqa: F403
from skyforge.config.sections import __all__ as _sections

__all__ = [*_checks, *_schema, *_sections]
