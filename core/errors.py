"""Errors raised by tokenfab. Every message names the object, the field, the value and what was expected.

Every error a user can cause is a :class:`TokenfabError`; each carries a stable ``field``
attribute (``"batch"``, ``"backend"``, ``"model.num_attention_heads"``, ``"memory"`` ...) that
scripts may test instead of parsing the message. The CLI prints ``tokenfab: error: <message>``
on one line and exits 2.
"""

from __future__ import annotations

import re

# "batch: must be ..." / "input_tokens + output_tokens: ..." / "Device 'x': year must be ..." /
# "model config 'x': missing required key 'k'". Pattern texts: the re module compiles (and caches)
# them on the first error, not at import.
_CONFIG_FIELD = r"^model config '[^']*': (?:missing required key '(\w+)'|(\w+) must)"
_LEADING_FIELD = r"^([a-z_][\w.\[\]'-]*(?: \+ [a-z_][\w.]*)*)\s*:"
_OWNED_FIELD = r"^[A-Z]\w*(?: '[^']*')?:\s*([a-z_][\w.\[\]'\"]*)"


def _field_from(message: str) -> str:
    """The field a message is about, read from its conventional start (``field: ...``)."""
    match = re.match(_CONFIG_FIELD, message)
    if match:
        return f"model.{match.group(1) or match.group(2)}"
    if message.startswith("model config"):
        return "model"
    for pattern in (_LEADING_FIELD, _OWNED_FIELD):
        match = re.match(pattern, message)
        if match:
            return match.group(1)
    return "input"


class TokenfabError(Exception):
    """Base class: bad input that the user can fix. The CLI turns it into exit code 2.

    ``field`` names what was wrong (stable across releases); it defaults to the word before
    the first colon of the message (``"batch: must be an integer >= 1, got -2"`` -> ``"batch"``).
    """

    def __init__(self, message: str = "", *, field: str | None = None):
        super().__init__(message)
        self.field = field or _field_from(str(message))


class ValidationError(TokenfabError, ValueError):
    """A field has a value outside its allowed range."""


class UnknownIdError(TokenfabError, KeyError):
    """An id (backend, model, precision) that nothing provides."""

    def __init__(self, kind: str, value: str, known: list[str]):
        self.kind, self.value, self.known = kind, value, list(known)
        import difflib  # only an unknown id needs it (start-up)

        close = difflib.get_close_matches(str(value), self.known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listing = ", ".join(sorted(self.known)[:12]) + (", ..." if len(self.known) > 12 else "")
        super().__init__(f"unknown {kind} {value!r}{hint} (known: {listing})", field=kind)

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class FitError(TokenfabError):
    """The model, its KV cache and activations do not fit in the devices' memory."""

    def __init__(self, message: str = "", *, field: str | None = "memory"):
        super().__init__(message, field=field)


class UnsupportedPrecisionError(ValidationError):
    """A device has no peak rate for the requested precision."""

    def __init__(self, message: str = "", *, field: str | None = "precision"):
        super().__init__(message, field=field)


class NonFiniteError(TokenfabError):
    """A result came out infinite or NaN (inputs beyond what float64 maths represents);
    tokenfab never returns or prints such a value."""


class PackError(TokenfabError):
    """A hardware pack misbehaved (raised, hung, returned garbage, claimed another pack's id).
    Recorded in ``Registry.problems`` and skipped; raised only where a caller asks for it."""


class KernelError(RuntimeError):
    """The native kernel rejected its inputs: a bug in the engine, not user input."""
