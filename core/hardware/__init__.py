"""Hardware: the backend protocol, the pack registry and its hookspecs, declarative (TOML) packs,
entry-point discovery, the guard around every call into a pack, and the conformance kit.

Modules: :mod:`.protocol`, :mod:`.registry`, :mod:`.hookspecs`, :mod:`.declarative`,
:mod:`.discovery`, :mod:`.guard`, :mod:`.sources`, :mod:`.conformance` (the pytest plugin that
runs the kit is :mod:`tokenfab.testing.plugin`). Nothing is imported here: ``import
tokenfab.hardware.protocol`` costs only that module and what it needs.
"""
