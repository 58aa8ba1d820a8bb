"""SMS segments: how many parts a text is billed and delivered as.

GSM-7 texts take 160 characters in one segment and 153 per segment when split;
anything outside GSM-7 (Chinese, most emoji) is sent as UCS-2: 70, then 67,
counted in UTF-16 code units.
"""

from __future__ import annotations

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")
GSM7 = frozenset(GSM7_BASIC | GSM7_EXTENDED)


def encoding(text: str) -> str:
    return "GSM-7" if GSM7.issuperset(text) else "UCS-2"


def segment_count(text: str) -> int:
    if encoding(text) == "GSM-7":
        # An extended character takes two units (an escape and itself).
        units = len(text) + sum(text.count(ch) for ch in GSM7_EXTENDED)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if units <= single:
        return 1
    return -(-units // multi)
