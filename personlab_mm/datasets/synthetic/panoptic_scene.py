"""Synthetic panoptic scenes: stuff bands (sky, wall, grass) under people,
balls and boxes, with a crowd region and void pixels (the drawing side of
:mod:`personlab_mm.datasets.synthetic.panoptic`)."""
import math
from typing import Dict, List, Tuple

import cv2
import numpy as np

from .people import _background, _draw_person, _person_keypoints, _shade

#: Bump when the panoptic generator's output changes (own version: the
#: people set's ``GENERATOR_VERSION`` is independent).
PANOPTIC_GENERATOR_VERSION = 1

#: COCO panoptic categories: things first, then stuff; ``color`` is RGB.
PANOPTIC_CATEGORIES = (
    dict(id=1, name='person', supercategory='person', isthing=1,
         color=[220, 20, 60]),
    dict(id=2, name='ball', supercategory='object', isthing=1,
         color=[255, 160, 0]),
    dict(id=3, name='box', supercategory='object', isthing=1,
         color=[150, 100, 50]),
    dict(id=4, name='sky', supercategory='background', isthing=0,
         color=[70, 130, 220]),
    dict(id=5, name='grass', supercategory='background', isthing=0,
         color=[60, 170, 60]),
    dict(id=6, name='wall', supercategory='background', isthing=0,
         color=[150, 110, 90]),
)
PERSON, BALL, BOX, SKY, GRASS, WALL = 1, 2, 3, 4, 5, 6

#: Segment id = category id * ID_STRIDE + k (k >= 1): never 0 (void).
ID_STRIDE = 1000

#: Segments with fewer visible pixels become void.
MIN_SEGMENT_PIXELS = 4

IMAGE_SIDES = (192, 224, 256)


def _boundary(rng: np.random.RandomState, w: int, base: float,
              amplitude: float) -> np.ndarray:
    """An irregular horizon: ``base`` plus a few random sinusoids and a
    little jitter, one y per image column."""
    x = np.arange(w, dtype=np.float64)
    y = np.full(w, base)
    for _ in range(rng.randint(2, 4)):
        period = rng.uniform(0.3, 1.5) * w
        y += rng.uniform(0.2, 1.) * amplitude * np.sin(
            2 * math.pi * x / period + rng.uniform(0, 2 * math.pi))
    jitter = np.cumsum(rng.normal(0, 0.6, size=w))
    return y + jitter - jitter.mean()


def _stuff_layout(rng: np.random.RandomState, h: int, w: int) -> np.ndarray:
    """(h, w) category ids of the stuff: sky on top, grass at the bottom
    and, at random, wall as a middle band or a side region."""
    ys = np.arange(h)[:, None]
    xs = np.arange(w)[None, :]
    grass_top = _boundary(rng, w, rng.uniform(0.6, 0.8) * h, 0.04 * h)
    layout = np.where(ys >= grass_top[None, :], GRASS, SKY)
    mode = rng.choice(['band', 'side', 'none'], p=[0.45, 0.35, 0.2])
    if mode == 'band':
        sky_bottom = _boundary(rng, w, rng.uniform(0.25, 0.45) * h,
                               0.05 * h)
        band = (ys >= sky_bottom[None, :]) & (ys < grass_top[None, :])
        layout[band] = WALL
    elif mode == 'side':
        edge = rng.uniform(0.2, 0.4) * w + np.cumsum(
            rng.normal(0, 0.3, size=h))[:, None]
        side = xs < edge if rng.rand() < 0.5 else xs >= w - edge
        layout[side & (ys < grass_top[None, :])] = WALL
    return layout


def _sky_texture(rng: np.random.RandomState, h: int, w: int) -> np.ndarray:
    """Vertical gradient from deep to pale blue (BGR)."""
    top = np.array([200., 110., 40.]) + rng.uniform(-20, 20, size=3)
    low = np.array([240., 205., 160.]) + rng.uniform(-15, 15, size=3)
    t = (np.arange(h, dtype=np.float64) / (0.7 * h)).clip(0, 1)
    img = top * (1 - t[:, None, None]) + low * t[:, None, None]
    return img * np.ones((1, w, 1)) + rng.normal(0, 2, size=(h, w, 3))


