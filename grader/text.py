"""Untrusted text made safe to show: the one escaping every output sink shares.

File and folder names, student names, layer names from a model's config and a child's output
are written by whoever submitted them. Printed raw, a control character drives the reader's
terminal (``ESC ] 52`` writes the clipboard, ``ESC [ 2J`` clears the screen), a bidi override
reorders what is read, and a character XML 1.0 forbids makes junit.xml unreadable.
:func:`visible` writes each such character as its Python escape (``\\x1b``, ``\\u202e``), so
the text stays recognisable and shows what it holds. Each sink adds its own quoting on top:
rich markup in :mod:`grader.report`, XML by ElementTree, JSON by :mod:`json`.
"""

from __future__ import annotations

import unicodedata

_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Controls, format characters (bidi, zero-width), lone surrogates, line/paragraph separators."""
_JOINERS = frozenset("\u200c\u200d")
"""Zero-width (non-)joiners spell Persian, Indic and emoji names; they drive nothing."""


def visible(text: str, *, keep: str = "") -> str:
    """``text`` with every control, format, bidi, surrogate and non-character written as its
    escape (``\\x1b``, ``\\u202e``, ``\\ufffe``); characters in ``keep`` (e.g. ``"\\n"`` for a
    message of several lines) stay as they are.

    The result is always XML 1.0 character data when ``keep`` holds only ``\\t\\n\\r``.
    """
    if text.isprintable():  # the common case, at C speed (non-characters are not printable)
        return text
    return "".join(ch if ch in keep or not _hidden(ch) else _escape(ch) for ch in text)


def _hidden(ch: str) -> bool:
    if ch in _JOINERS:
        return False
    return unicodedata.category(ch) in _HIDDEN or _noncharacter(ord(ch))


def _noncharacter(code: int) -> bool:
    """U+FDD0..U+FDEF and the last two code points of every plane (XML forbids U+FFFE/FFFF)."""
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
