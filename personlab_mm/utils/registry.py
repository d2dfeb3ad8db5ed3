"""Building nested components in MMPose's scope."""
from mmengine.registry import Registry


def build_in_mmpose_scope(registry: Registry, cfg: dict):
    """Build ``cfg`` from ``registry`` with ``mmpose`` as the default scope.

    A component registered in MMPose's registries builds its parts (losses,
    codecs) through the *current* default scope; inside an MMDetection
    config that scope is ``mmdet``, where ``PersonLabLogisticLoss`` and
    friends do not exist. Unless the config names a ``_scope_`` itself, the
    part is built in ``mmpose``'s scope, so ``type='mmpose.PersonLabHead'``
    works from any OpenMMLab toolbox.
    """
    cfg = dict(cfg)
    cfg.setdefault('_scope_', 'mmpose')
    return registry.build(cfg)
