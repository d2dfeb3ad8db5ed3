from .personlab_visualizer import (PersonLabVisualizer, draw_people,
                                   instance_palette, overlay_masks)

__all__ = [
    'PersonLabVisualizer', 'draw_people', 'instance_palette', 'overlay_masks'
]
