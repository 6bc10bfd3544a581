"""Built-in trained checkpoints (fp16 safetensors) and their model cards."""
