"""Built-in degradation presets (YAML data, loaded by :func:`srkit.degrade.load_preset`)."""
