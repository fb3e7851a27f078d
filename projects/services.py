"""Writes of the projects app: every change to places, proposals and photos goes through here."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from PIL import Image, ImageOps

from projects.validators import open_checked_image

# --- Photos (uploads) ---------------------------------------------------------------
# Uploaded photos are never stored as sent: they are validated by content and
# re-encoded to a fresh JPEG, which drops EXIF metadata (GPS position, camera serial),
# any trailing payload and anything a browser might sniff as HTML or script.

PHOTO_MAX_SIDE = 4096  # stored photos are at most this wide or tall
PHOTO_JPEG_QUALITY = 85


def photo_store(*, file) -> ContentFile:
    """Validate an uploaded photo and return it re-encoded as a metadata-free JPEG.

    Raises django.core.exceptions.ValidationError for anything that is not a JPEG, PNG
    or WebP image within the size limits. The returned file's name is neutral; the
    models' upload_to gives it a random one when it is saved.
    """
    image = open_checked_image(file)
    image = ImageOps.exif_transpose(image)  # keep the photo upright once EXIF is gone
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    buffer = io.BytesIO()
    # No exif=, icc_profile= or comment=: the new file carries pixels only.
    image.save(buffer, format="JPEG", quality=PHOTO_JPEG_QUALITY, optimize=True)
    return ContentFile(buffer.getvalue(), name="photo.jpg")


# --- end of photos ------------------------------------------------------------------
