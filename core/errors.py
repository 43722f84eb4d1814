"""Errors raised by tokenfab. Every message names the object, the field, the value and what was expected."""

from __future__ import annotations


class TokenfabError(Exception):
    """Base class: bad input that the user can fix. The CLI turns it into exit code 2."""


class ValidationError(TokenfabError, ValueError):
    """A field has a value outside its allowed range."""


class UnknownIdError(TokenfabError, KeyError):
    """An id (backend, model, precision) that nothing provides."""

    def __init__(self, kind: str, value: str, known: list[str]):
        import difflib

        self.kind, self.value, self.known = kind, value, list(known)
        close = difflib.get_close_matches(value, self.known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listing = ", ".join(sorted(self.known)[:12]) + (", ..." if len(self.known) > 12 else "")
        super().__init__(f"unknown {kind} {value!r}{hint} (known: {listing})")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class FitError(TokenfabError):
    """The model, its KV cache and activations do not fit in the devices' memory."""


class UnsupportedPrecisionError(ValidationError):
    """A device has no peak rate for the requested precision."""


class KernelError(RuntimeError):
    """The native kernel rejected its inputs: a bug in the engine, not user input."""
