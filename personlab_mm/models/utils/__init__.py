from .refine import refine_long_offsets, refine_mid_offsets, sample_fields

__all__ = ['sample_fields', 'refine_mid_offsets', 'refine_long_offsets']
