"""Convert official checkpoints into srkit safetensors (``srkit convert``); shared by every released family.

| module | one job |
| --- | --- |
| ``sources`` | read a pickle (``weights_only``, memory-mapped) or safetensors file; unwrap ``state_dict``/``module.`` |
| ``rules`` | ordered key-mapping rules, applied strictly (every key used or ignored, every target filled) |
| ``memory`` | the memory a conversion needs against what is free |
| ``writer`` | stream a safetensors file atomically, with srkit's ``model_id`` |
| ``api`` | :func:`convert_checkpoint`: the whole conversion |
"""
