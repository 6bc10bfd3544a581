"""srkit.io: image read/write (atomic), input discovery, safetensors checkpoints.

Names are exported lazily so ``import srkit.io`` stays cheap: discovery needs
neither OpenCV nor torch, images need OpenCV, checkpoints need torch.
"""

from __future__ import annotations

from srkit._lazy import lazy_getattr

_EXPORTS = {
    "Image": "images",
    "image_from_array": "images",
    "read_image": "images",
    "write_image": "images",
    "InputItem": "discovery",
    "find_images": "discovery",
    "output_path_for": "discovery",
    "output_paths": "discovery",
    "should_skip": "discovery",
    "SUPPORTED_EXTENSIONS": "formats",
    "CheckpointMeta": "checkpoints",
    "model_id": "checkpoints",
    "save_checkpoint": "checkpoints",
    "load_checkpoint": "checkpoints",
    "load_state_into": "checkpoints",
    "load_weights": "checkpoints",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr('srkit.io', _EXPORTS)
