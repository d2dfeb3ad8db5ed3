"""Synthetic people: random articulated stick people drawn on a cluttered
background, annotated in COCO keypoint format (the drawing side of
:mod:`personlab_mm.datasets.synthetic`)."""
import math
from typing import List, Tuple

import cv2
import numpy as np
import pycocotools.mask as mask_utils

#: Bump when the generator's output changes, so stale caches are not reused.
GENERATOR_VERSION = 2

COCO_KEYPOINT_NAMES = (
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
    'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
    'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
    'right_knee', 'left_ankle', 'right_ankle')
COCO_SKELETON_1BASED = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13],
                        [6, 12], [7, 13], [6, 7], [6, 8], [7, 9], [8, 10],
                        [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5],
                        [4, 6], [5, 7]]

# Limbs drawn for a person: (from, to, thickness as a fraction of height).
_LIMBS = ((5, 7, .055), (7, 9, .045), (6, 8, .055), (8, 10, .045),
          (11, 13, .075), (13, 15, .06), (12, 14, .075), (14, 16, .06))


def _person_keypoints(rng: np.random.RandomState, height: float,
                      center: Tuple[float, float]) -> np.ndarray:
    """Random articulated front-facing pose.

    Args:
        rng: Random state.
        height (float): Person height in pixels (head top to ankles).
        center (tuple): Pelvis position ``(x, y)`` in pixels.

    Returns:
        np.ndarray: (17, 2) keypoints in COCO order. The person faces the
        camera, so their left side is on the image's right (+x).
    """
    h = height
    kp = np.zeros((17, 2))
    pelvis = np.array(center, dtype=np.float64)
    lean = rng.uniform(-0.15, 0.15)  # torso lean (radians)
    up = np.array([math.sin(lean), -math.cos(lean)])
    side = np.array([math.cos(lean), math.sin(lean)])  # towards person-left
    neck = pelvis + up * 0.30 * h
    kp[11] = pelvis + side * 0.085 * h
    kp[12] = pelvis - side * 0.085 * h
    kp[5] = neck + side * 0.12 * h + up * 0.0
    kp[6] = neck - side * 0.12 * h
    head = neck + up * 0.11 * h + side * rng.uniform(-0.02, 0.02) * h
    kp[0] = head
    kp[1] = head + side * 0.025 * h + up * 0.025 * h
    kp[2] = head - side * 0.025 * h + up * 0.025 * h
    kp[3] = head + side * 0.05 * h + up * 0.01 * h
    kp[4] = head - side * 0.05 * h + up * 0.01 * h

    def limb(start: np.ndarray, angle: float, length: float) -> np.ndarray:
        # angle measured from "down" (-up), positive towards person-left
        direction = -up * math.cos(angle) + side * math.sin(angle)
        return start + direction * length

    for shoulder, elbow, wrist, sign in ((5, 7, 9, 1.), (6, 8, 10, -1.)):
        a1 = sign * rng.uniform(0.1, 2.2)
        a2 = a1 + sign * rng.uniform(-0.3, 1.6)
        kp[elbow] = limb(kp[shoulder], a1, 0.17 * h)
        kp[wrist] = limb(kp[elbow], a2, 0.15 * h)
    for hip, knee, ankle, sign in ((11, 13, 15, 1.), (12, 14, 16, -1.)):
        a1 = sign * rng.uniform(-0.15, 0.6)
        a2 = a1 + rng.uniform(-0.5, 0.3) * sign
        kp[knee] = limb(kp[hip], a1, 0.24 * h)
        kp[ankle] = limb(kp[knee], a2, 0.24 * h)
    return kp


def _shade(color: np.ndarray, amount: float) -> Tuple[int, ...]:
    """Blend towards white (amount > 0) or black (amount < 0)."""
    target = 255. if amount > 0 else 0.
    out = color + (target - color) * abs(amount)
    return tuple(int(c) for c in np.clip(out, 0, 255))


