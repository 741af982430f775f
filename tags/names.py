"""What a tag name may contain, and the key under which two names are the same tag.

Imports split a cell of tags on "," and ";" (transfers.services.TAG_SPLIT) and the
exports join names with "; " (core.csv uses U+001F inside the query), so a name holding
one of them would come back as two tags. Invisible characters (controls, zero-width and
direction marks) make names that look alike but differ. Both are refused where a name is
entered; `name_key` then folds what is left, so "Ｖｉｐ", "vip" and "VIP" are one tag.
"""

import unicodedata

# The characters the import splits a tags cell on (and the export joins names with).
SEPARATORS = {",": "comma", ";": "semicolon"}
# Controls, format characters (zero-width, bidi controls, soft hyphen, BOM), line and
# paragraph separators, and lone surrogates.
INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}
CONTROL_NAMES = {"\t": "tab", "\n": "line break", "\r": "carriage return", "\x1f": "unit separator"}


def describe(char: str) -> str:
    """A character as a person can find it: U+200B ZERO WIDTH SPACE."""
    name = CONTROL_NAMES.get(char) or unicodedata.name(char, "control character")
    return f"U+{ord(char):04X} {name.upper()}"


ZWJ = "\u200d"
EMOJI_PRESENTATION = "\ufe0f"


def _joins_emoji(name: str, at: int) -> bool:
    """A zero-width joiner inside an emoji sequence (👩‍👩‍👧, 🏳️‍🌈) is part of the emoji."""

    def emoji(char: str) -> bool:
        return char == EMOJI_PRESENTATION or unicodedata.category(char) in ("So", "Sk")

    return 0 < at < len(name) - 1 and emoji(name[at - 1]) and emoji(name[at + 1])


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a tag's name (the first offending character), or None."""
    for at, char in enumerate(name):
        if char == ZWJ and _joins_emoji(name, at):
            continue
        if char in SEPARATORS:
            return (
                f"Tag names cannot contain “{char}” ({SEPARATORS[char]}): imports and exports "
                "use it to separate tags. Use another character, such as “-”."
            )
        if unicodedata.category(char) in INVISIBLE_CATEGORIES:
            return (
                f"Tag names cannot contain {describe(char)}, an invisible or control "
                "character; remove it."
            )
    return None


def normal_name(name: str) -> str:
    """The name as stored: trimmed, in NFKC (fullwidth and compatibility forms made plain)."""
    return unicodedata.normalize("NFKC", name).strip()


def name_key(name: str) -> str:
    """The key under which names are the same tag (Tag.name_key, unique).

    NFKC, without invisible characters, case-folded (ß = ss), every dash a hyphen-minus
    (U+2010 HYPHEN looks like "-"), and a dotted capital I folded like a plain one.
    """
    text = unicodedata.normalize("NFKC", name)
    text = "".join(c for c in text if unicodedata.category(c) not in INVISIBLE_CATEGORIES)
    text = unicodedata.normalize("NFKC", text.casefold()).replace("i\u0307", "i")
    text = "".join("-" if unicodedata.category(c) == "Pd" else c for c in text)
    return " ".join(text.split())
