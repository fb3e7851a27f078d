"""Uploaded photos are checked by their content, never by their name or content type.

An upload must be at most settings.MAX_UPLOAD_BYTES, must open and verify with Pillow
as a JPEG, PNG or WebP image, and must be at most MAX_IMAGE_SIDE pixels on each side.
The dimensions are read from the header before any pixel is decoded, so a tiny file
that expands to gigabytes (a "decompression bomb") is refused without being loaded.
"""

from __future__ import annotations

import re
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

ALLOWED_IMAGE_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
MAX_IMAGE_SIDE = 8000


def open_checked_image(file) -> Image.Image:
    """Open `file` with Pillow after the size, format and dimension checks; raise ValidationError."""
    size = getattr(file, "size", None)
    if size is None or size > settings.MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("The file is too large: at most %(limit)s.") % {"limit": filesizeformat(settings.MAX_UPLOAD_BYTES)},
            code="file_too_large",
        )
    too_large = ValidationError(
        _("The image is too large: at most %(side)s × %(side)s pixels.") % {"side": MAX_IMAGE_SIDE},
        code="image_too_large",
    )
    not_an_image = ValidationError(
        _("This file is not a JPEG, PNG or WebP image. Upload a photo in one of these formats."),
        code="invalid_image_format",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            file.seek(0)
            image = Image.open(file, formats=sorted(ALLOWED_IMAGE_FORMATS))
            width, height = image.size
            if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
                raise too_large
            image.verify()  # checks the structure (and PNG checksums) without decoding everything
            # verify() leaves the image unusable; open it again for whoever reads it next.
            file.seek(0)
            image = Image.open(file, formats=sorted(ALLOWED_IMAGE_FORMATS))
            image.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_large from exc
    except UnidentifiedImageError as exc:
        raise not_an_image from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # truncated or corrupt data
        raise not_an_image from exc
    finally:
        file.seek(0)
    if image.format not in ALLOWED_IMAGE_FORMATS:
        raise not_an_image
    return image


def validate_image_upload(file) -> None:
    """Model and form validator for photo uploads."""
    if getattr(file, "_committed", False):
        return  # already stored, so already checked and re-encoded when it was uploaded
    open_checked_image(file)


# --- Websites allowed to frame a municipality's widget ---------------------------------
# An origin as browsers compare it: http or https, a host name (letters, digits and
# hyphens between dots, as IDNA gives them) or an IPv4 address, an optional port; no
# user, path, query, wildcard or quote, so it can go into a CSP source list as it is.
WEB_ORIGIN_REGEX = r"^https?://[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]{1,5})?$"
_WEB_ORIGIN = re.compile(WEB_ORIGIN_REGEX)


def web_origin_normalize(value: str) -> str:
    """ "HTTPS://Сайт-Города.рф/" -> "https://xn--...-xn--p1ai": lower case, the host in
    IDNA, a trailing slash dropped. Anything else is left for the validator to refuse."""
    text = (value or "").strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    rest = rest[:-1] if rest.endswith("/") else rest
    host, colon, port = rest.partition(":")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return text
    return f"{scheme.lower()}://{host.lower()}{colon}{port}"


def validate_web_origin(value: str) -> None:
    if not _WEB_ORIGIN.match(value or ""):
        raise ValidationError(
            _(
                "Enter the site's address only, with http:// or https:// and without a path: "
                "https://www.example-city.ru"
            ),
            code="invalid_origin",
        )
    port = value.rpartition(":")[2]
    if value.count(":") == 2 and not 1 <= int(port) <= 65535:
        raise ValidationError(_("The port must be between 1 and 65535."), code="invalid_origin_port")
