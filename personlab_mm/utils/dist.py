"""Distributed runs without a GPU (``gloo``) under MMEngine 0.10.7."""
import datetime

import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def setup_cpu_distributed(cfg: Config, launcher: str) -> None:
    """Make a ``--launcher pytorch`` run work on CPU-only machines.

    MMEngine 0.10.7 cannot: its ``pytorch`` launcher calls
    ``torch.cuda.set_device`` before creating the process group ("Found no
    NVIDIA driver"), and it wraps the model in
    ``MMDistributedDataParallel(device_ids=[LOCAL_RANK])``, which
    ``DistributedDataParallel`` rejects for a CPU module. Here the ``gloo``
    process group is created from the launcher's environment (``RANK``,
    ``WORLD_SIZE``, ``MASTER_ADDR``/``PORT``; the Runner then skips its own
    initialisation) and the wrapper gets ``device_ids=None``. Other
    launchers (``slurm``, ``mpi``) are left to MMEngine.

    Args:
        cfg (Config): The run's config; ``env_cfg.dist_cfg`` (backend set to
            ``gloo``, ``timeout`` in seconds honoured) and
            ``model_wrapper_cfg`` are updated in place.
        launcher (str): The ``--launcher`` argument.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    cfg.env_cfg.dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if launcher != 'pytorch' or torch_dist.is_initialized():
        return
    kwargs = {k: v for k, v in cfg.env_cfg.dist_cfg.items() if k != 'backend'}
    if 'timeout' in kwargs:
        kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
    torch_dist.init_process_group(backend='gloo', **kwargs)
