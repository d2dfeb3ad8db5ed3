"""Inference on images for users: ``init_personlab`` +
``inference_personlab`` (functions) or ``PersonLabInferencer`` (with
pictures)."""
from .inference import (default_device, inference_personlab, init_personlab,
                        people_of)
from .inferencer import PersonLabInferencer

__all__ = [
    'PersonLabInferencer', 'default_device', 'inference_personlab',
    'init_personlab', 'people_of'
]
