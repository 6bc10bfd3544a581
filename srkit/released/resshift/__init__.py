"""ResShift (Yue et al. 2023; ``zsyOAOA/ResShift``): the official checkpoints, converted and run exactly.

| module | one job |
| --- | --- |
| ``swin`` | Swin layers as the official code computes them (GroupNorm, 1x1 convs, its shift mask) |
| ``unet`` | the Swin-UNet (``UNetModelSwin``) with the official module names |
| ``vq`` | VQGAN-f4 on ``diffusers.VQModel``, the nearest-code quantiser, its key rules |
| ``convert`` | official state dicts -> srkit tensors, sizes read from shapes |
| ``sampling`` | the official schedule arrays and chain, on srkit's ResShift process |
| ``pipeline`` | pad, upsample, encode, sample, decode: ``super_resolve`` |
| ``family`` | the four ``--from resshift-*`` families |
"""
