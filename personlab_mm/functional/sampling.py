"""Bilinear sampling of dense maps: the one family used by decoding,
refinement and test-time fusion.

Convention (see :mod:`.grid`): cell ``(i, j)`` of a map of stride ``s`` is
the sample at input pixel ``(j * s, i * s)``; between cells values are
interpolated bilinearly, and outside the grid the map reads zero (a
position one cell beyond the border still gets the border's share). All
functions here follow it; two access patterns share it:

- :func:`gather_bilinear`: one chosen channel per point (sparse reads, e.g.
  the mid-range offset of one edge at each of N keypoints), from the four
  neighbours of :func:`bilinear_corners`;
- :func:`sample_bilinear`: every channel at arbitrary grid positions
  (``F.grid_sample``, ``align_corners=True``, zeros padding: the same
  weights), with :func:`sample_points` (one image's maps at a set of
  positions), :func:`sample_at_offsets` (a field read at ``x + o(x)``,
  differentiable in both) and :func:`resample_separable` (maps onto another
  grid) on top.

Both give the same values for the same position (tested).
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def bilinear_corners(xy: Tensor, stride: float, height: int,
                     width: int) -> Tuple[Tensor, Tensor]:
    """The four grid neighbours of each point and their bilinear weights.

    Out-of-grid neighbours get weight 0 (like ``grid_sample`` with zeros
    padding), as do all four neighbours of a non-finite position.

    Args:
        xy (Tensor): (N, 2) positions in input pixels.
        stride (float): Grid stride in input pixels.
        height (int): Grid height H.
        width (int): Grid width W.

    Returns:
        tuple: flat cell indices ``i * W + j`` (N, 4) long and weights
        (N, 4); corner ``c`` is ``(x0 + c % 2, y0 + c // 2)``.
    """
    H, W = height, width
    g = xy / stride
    finite = torch.isfinite(g).all(dim=1, keepdim=True)
    # anything further out than one cell samples only zeros anyway
    g = torch.nan_to_num(g, nan=-2.)
    gx = g[:, 0:1].clamp(-2., W + 1.)
    gy = g[:, 1:2].clamp(-2., H + 1.)
    x0, y0 = gx.floor(), gy.floor()
    fx, fy = gx - x0, gy - y0
    corner = torch.arange(4, device=xy.device)
    xi = x0.long() + corner % 2
    yi = y0.long() + corner // 2
    wx = torch.cat([1 - fx, fx, 1 - fx, fx], dim=1)
    wy = torch.cat([1 - fy, 1 - fy, fy, fy], dim=1)
    valid = (xi >= 0) & (xi < W) & (yi >= 0) & (yi < H) & finite
    idx = yi.clamp(0, H - 1) * W + xi.clamp(0, W - 1)
    return idx, wx * wy * valid


def gather_corners(field: Tensor, channel: Tensor, idx: Tensor,
                   weights: Tensor) -> Tensor:
    """Bilinear samples of one channel of ``field`` per point, from
    precomputed corners (several fields read at the same points share
    them).

    Args:
        field (Tensor): (C, D, H, W) maps, D values per channel (D=2 for an
            offset field, D=1 for a heatmap).
        channel (Tensor): (N,) long, the channel read for each point.
        idx (Tensor): (N, 4) flat cell indices from
            :func:`bilinear_corners`.
        weights (Tensor): (N, 4) their weights.

    Returns:
        Tensor: (N, D).
    """
    vals = gather_cells(field, channel, idx)
    return (vals * weights.to(vals.dtype)[..., None]).sum(dim=1)


def gather_cells(field: Tensor, channel: Tensor, idx: Tensor) -> Tensor:
    """``field[channel[n], :, cell idx[n, q]]`` for every point and cell.

    Args:
        field (Tensor): (C, D, H, W) maps.
        channel (Tensor): (N,) long, the channel read for each point.
        idx (Tensor): (N, Q) flat cell indices ``i * W + j``.

    Returns:
        Tensor: (N, Q, D).
    """
    C, D, H, W = field.shape
    # one flat gather: element (c, d, cell) of the contiguous field
    lin = (channel[:, None] * (D * H * W) + idx)[..., None] + torch.arange(
        0, D * H * W, H * W, device=idx.device)  # (N, Q, D)
    return field.contiguous().view(-1).take(lin)


def gather_bilinear(field: Tensor, channel: Tensor, xy: Tensor,
                    stride: float) -> Tensor:
    """Bilinearly sample one channel of ``field`` per point.

    Args:
        field (Tensor): (C, D, H, W) maps.
        channel (Tensor): (N,) long, the channel sampled for each point.
        xy (Tensor): (N, 2) positions in input pixels; non-finite ones
            sample zeros.
        stride (float): Grid stride in input pixels.

    Returns:
        Tensor: (N, D) sampled values.
    """
    if xy.shape[0] == 0:
        return field.new_zeros((0, field.shape[1]))
    idx, weights = bilinear_corners(
        xy.to(field.dtype), stride, *field.shape[-2:])
    return gather_corners(field, channel, idx, weights)


def sample_bilinear(maps: Tensor, gx: Tensor, gy: Tensor) -> Tensor:
    """Every channel of ``maps`` at grid positions (``F.grid_sample``).

    Args:
        maps (Tensor): (N, C, H, W).
        gx (Tensor): (N, *S) x positions in grid cells (fractional; ``S``
            one or two dimensions).
        gy (Tensor): (N, *S) y positions in grid cells.

    Returns:
        Tensor: (N, C, *S) samples, differentiable in ``maps``, ``gx`` and
        ``gy``.
    """
    N, C, H, W = maps.shape
    S = gx.shape[1:]
    # align_corners=True: cell 0 -> -1, cell n - 1 -> +1
    nx = gx * (2. / max(W - 1, 1)) - 1.
    ny = gy * (2. / max(H - 1, 1)) - 1.
    grid = torch.stack([nx, ny], dim=-1)
    grid = grid.view(N, *S, 2) if len(S) == 2 else grid.reshape(N, 1, -1, 2)
    out = F.grid_sample(
        maps, grid.to(maps.dtype), mode='bilinear', padding_mode='zeros',
        align_corners=True)
    return out.view(N, C, *S)


def sample_points(maps: Tensor, gx: Tensor, gy: Tensor) -> Tensor:
    """Every channel of one image's maps at a set of grid positions.

    Args:
        maps (Tensor): (C, H, W).
        gx (Tensor): (P,) x positions in grid cells.
        gy (Tensor): (P,) y positions in grid cells.

    Returns:
        Tensor: (C, P).
    """
    return sample_bilinear(maps[None], gx[None], gy[None])[0]


def sample_at_offsets(field: Tensor, offsets: Tensor, stride: float) -> Tensor:
    """Sample ``field`` at ``x + offsets(x)`` for every cell ``x``.

    Args:
        field (Tensor): (B, C, D, H, W) fields; channel ``c`` of the output
            reads channel ``c`` of ``field``.
        offsets (Tensor): (B, C, 2, H, W) displacements in input pixels.
        stride (float): Grid stride.

    Returns:
        Tensor: (B, C, D, H, W), differentiable in both inputs; positions
        outside the grid read zeros.
    """
    B, C, _, H, W = offsets.shape
    D = field.shape[2]
    ys = torch.arange(H, device=offsets.device, dtype=offsets.dtype)
    xs = torch.arange(W, device=offsets.device, dtype=offsets.dtype)
    gx = xs.view(1, 1, 1, W) + offsets[:, :, 0] / stride
    gy = ys.view(1, 1, H, 1) + offsets[:, :, 1] / stride
    sampled = sample_bilinear(
        field.reshape(B * C, D, H, W).to(offsets.dtype),
        gx.reshape(B * C, H, W), gy.reshape(B * C, H, W))
    return sampled.view(B, C, D, H, W)


def resample_separable(maps: Tensor, gx: Tensor, gy: Tensor) -> Tensor:
    """Maps resampled onto another grid whose columns and rows sit at
    positions ``gx`` and ``gy`` of the source grid.

    Args:
        maps (Tensor): (B, C, H, W) source maps.
        gx (Tensor): (W',) source x (cells) of the output columns.
        gy (Tensor): (H',) source y (cells) of the output rows.

    Returns:
        Tensor: (B, C, H', W'); positions outside the source read zeros.
    """
    B = maps.shape[0]
    shape = (B, gy.numel(), gx.numel())
    return sample_bilinear(maps, gx[None, None, :].expand(shape),
                           gy[None, :, None].expand(shape))


def pixel_cells(size: int, scale: float, stride: float, cells: int,
                device=None) -> Tensor:
    """Grid position of each pixel along one image axis.

    Pixel ``u`` of an image resized by ``scale`` into the input sits at
    input pixel ``(u + 0.5) * scale - 0.5`` (the centre convention of
    MMDetection's ``Resize``; ``u`` itself for the input, ``scale = 1``)
    and at cell ``x / stride``, clamped to the ``cells`` of the grid
    (padding and beyond are never read).

    Args:
        size (int): Pixels along the axis.
        scale (float): Image-to-input scale along the axis.
        stride (float): Grid stride in input pixels.
        cells (int): Grid cells along the axis.
        device: Where to build the positions.

    Returns:
        Tensor: (size,) float cell positions.
    """
    u = torch.arange(size, device=device, dtype=torch.float32)
    return (((u + .5) * scale - .5) / stride).clamp(0, cells - 1)


def upsample_to_input(maps: Tensor, stride: float,
                      input_hw: Tuple[int, int]) -> Tensor:
    """Grid maps at every input pixel: bilinear on the corner-aligned grid,
    clamped at the last cell.

    Args:
        maps (Tensor): (B, C, H, W) maps of stride ``stride``.
        stride (float): Their stride in input pixels.
        input_hw (tuple): ``(h, w)`` of the input.

    Returns:
        Tensor: (B, C, h, w) float.
    """
    H, W = maps.shape[-2:]
    return resample_separable(
        maps.float(), pixel_cells(input_hw[1], 1., stride, W, maps.device),
        pixel_cells(input_hw[0], 1., stride, H, maps.device))


def resample_to_image(maps: Tensor,
                      stride: float,
                      meta: dict,
                      rescale: bool,
                      nearest: bool = False
                      ) -> Tuple[Tensor, Tuple[float, float]]:
    """Grid maps at the pixels of the image a data sample describes
    (bilinear, or the nearest cell with ``nearest``).

    Args:
        maps (Tensor): (B, C, H, W) maps of stride ``stride``.
        stride (float): Their stride in input pixels.
        meta (dict): ``img_shape``, ``ori_shape`` and ``scale_factor``
            (MMDetection's, ``(sx, sy)`` of the test resize).
        rescale (bool): At the original image (else the resized input).
        nearest (bool): Each pixel reads its nearest cell (no blending of
            neighbouring cells' values).

    Returns:
        tuple: (B, C, h, w) maps and the ``(sx, sy)`` image-to-input scale
        used (``(1, 1)`` without ``rescale``).
    """
    h, w = meta['ori_shape'][:2] if rescale else meta['img_shape'][:2]
    sx, sy = meta.get('scale_factor', (1., 1.)) if rescale else (1., 1.)
    H, W = maps.shape[-2:]
    gx = pixel_cells(w, sx, stride, W, maps.device)
    gy = pixel_cells(h, sy, stride, H, maps.device)
    if nearest:
        gx, gy = gx.round(), gy.round()
    return resample_separable(maps.float(), gx, gy), (sx, sy)
