"""Built-in hardware packs. Each registers through the ``tokenfab`` entry-point group
(see pyproject.toml), exactly like a third-party pack installed with pip."""
