"""Checks shared by the chat codecs and the providers' encoders."""

from __future__ import annotations

import base64
import binascii

from gateway._errors import BadRequestError


def parse_data_url(url: str, where: str = "image_url") -> tuple[str, str]:
    """Split ``data:<media type>;base64,<data>`` into ``(media_type, base64 data)``.

    The base64 text is checked (a provider would reject it after we paid for the upload) but
    returned as sent, so nothing is decoded and re-encoded on the hot path.
    """
    header, sep, data = url.partition(",")
    if not sep or not header.startswith("data:"):
        raise BadRequestError(f"{where} is not a data URL: expected 'data:<media type>;base64,<data>'", param=where)
    meta = header[5:].split(";")
    media_type = meta[0].strip().lower()
    if "base64" not in (m.strip().lower() for m in meta[1:]):
        raise BadRequestError(
            f"{where} must be base64-encoded: 'data:{media_type or 'image/png'};base64,<data>'", param=where
        )
    if not media_type:
        raise BadRequestError(f"{where} has no media type: 'data:image/png;base64,<data>'", param=where)
    data = data.strip()
    try:
        base64.b64decode(data[:4096].ljust(((min(len(data), 4096) + 3) // 4) * 4, "="), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequestError(f"{where} does not contain valid base64 data", param=where) from None
    if not data:
        raise BadRequestError(f"{where} contains no data", param=where)
    return media_type, data
