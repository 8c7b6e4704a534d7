"""Files members and departments send, for the console's tests: a real Ogg Opus voice message
(as Telegram stores one: silence a browser can play) and a tiny PDF.

Each voice packet is Opus's 3-byte CELT silence frame (TOC 0xF8: fullband, 20 ms, mono), so no
encoder is needed; the pages carry Ogg's CRC, so any decoder accepts them.
"""

from __future__ import annotations

import struct

__all__ = ["PDF", "silent_voice"]

# The smallest file that starts as every PDF does ("%PDF-") and ends as one.
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

SAMPLES_PER_PACKET = 960  # 20 ms at 48 kHz
PRE_SKIP = 312
SILENCE = b"\xf8\xff\xfe"


def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        r = n << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else r << 1
        table.append(r & 0xFFFFFFFF)
    return table


_TABLE = _crc_table()


def _crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _TABLE[((crc >> 24) & 0xFF) ^ byte]
    return crc


def _page(packets: list[bytes], granule: int, sequence: int, flags: int) -> bytes:
    lacing = b"".join(bytes([255] * (len(p) // 255) + [len(p) % 255]) for p in packets)
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, 0x0D0A7000, sequence, 0,
                         len(lacing))
    page = header + lacing + b"".join(packets)
    return page[:22] + struct.pack("<I", _crc(page)) + page[26:]


def silent_voice(seconds: float = 2.0) -> bytes:
    """`seconds` of silence as an Ogg Opus file (what a Telegram voice message is)."""
    head = struct.pack("<8sBBHIhB", b"OpusHead", 1, 1, PRE_SKIP, 48000, 0, 0)
    vendor = b"doithoai-tests"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    count = int(seconds * 50)
    pages = [_page([head], 0, 0, 0x02), _page([tags], 0, 1, 0)]
    sequence, done = 2, 0
    while done < count:
        n = min(50, count - done)
        done += n
        flags = 0x04 if done == count else 0
        pages.append(_page([SILENCE] * n, PRE_SKIP + done * SAMPLES_PER_PACKET, sequence, flags))
        sequence += 1
    return b"".join(pages)
