"""PersonLab for MMPose: importing this package registers every component.

``custom_imports = dict(imports=['personlab_mm'], allow_failed_imports=False)``
in any MMPose config makes the codec, target transform, head, losses,
estimator, synthetic dataset and visualizer available under
``default_scope='mmpose'``. Inference on images: :mod:`personlab_mm.apis`.
"""
from .utils.checkpoint import allow_mmengine_checkpoints
from .version import __version__

allow_mmengine_checkpoints()

from . import (codecs, datasets, engine, evaluation, models,  # noqa: E402,F401
               structures, visualization)

__all__ = [
    '__version__', 'codecs', 'datasets', 'engine', 'evaluation', 'models',
    'structures', 'visualization'
]