def _draw_person(img: np.ndarray, kp: np.ndarray, height: float,
                 color: np.ndarray) -> np.ndarray:
    """Draw one person and return the mask of the pixels it painted."""
    h_img, w_img = img.shape[:2]
    mask = np.zeros((h_img, w_img), dtype=np.uint8)
    pts = np.round(kp).astype(np.int32)

    def paint(fn, col):
        fn(img, col)
        fn(mask, 1)

    torso = pts[[5, 6, 12, 11]]
    paint(lambda im, c: cv2.fillConvexPoly(im, torso, c, cv2.LINE_AA
                                           if im.ndim == 3 else 8),
          _shade(color, 0.))
    for a, b, frac in _LIMBS:
        # person-left limbs lighter, person-right limbs darker
        col = _shade(color, 0.45 if a % 2 == 1 else -0.45)
        thick = max(2, int(round(frac * height)))
        paint(lambda im, c: cv2.line(im, tuple(pts[a]), tuple(pts[b]), c,
                                     thick), col)
    radius = max(2, int(round(0.075 * height)))
    paint(lambda im, c: cv2.circle(im, tuple(pts[0]), radius, c, -1),
          (110, 160, 215))
    # facial features: dark eyes, red nose, ears as small dots
    dot = max(1, int(round(0.012 * height)))
    for i, col in ((1, (30, 30, 30)), (2, (30, 30, 30)), (0, (40, 40, 200)),
                   (3, (80, 120, 170)), (4, (80, 120, 170))):
        cv2.circle(img, tuple(pts[i]), dot, col, -1)
        cv2.circle(mask, tuple(pts[i]), dot, 1, -1)
    return mask.astype(bool)


