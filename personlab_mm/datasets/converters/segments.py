"""What both panoptic converters compute from an index map."""
from typing import List, Tuple

import numpy as np
from scipy import ndimage


def segments_of(index: np.ndarray, num: int) -> List[Tuple]:
    """``(i, area, [x, y, w, h])`` of each ``i`` in ``range(num)`` present
    in ``index`` (an (H, W) integer map), in increasing ``i``."""
    areas = np.bincount(index.ravel(), minlength=num)
    boxes = ndimage.find_objects(index + 1, max_label=num)
    return [(i, int(areas[i]), [
        int(rows_cols[1].start), int(rows_cols[0].start),
        int(rows_cols[1].stop - rows_cols[1].start),
        int(rows_cols[0].stop - rows_cols[0].start)
    ]) for i, rows_cols in enumerate(boxes) if areas[i]]
