"""PersonLab for MMPose: importing this package registers every component.

``custom_imports = dict(imports=['personlab_mm'], allow_failed_imports=False)``
in any MMPose config makes the codec, target transform, head, losses,
estimator and synthetic dataset available under ``default_scope='mmpose'``.
"""
from .utils.checkpoint import allow_mmengine_checkpoints
from .version import __version__

allow_mmengine_checkpoints()

from . import (codecs, datasets, evaluation, models,  # noqa: E402,F401
               structures)

__all__ = [
    '__version__', 'codecs', 'datasets', 'evaluation', 'models', 'structures'
]