def _background(rng: np.random.RandomState, h: int, w: int) -> np.ndarray:
    """Smooth gradient with random clutter and noise."""
    c0, c1 = rng.uniform(40, 215, size=(2, 3))
    t = np.linspace(0., 1., w)[None, :, None]
    img = (c0 * (1 - t) + c1 * t) * np.ones((h, 1, 1))
    img = img.astype(np.uint8)
    for _ in range(rng.randint(3, 9)):
        col = tuple(int(c) for c in rng.uniform(0, 255, size=3))
        x0, y0 = rng.randint(0, w), rng.randint(0, h)
        if rng.rand() < 0.5:
            cv2.rectangle(img, (x0, y0), (x0 + rng.randint(8, w // 3),
                                          y0 + rng.randint(8, h // 3)), col,
                          -1)
        else:
            cv2.ellipse(img, (x0, y0),
                        (rng.randint(5, w // 6), rng.randint(5, h // 6)),
                        rng.uniform(0, 180), 0, 360, col, -1)
    noise = rng.normal(0, 6, size=img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def _encode_segmentation(mask: np.ndarray, style: str):
    """Visible mask as COCO polygons, compressed RLE or uncompressed RLE."""
    if style == 'polygon':
        contours, _ = cv2.findContours(
            mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        # contour points are pixel centres; COCO polygons live in the frame
        # where pixel u spans [u, u + 1), so centres are at u + 0.5
        polys = [(c.reshape(-1).astype(float) + 0.5).tolist()
                 for c in contours if len(c) >= 3]
        if polys:
            return polys
        style = 'rle'  # too thin for a polygon: fall back to RLE
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    if style == 'rle':
        return dict(size=list(rle['size']), counts=rle['counts'].decode())
    # uncompressed: run lengths in column-major order
    flat = mask.astype(np.uint8).reshape(-1, order='F')
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts = [0] + counts
    return dict(size=[int(mask.shape[0]), int(mask.shape[1])], counts=counts)


def _bbox_of(mask: np.ndarray) -> List[float]:
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return [0., 0., 0., 0.]
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
            float(ys.max() - ys.min() + 1)]


def _make_image(rng: np.random.RandomState, image_id: int,
                ann_id_start: int) -> Tuple[np.ndarray, List[dict]]:
    """One image and its annotations."""
    w = int(rng.choice([256, 288, 320]))
    h = int(rng.choice([256, 288, 320]))
    img = _background(rng, h, w)
    # people: (kind, keypoints, height); drawn back to front
    people = []
    for _ in range(rng.randint(1, 5)):
        height = rng.uniform(0.45, 0.85) * min(h, w) * 1.2
        cx = rng.uniform(0.15, 0.85) * w
        cy = rng.uniform(0.45, 0.75) * h
        people.append(('person', _person_keypoints(rng, height, (cx, cy)),
                       height))
    if rng.rand() < 0.4:  # small people with a mask but no keypoints
        for _ in range(rng.randint(1, 3)):
            height = rng.uniform(22, 40)
            center = (rng.uniform(0.05, 0.95) * w, rng.uniform(0.2, 0.9) * h)
            people.append(('small', _person_keypoints(rng, height, center),
                           height))
    crowd = []
    if rng.rand() < 0.3:  # a crowd of tiny people
        cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.2, 0.6) * h
        for _ in range(rng.randint(4, 9)):
            height = rng.uniform(16, 28)
            center = (cx + rng.uniform(-30, 30), cy + rng.uniform(-12, 12))
            crowd.append(_person_keypoints(rng, height, center))
    order = rng.permutation(len(people))
    people = [people[i] for i in order]
    return _render(rng, img, people, crowd, image_id, ann_id_start)


def _render(rng: np.random.RandomState, img: np.ndarray, people: list,
            crowd: list, image_id: int,
            ann_id_start: int) -> Tuple[np.ndarray, List[dict]]:
    """Draw people (back to front) and the crowd on ``img``, annotate them.

    Args:
        people (list): ``(kind, keypoints, height)`` with kind ``'person'``
            (keypoints annotated) or ``'small'`` (mask only).
        crowd (list): keypoints of the tiny people of one crowd region.
    """
    h, w = img.shape[:2]
    crowd_mask = np.zeros((h, w), dtype=bool)
    for kp in crowd:
        color = rng.uniform(30, 225, size=3)
        crowd_mask |= _draw_person(img, kp, 22., color)
    masks = []
    for kind, kp, height in people:
        color = rng.uniform(30, 225, size=3)
        m = _draw_person(img, kp, height, color)
        for prev in masks:
            prev &= ~m  # later people occlude earlier ones
        crowd_mask &= ~m
        masks.append(m)

    anns = []
    ann_id = ann_id_start
    styles = ('polygon', 'rle', 'polygon', 'uncompressed')
    for idx, ((kind, kp, height), mask) in enumerate(zip(people, masks)):
        area = float(mask.sum())
        if area < 4:
            continue
        kpts = np.zeros((17, 3))
        if kind == 'person':
            inside = (kp[:, 0] >= 0) & (kp[:, 0] <= w - 1) & (
                kp[:, 1] >= 0) & (kp[:, 1] <= h - 1)
            ix = np.clip(np.round(kp[:, 0]).astype(int), 0, w - 1)
            iy = np.clip(np.round(kp[:, 1]).astype(int), 0, h - 1)
            occluded = ~mask[iy, ix]
            vis = np.where(occluded, 1, 2)
            vis[~inside] = 0
            vis[rng.rand(17) < 0.03] = 0  # a few unlabelled keypoints
            kpts[:, :2] = np.where(vis[:, None] > 0, np.round(kp, 2), 0)
            kpts[:, 2] = vis
        anns.append(
            dict(
                id=ann_id,
                image_id=image_id,
                category_id=1,
                iscrowd=0,
                area=area,
                bbox=_bbox_of(mask),
                num_keypoints=int((kpts[:, 2] > 0).sum()),
                keypoints=kpts.reshape(-1).tolist(),
                segmentation=_encode_segmentation(
                    mask, styles[(image_id + idx) % len(styles)])))
        ann_id += 1
    if crowd_mask.sum() >= 4:
        anns.append(
            dict(
                id=ann_id,
                image_id=image_id,
                category_id=1,
                iscrowd=1,
                area=float(crowd_mask.sum()),
                bbox=_bbox_of(crowd_mask),
                num_keypoints=0,
                keypoints=[0] * 51,
                segmentation=_encode_segmentation(crowd_mask, 'rle')))
    return img, anns


def _grid_layout(num: int, w: int, h: int) -> Tuple[int, float, float]:
    """``num`` places on a grid over a ``w x h`` image: columns and the
    cell size."""
    cols = int(math.ceil(math.sqrt(num * w / h)))
    rows = int(math.ceil(num / max(cols, 1)))
    return cols, w / cols, h / rows


def make_scene(num_people: int,
               image_size: Tuple[int, int] = (640, 480),
               seed: int = 0) -> Tuple[np.ndarray, List[dict]]:
    """An image with exactly ``num_people`` annotated people, for
    benchmarks: people on a jittered grid, sized to fit, overlapping a
    little, no crowd and no mask-only people.

    Args:
        num_people (int): People in the image.
        image_size (Tuple[int, int]): ``(w, h)``.
        seed (int): Random seed.

    Returns:
        tuple: BGR image (h, w, 3) uint8 and COCO annotations.
    """
    rng = np.random.RandomState(seed)
    w, h = image_size
    cols, cell_w, cell_h = _grid_layout(num_people, w, h)
    people = []
    for i in range(num_people):
        r, c = divmod(i, cols)
        height = min(cell_h * 1.1, cell_w * 2.2) * rng.uniform(0.8, 1.0)
        cx = (c + 0.5 + rng.uniform(-0.1, 0.1)) * cell_w
        cy = (r + 0.55 + rng.uniform(-0.05, 0.05)) * cell_h
        people.append(('person', _person_keypoints(rng, height, (cx, cy)),
                       height))
    img = _background(rng, h, w)
    return _render(rng, img, people, [], image_id=1, ann_id_start=1)


def make_crowd_scene(num_pairs: int,
                     image_size: Tuple[int, int] = (640, 480),
                     seed: int = 0,
                     spacing: Tuple[float, float] = (5., 30.)
                     ) -> Tuple[np.ndarray, List[dict]]:
    """A crowded image: ``num_pairs`` pairs of people, one standing right
    behind the other (the front one drawn last occludes it), with
    same-type keypoints ``spacing`` pixels apart and independently posed
    limbs that cross; for tests and benchmarks of decoding in crowds.

    The person behind is placed at a random shift of ``spacing`` pixels
    from the front one and has the same height, so torso keypoints (hips,
    shoulders, head) of the two lie ``spacing`` apart, under one output
    cell at stride 8, and arms and legs take their own angles.

    Args:
        num_pairs (int): Pairs of people (``2 * num_pairs`` people).
        image_size (Tuple[int, int]): ``(w, h)``.
        seed (int): Random seed.
        spacing (Tuple[float, float]): Range of the shift between the two
            people of a pair, in pixels.

    Returns:
        tuple: BGR image (h, w, 3) uint8 and COCO annotations (the person
        behind first in each pair).
    """
    rng = np.random.RandomState(seed)
    w, h = image_size
    cols, cell_w, cell_h = _grid_layout(num_pairs, w, h)
    people = []
    for i in range(num_pairs):
        r, c = divmod(i, cols)
        height = min(cell_h * 0.95, cell_w * 1.8) * rng.uniform(0.85, 1.0)
        cx = (c + 0.5) * cell_w
        cy = (r + 0.55) * cell_h
        angle = rng.uniform(0., 2. * math.pi)
        shift = rng.uniform(*spacing) * np.array(
            [math.cos(angle), math.sin(angle)])
        for center in ((cx + shift[0], cy + shift[1]), (cx, cy)):
            people.append(('person', _person_keypoints(rng, height, center),
                           height))
    img = _background(rng, h, w)
    return _render(rng, img, people, [], image_id=1, ann_id_start=1)
