"""What decoding can reach: the outputs a perfect network would give, for
upper bounds and benchmarks."""
from .perfect_outputs import encoded_to_maps, perfect_maps

__all__ = ['encoded_to_maps', 'perfect_maps']
