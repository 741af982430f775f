"""Tag colours: the palette the UI offers, and readable chip text on any of them."""

import re
from functools import lru_cache

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")

# Twelve mid-tone colours, each readable with white or near-black text (WCAG AA).
PALETTE = [
    ("#2563eb", "Blue"),
    ("#0891b2", "Cyan"),
    ("#0d9488", "Teal"),
    ("#16a34a", "Green"),
    ("#65a30d", "Lime"),
    ("#ca8a04", "Amber"),
    ("#ea580c", "Orange"),
    ("#dc2626", "Red"),
    ("#db2777", "Pink"),
    ("#9333ea", "Purple"),
    ("#4f46e5", "Indigo"),
    ("#475569", "Slate"),
]
DARK_TEXT = "#111827"
LIGHT_TEXT = "#ffffff"


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@lru_cache(maxsize=1024)
def text_color_for(background: str) -> str:
    """White or near-black, whichever contrasts more with `background`."""
    if not HEX_COLOR.match(background or ""):
        return DARK_TEXT
    return max((LIGHT_TEXT, DARK_TEXT), key=lambda text: contrast_ratio(background, text))


def palette_color_for(seed: int) -> str:
    """A palette colour for a new tag, cycling so neighbours differ."""
    return PALETTE[seed % len(PALETTE)][0]