def _grass_texture(rng: np.random.RandomState, h: int,
                   w: int) -> np.ndarray:
    """Green with blotches and fine noise (BGR)."""
    base = np.array([50., 150., 60.]) + rng.uniform(-15, 15, size=3)
    coarse = cv2.resize(rng.normal(0, 1, size=(h // 8 + 1, w // 8 + 1)),
                        (w, h), interpolation=cv2.INTER_LINEAR)
    fine = rng.normal(0, 1, size=(h, w))
    shade = 18 * coarse + 14 * fine
    return base + shade[:, :, None] * np.array([0.4, 1., 0.5])


def _wall_texture(rng: np.random.RandomState, h: int, w: int) -> np.ndarray:
    """Bricks with light mortar or, at random, flat grey-brown (BGR)."""
    if rng.rand() < 0.3:
        base = np.array([110., 125., 140.]) + rng.uniform(-15, 15, size=3)
        return base + rng.normal(0, 5, size=(h, w, 1))
    bh, bw = rng.randint(8, 13), rng.randint(16, 25)
    ys = np.arange(h)[:, None]
    xs = np.arange(w)[None, :]
    row = ys // bh
    shifted = xs + (row % 2) * (bw // 2)
    col = shifted // bw
    table = np.array([60., 75., 150.]) + rng.uniform(-25, 25, size=(7, 3))
    img = table[(row * 3 + col) % len(table)]
    mortar = (ys % bh < 2) | (shifted % bw < 2)
    img[mortar] = np.array([175., 185., 190.])
    return img + rng.normal(0, 4, size=(h, w, 1))


def _draw_stuff(rng: np.random.RandomState, h: int,
                w: int) -> Tuple[np.ndarray, np.ndarray]:
    """BGR image and (h, w) category-id layout of the stuff."""
    layout = _stuff_layout(rng, h, w)
    img = np.zeros((h, w, 3))
    for cat, texture in ((SKY, _sky_texture), (GRASS, _grass_texture),
                         (WALL, _wall_texture)):
        region = layout == cat
        tex = texture(rng, h, w)
        img[region] = tex[region]
    return np.clip(img, 0, 255).astype(np.uint8), layout


def _bright_color(rng: np.random.RandomState) -> np.ndarray:
    """A saturated random colour (BGR)."""
    hsv = np.array([[[rng.randint(0, 180), rng.randint(170, 256),
                      rng.randint(170, 256)]]], dtype=np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float64)


def _paste(img: np.ndarray, layer: np.ndarray,
           mask: np.ndarray) -> np.ndarray:
    """Copy ``layer`` into ``img`` inside ``mask``; return the bool mask
    (a thing's paint never leaks outside its annotated mask)."""
    mask = mask.astype(bool)
    img[mask] = layer[mask]
    return mask


def _draw_ball(rng: np.random.RandomState, img: np.ndarray) -> np.ndarray:
    """A filled ellipse with a highlight; returns its mask."""
    h, w = img.shape[:2]
    r = rng.uniform(8, 0.25 * min(h, w))
    axes = (int(round(r)), int(round(r * rng.uniform(0.8, 1.))))
    center = (int(rng.uniform(0.05, 0.95) * w),
              int(rng.uniform(0.1, 0.95) * h))
    angle = rng.uniform(0, 180)
    color = _bright_color(rng)
    mask = np.zeros((h, w), dtype=np.uint8)
    cv2.ellipse(mask, center, axes, angle, 0, 360, 1, -1)
    layer = img.copy()
    cv2.ellipse(layer, center, axes, angle, 0, 360, _shade(color, -0.35),
                -1)
    inner = (max(1, int(axes[0] * 0.85)), max(1, int(axes[1] * 0.85)))
    cv2.ellipse(layer, (center[0] - axes[0] // 10, center[1] - axes[1] // 10),
                inner, angle, 0, 360, _shade(color, 0.), -1)
    spot = (center[0] - int(0.35 * r), center[1] - int(0.35 * r))
    cv2.circle(layer, spot, max(2, int(0.28 * r)), _shade(color, 0.55), -1)
    cv2.circle(layer, spot, max(1, int(0.12 * r)), (255, 255, 255), -1)
    return _paste(img, layer, mask)


def _draw_box(rng: np.random.RandomState, img: np.ndarray) -> np.ndarray:
    """A rotated filled rectangle with a darker outline and a tape strip;
    returns its mask."""
    h, w = img.shape[:2]
    side = min(h, w)
    size = (rng.uniform(16, 0.5 * side), rng.uniform(16, 0.5 * side))
    center = (rng.uniform(0.05, 0.95) * w, rng.uniform(0.1, 0.95) * h)
    corners = cv2.boxPoints((center, size, rng.uniform(0, 90)))
    pts = np.round(corners).astype(np.int32)
    color = np.array([80., 140., 190.]) + rng.uniform(-35, 35, size=3)
    mask = np.zeros((h, w), dtype=np.uint8)
    cv2.fillConvexPoly(mask, pts, 1)
    cv2.polylines(mask, [pts], True, 1, 2)
    layer = img.copy()
    cv2.fillConvexPoly(layer, pts, _shade(color, 0.))
    mid_a = np.round((corners[0] + corners[1]) / 2).astype(np.int32)
    mid_b = np.round((corners[2] + corners[3]) / 2).astype(np.int32)
    tape = max(2, int(0.08 * min(size)))
    cv2.line(layer, tuple(mid_a), tuple(mid_b), _shade(color, 0.35), tape)
    cv2.polylines(layer, [pts], True, _shade(color, -0.55), 2)
    return _paste(img, layer, mask)


def _draw_thing_person(rng: np.random.RandomState,
                       img: np.ndarray) -> np.ndarray:
    """A stick person (the people set's drawing); returns its mask."""
    h, w = img.shape[:2]
    height = rng.uniform(48, 0.75 * min(h, w))
    center = (rng.uniform(0.1, 0.9) * w, rng.uniform(0.35, 0.8) * h)
    kp = _person_keypoints(rng, height, center)
    return _draw_person(img, kp, height, rng.uniform(30, 225, size=3))


_THING_DRAWERS = {PERSON: _draw_thing_person, BALL: _draw_ball,
                  BOX: _draw_box}


def _draw_crowd(rng: np.random.RandomState, img: np.ndarray) -> np.ndarray:
    """A crowd of 4-9 tiny people; returns the mask of all of them."""
    h, w = img.shape[:2]
    cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.4, 0.7) * h
    mask = np.zeros((h, w), dtype=bool)
    for _ in range(rng.randint(4, 10)):
        height = rng.uniform(16, 28)
        center = (cx + rng.uniform(-30, 30), cy + rng.uniform(-10, 10))
        mask |= _draw_person(img, _person_keypoints(rng, height, center),
                             22., rng.uniform(30, 225, size=3))
    return mask


def _void_mask(rng: np.random.RandomState, img: np.ndarray) -> np.ndarray:
    """Unlabelled pixels, drawn on ``img``: 1-4 thin scribbles, at random
    a border strip and a small cluttered patch; returns their mask."""
    h, w = img.shape[:2]
    mask = np.zeros((h, w), dtype=np.uint8)
    for _ in range(rng.randint(1, 5)):
        start = rng.uniform(0, 1, size=2) * (w, h)
        steps = rng.normal(0, 12, size=(rng.randint(3, 7), 2))
        pts = np.round(start + np.cumsum(steps, axis=0)).astype(np.int32)
        color = tuple(int(c) for c in rng.randint(0, 256, size=3))
        thick = int(rng.randint(1, 4))
        cv2.polylines(img, [pts], False, color, thick)
        cv2.polylines(mask, [pts], False, 1, thick)
    if rng.rand() < 0.2:
        width = rng.randint(1, 4)
        side = rng.randint(4)
        strip = [np.s_[:width, :], np.s_[-width:, :], np.s_[:, :width],
                 np.s_[:, -width:]][side]
        mask[strip] = 1
    if rng.rand() < 0.25:
        clutter = _background(rng, h, w)
        patch = np.zeros((h, w), dtype=np.uint8)
        center = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        cv2.ellipse(patch, center, (rng.randint(6, 15), rng.randint(6, 15)),
                    rng.uniform(0, 180), 0, 360, 1, -1)
        img[patch > 0] = clutter[patch > 0]
        mask |= patch
    return mask.astype(bool)


def make_panoptic_scene(
        rng: np.random.RandomState) -> Tuple[np.ndarray, np.ndarray, List]:
    """One random panoptic scene.

    Stuff first, then (at random) a crowd region of tiny people, then 1-6
    things (people, balls, boxes) back to front, each occluding what is
    under it, then void scribbles on top. Segments with fewer than
    :data:`MIN_SEGMENT_PIXELS` visible pixels become void.

    Args:
        rng (np.random.RandomState): Random state.

    Returns:
        tuple: BGR image (h, w, 3) uint8; (h, w) int64 segment ids (0 is
        void, else ``category_id * ID_STRIDE + k``); and the segments in
        painting order (stuff, crowd, things) as dicts with ``id``,
        ``category_id`` and ``iscrowd``.
    """
    h = int(rng.choice(IMAGE_SIDES))
    w = int(rng.choice(IMAGE_SIDES))
    img, layout = _draw_stuff(rng, h, w)
    ids = layout.astype(np.int64) * ID_STRIDE + 1
    segments = [dict(id=cat * ID_STRIDE + 1, category_id=cat, iscrowd=0)
                for cat in (SKY, GRASS, WALL)]
    counts: Dict[int, int] = {}

    def add(cat: int, mask: np.ndarray, iscrowd: int) -> None:
        counts[cat] = counts.get(cat, 0) + 1
        seg_id = cat * ID_STRIDE + counts[cat]
        ids[mask] = seg_id
        segments.append(dict(id=seg_id, category_id=cat, iscrowd=iscrowd))

    if rng.rand() < 0.3:
        add(PERSON, _draw_crowd(rng, img), 1)
    for _ in range(rng.randint(1, 7)):
        cat = int(rng.choice([PERSON, BALL, BOX]))
        add(cat, _THING_DRAWERS[cat](rng, img), 0)
    ids[_void_mask(rng, img)] = 0

    present, areas = np.unique(ids, return_counts=True)
    visible = dict(zip(present.tolist(), areas.tolist()))
    kept = []
    for seg in segments:
        if visible.get(seg['id'], 0) >= MIN_SEGMENT_PIXELS:
            kept.append(seg)
        elif seg['id'] in visible:
            ids[ids == seg['id']] = 0
    return img, ids, kept
