"""Cost: the engine (model, backend and mapping to packed arrays), the binding to the native
kernel and its numpy reference, alpha-beta collectives, the totals-only fast path and the
one-scenario scalar path.

Modules: :mod:`.engine`, :mod:`.kernel`, :mod:`.collectives`, :mod:`.fastpath`, :mod:`.scalar`.
Nothing is imported here.
"""
