"""Bottom-up pose estimation and instance segmentation for MMPose and
MMDetection: importing this package registers every component.

``custom_imports = dict(imports=['personlab_mm'], allow_failed_imports=False)``
in any MMPose config makes the codec, target transform, head, losses,
estimator, datasets, hooks and visualizer available under
``default_scope='mmpose'``. Layout: :mod:`.functional` (pure torch
primitives), :mod:`.structures` (keypoint sets, dense maps),
:mod:`.decoders` (each method's equations), :mod:`.codecs`,
:mod:`.datasets`, :mod:`.models`, :mod:`.evaluation`, :mod:`.analysis`;
inference on images: :mod:`.apis`. See ``docs/architecture.md``.
"""
from .utils.checkpoint import allow_mmengine_checkpoints
from .version import __version__

allow_mmengine_checkpoints()

from . import (analysis, codecs, datasets, decoders, engine,  # noqa: E402,F401
               evaluation, functional, models, structures, visualization)

__all__ = [
    '__version__', 'analysis', 'codecs', 'datasets', 'decoders', 'engine',
    'evaluation', 'functional', 'models', 'structures', 'visualization'
]
