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


def encoding(text: str) -> str:
    return "GSM-7" if all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text) else "UCS-2"


def segment_count(text: str) -> int:
    if encoding(text) == "GSM-7":
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if units <= single:
        return 1
    return -(-units // multi)
