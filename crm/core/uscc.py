"""统一社会信用代码 (USCC) per GB 32100-2015: 18 characters, the last a check digit."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def normalize_uscc(code: str | None) -> str:
    """Strip spaces and full-width forms, upper-case."""
    if not code:
        return ""
    out = []
    for ch in code.strip():
        if "\uff01" <= ch <= "\uff5e":  # full-width ASCII → half-width
            ch = chr(ord(ch) - 0xFEE0)
        if not ch.isspace():
            out.append(ch.upper())
    return "".join(out)


def check_digit(first17: str) -> str:
    """The 18th character for the first 17 (which must be in the alphabet)."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def uscc_error(code: str):
    """Why `code` (already normalised) is not a valid USCC, or None when it is."""
    if len(code) != 18:
        return _l("A unified social credit code has 18 characters (this one has %(n)d).", n=len(code))
    bad = sorted({c for c in code if c not in ALPHABET})
    if bad:
        return _l("Characters not allowed in a unified social credit code: %(chars)s", chars=" ".join(bad))
    if check_digit(code[:17]) != code[17]:
        return _l("Check digit is wrong.")
    return None


def is_valid_uscc(code: str | None) -> bool:
    """Whether `code` is a valid USCC after normalisation."""
    return uscc_error(normalize_uscc(code)) is None
