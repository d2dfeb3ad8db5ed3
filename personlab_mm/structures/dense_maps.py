"""One container for the dense maps of every method: named fields that
declare their kind, so fusion and sanitising work on any of them."""
from typing import (Callable, Dict, Iterator, List, Mapping, NamedTuple,
                    Optional, Sequence, Tuple)

import torch
from torch import Tensor

from ..functional.sanitize import KINDS, sanitize_tensors


class FieldSpec(NamedTuple):
    """What a dense map is and how test-time augmentation treats it.

    Attributes:
        kind (str): ``'probability'`` (in [0, 1], averaged when fused),
            ``'logits'`` (averaged), ``'offset'`` (2-D displacements in
            input pixels, ``(x, y)`` on axis 2: negated x under a flip,
            rescaled with the input) or ``'embedding'`` (instance
            embeddings: resampled and flipped, but not fused: the first
            prediction is kept).
        flip_channels (tuple, optional): Under a horizontal flip, channel
            ``c`` takes the flipped prediction's channel
            ``flip_channels[c]`` (left/right keypoints, mirrored edges);
            None: channels stay.
        weight (str, optional): For ``'offset'`` fields: fused as an
            average weighted by this probability field (an offset counts
            where it is meaningful); None: plain mean.
        weight_channels (tuple, optional): Channel of ``weight`` that
            weighs each channel of this field; None: the same channel (or
            the only one).
    """
    kind: str
    flip_channels: Optional[Tuple[int, ...]] = None
    weight: Optional[str] = None
    weight_channels: Optional[Tuple[int, ...]] = None


class DenseMaps:
    """Named dense maps of a batch, all on one grid.

    Fields are ``(B, C, H, W)``, or ``(B, C, 2, H, W)`` for ``'offset'``
    fields (``(x, y)`` displacement of channel ``c``); cell ``(i, j)`` sits
    at input pixel ``(j * stride, i * stride)``
    (:mod:`personlab_mm.functional.grid`).

    Args:
        tensors (Mapping[str, Tensor]): The maps by name.
        specs (Mapping[str, FieldSpec]): Each field's spec (extra specs are
            ignored).
        stride (float): Grid stride in input pixels.

    Raises:
        ValueError: if a field has no spec, an unknown kind, or a shape
            that does not fit the others.
    """

    def __init__(self, tensors: Mapping[str, Tensor],
                 specs: Mapping[str, FieldSpec], stride: float) -> None:
        self.tensors: Dict[str, Tensor] = dict(tensors)
        self.specs: Dict[str, FieldSpec] = {
            name: specs[name] if name in specs else self._missing(name)
            for name in self.tensors
        }
        self.stride = float(stride)
        self._check()

    @staticmethod
    def _missing(name: str):
        raise ValueError(f'DenseMaps: field {name!r} has no FieldSpec')

    def _check(self) -> None:
        shapes = set()
        for name, t in self.tensors.items():
            spec = self.specs[name]
            if spec.kind not in KINDS:
                raise ValueError(f'DenseMaps: field {name!r} has unknown '
                                 f'kind {spec.kind!r}; expected {KINDS}')
            want = 5 if spec.kind == 'offset' else 4
            if t.dim() != want or (want == 5 and t.shape[2] != 2):
                layout = '(B, C, 2, H, W)' if want == 5 else '(B, C, H, W)'
                raise ValueError(f'DenseMaps: {spec.kind} field {name!r} '
                                 f'must be {layout}, got {tuple(t.shape)}')
            shapes.add((t.shape[0], *t.shape[-2:]))
        if len(shapes) > 1:
            raise ValueError('DenseMaps: fields disagree on batch size or '
                             f'grid: {sorted(shapes)}')

    # ------------------------------------------------------------- access
    def __getitem__(self, name: str) -> Tensor:
        return self.tensors[name]

    def __contains__(self, name: str) -> bool:
        return name in self.tensors

    def __iter__(self) -> Iterator[str]:
        return iter(self.tensors)

    def items(self):
        return self.tensors.items()

    @property
    def batch_size(self) -> int:
        return next(iter(self.tensors.values())).shape[0]

    @property
    def grid_hw(self) -> Tuple[int, int]:
        """``(H, W)``."""
        t = next(iter(self.tensors.values()))
        return int(t.shape[-2]), int(t.shape[-1])

    @property
    def device(self) -> torch.device:
        return next(iter(self.tensors.values())).device

    # ----------------------------------------------------------- rebuild
    def replace(self, **tensors: Tensor) -> 'DenseMaps':
        """The same fields and stride with some tensors replaced."""
        return DenseMaps(dict(self.tensors, **tensors), self.specs,
                         self.stride)

    def map(self, fn: Callable[[str, Tensor, FieldSpec], Tensor]
            ) -> 'DenseMaps':
        """Every field through ``fn(name, tensor, spec)``."""
        return DenseMaps(
            {n: fn(n, t, self.specs[n])
             for n, t in self.tensors.items()}, self.specs, self.stride)

    def image(self, index: int) -> 'DenseMaps':
        """The maps of one image, as a batch of one (views)."""
        return self.map(lambda _, t, __: t[index:index + 1])

    def unbatch(self) -> List['DenseMaps']:
        """One batch-of-one :class:`DenseMaps` per image."""
        return [self.image(b) for b in range(self.batch_size)]

    @staticmethod
    def cat(maps: Sequence['DenseMaps']) -> 'DenseMaps':
        """Concatenate batches on the same grid (the inverse of
        :meth:`unbatch`)."""
        first = maps[0]
        return DenseMaps(
            {n: torch.cat([m[n] for m in maps])
             for n in first}, first.specs, first.stride)

    def sanitized(self) -> 'DenseMaps':
        """The maps with non-finite and out-of-range values brought into
        the range of each field's kind (float32 for half-precision maps;
        see :mod:`personlab_mm.functional.sanitize`)."""
        kinds = {n: s.kind for n, s in self.specs.items()}
        return DenseMaps(
            sanitize_tensors(self.tensors, kinds, self.grid_hw, self.stride),
            self.specs, self.stride)

    def __repr__(self) -> str:
        fields = ', '.join(f'{n}: {self.specs[n].kind} {tuple(t.shape)}'
                           for n, t in self.tensors.items())
        return f'DenseMaps(stride={self.stride:g}, {fields})'
