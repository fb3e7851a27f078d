"""Uploads are limited by size and type, judged by content, and stored re-encoded."""

from __future__ import annotations

import io
import re
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from PIL import ExifTags, Image

from portal.audit.models import AuditEvent
from projects.images import rendition_name
from projects.models import ProposalPhoto, SpacePhoto
from projects.services import photo_store
from projects.validators import MAX_IMAGE_SIDE, validate_image_upload
from tests.builders import make_proposal, make_space

from .conftest import space_form_data


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def image_bytes(fmt: str = "PNG", size=(40, 30), mode="RGB", **save_options) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (200, 30, 30) if mode == "RGB" else None).save(buffer, format=fmt, **save_options)
    return buffer.getvalue()


def upload(content: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (10, 120, 200))
    exif = image.getexif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (56.0, 50.0, 17.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (60.0, 35.0, 50.0)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims huge dimensions (a decompression bomb's shape)."""
    data = bytearray(image_bytes("PNG", (1, 1), "L"))
    ihdr_start = 8 + 4  # signature, then the chunk length
    data[ihdr_start + 4 : ihdr_start + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr_start : ihdr_start + 4 + 13]))
    data[ihdr_start + 4 + 13 : ihdr_start + 4 + 17] = struct.pack(">I", crc)
    return bytes(data)


# --- The validator -----------------------------------------------------------------------


def test_png_named_jpg_is_accepted_and_reencoded_to_jpeg():
    file = upload(image_bytes("PNG"), "holiday.jpg")

    validate_image_upload(file)
    stored = photo_store(file=file)

    assert Image.open(io.BytesIO(stored.read())).format == "JPEG"
    assert stored.name == "photo.jpg"


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_jpeg_and_webp_are_accepted(fmt):
    stored = photo_store(file=upload(image_bytes(fmt), "x.webp"))
    assert Image.open(io.BytesIO(stored.read())).size == (40, 30)


def test_transparent_png_is_flattened_onto_white():
    stored = photo_store(file=upload(image_bytes("PNG", (8, 8), "RGBA"), "t.png", "image/png"))
    image = Image.open(io.BytesIO(stored.read()))
    assert image.mode == "RGB"
    assert all(channel > 240 for channel in image.getpixel((4, 4)))


@pytest.mark.parametrize(
    "content",
    [
        b"just some text, not a photo\n",
        b"<!doctype html><html><body><script>alert(1)</script></body></html>",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9"/></svg>',
        b"\xff\xd8\xff\xe0" + b"\x00" * 64,  # a JPEG signature and nothing behind it
    ],
    ids=["text", "html", "svg", "truncated-jpeg"],
)
def test_non_images_named_jpg_are_refused_with_a_clear_error(content):
    # The message is checked in English (the msgid); Russian is the default language.
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        validate_image_upload(upload(content, "photo.jpg", "image/jpeg"))

    assert refused.value.code == "invalid_image_format"
    assert "JPEG, PNG or WebP" in refused.value.messages[0]


def test_gif_is_refused_even_though_pillow_reads_it():
    with pytest.raises(ValidationError) as refused:
        validate_image_upload(upload(image_bytes("GIF", mode="L"), "anim.gif", "image/gif"))
    assert refused.value.code == "invalid_image_format"


def test_oversize_file_is_refused(settings):
    content = image_bytes("PNG", (200, 200))
    settings.MAX_UPLOAD_BYTES = len(content) - 1

    with pytest.raises(ValidationError) as refused:
        validate_image_upload(upload(content))

    assert refused.value.code == "file_too_large"
    settings.MAX_UPLOAD_BYTES = len(content)
    validate_image_upload(upload(content))  # exactly at the limit is fine


def test_too_many_pixels_are_refused_before_decoding():
    with pytest.raises(ValidationError) as refused:
        validate_image_upload(upload(png_claiming_size(60_000, 60_000), "bomb.png", "image/png"))
    assert refused.value.code == "image_too_large"

    with pytest.raises(ValidationError) as refused:
        validate_image_upload(upload(png_claiming_size(MAX_IMAGE_SIDE + 1, 10), "wide.png", "image/png"))
    assert refused.value.code == "image_too_large"


def test_exif_gps_is_stripped():
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture has GPS

    stored = photo_store(file=upload(original)).read()

    exif = Image.open(io.BytesIO(stored)).getexif()
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert ExifTags.Base.Make not in exif
    assert b"PhoneMaker" not in stored
    assert b"Exif" not in stored


def test_model_field_validator_refuses_html(town_a):
    photo = SpacePhoto(space=make_space(town_a), image=upload(b"<html><script>alert(1)</script>", "a.jpg"))
    with pytest.raises(ValidationError) as refused:
        photo.full_clean()
    assert "image" in refused.value.message_dict
    proposal_photo = ProposalPhoto(proposal=make_proposal(make_space(town_a, "Другой")), image=upload(b"text"))
    with pytest.raises(ValidationError) as refused:
        proposal_photo.full_clean()
    assert [error.code for error in refused.value.error_dict["image"]] == ["invalid_image_format"]


# --- Through the admin inline -----------------------------------------------------------------


def photo_inline_data(space, file) -> dict:
    return space_form_data(
        space,
        **{
            "photos-TOTAL_FORMS": "1",
            "photos-0-id": "",
            "photos-0-space": str(space.pk),
            "photos-0-caption": "Вид с улицы",
            "photos-0-image": file,
        },
    )


def test_admin_upload_is_stored_reencoded_under_a_random_name(client, official_a, town_a, media_root):
    space = make_space(town_a)
    client.force_login(official_a)

    response = client.post(
        reverse("admin:projects_space_change", args=[space.pk]),
        photo_inline_data(space, upload(jpeg_with_gps(), "ivanov-home-address.jpg")),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    photo = SpacePhoto.objects.get(space=space)
    assert "ivanov" not in photo.image.name
    assert re.fullmatch(r"photos/spacephoto/[0-9a-f]{32}\.jpg", str(photo.image.name))
    stored = (media_root / photo.image.name).read_bytes()
    assert Image.open(io.BytesIO(stored)).format == "JPEG"
    assert not Image.open(io.BytesIO(stored)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    event = AuditEvent.objects.get(action="create")
    assert event.after["image"] == photo.image.name
    assert event.municipality == town_a


@pytest.mark.parametrize(
    "content", [b"<html><script>alert(1)</script></html>", b"<svg xmlns='http://www.w3.org/2000/svg'/>"]
)
def test_admin_refuses_a_non_image_named_jpg_and_stores_nothing(client, official_a, town_a, media_root, content):
    space = make_space(town_a)
    client.force_login(official_a)

    response = client.post(
        reverse("admin:projects_space_change", args=[space.pk]), photo_inline_data(space, upload(content))
    )

    assert response.status_code == 200  # the form again, with the error
    assert "errorlist" in response.content.decode()
    assert not SpacePhoto.objects.exists()
    assert not AuditEvent.objects.exists()
    assert not media_root.exists() or not any(path.is_file() for path in media_root.rglob("*"))


def test_admin_refuses_an_oversize_photo(client, official_a, town_a, settings):
    space = make_space(town_a)
    client.force_login(official_a)
    client.cookies["django_language"] = "en"  # the error is checked in English (the msgid)
    content = image_bytes("PNG", (300, 300))
    settings.MAX_UPLOAD_BYTES = len(content) - 1

    response = client.post(
        reverse("admin:projects_space_change", args=[space.pk]), photo_inline_data(space, upload(content, "big.png"))
    )

    assert response.status_code == 200
    assert "The file is too large" in response.content.decode()
    assert not SpacePhoto.objects.exists()


def assert_renditions_stored(photo, media_root, widths: list[int]) -> None:
    """The photo records its WebP copies, and each is a WebP of that width in storage."""
    photo.refresh_from_db()
    assert [width for width, _height in photo.renditions] == widths
    for width, height in photo.renditions:
        copy = media_root / rendition_name(photo.image.name, width)
        assert copy.name.endswith(f"-{width}w.webp")
        with Image.open(copy) as opened:
            assert (opened.format, opened.size) == ("WEBP", (width, height))


def test_an_admin_inline_upload_gets_its_webp_copies_and_the_page_a_srcset(client, official_a, town_a, media_root):
    space = make_space(town_a)
    client.force_login(official_a)

    response = client.post(
        reverse("admin:projects_space_change", args=[space.pk]),
        photo_inline_data(space, upload(image_bytes("JPEG", size=(700, 400)))),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    photo = SpacePhoto.objects.get(space=space)
    assert_renditions_stored(photo, media_root, [320, 640, 700])
    assert (photo.width, photo.height) == (700, 400)
    page = client.get(reverse("projects:space_detail", args=[space.pk])).content.decode()
    assert f"{rendition_name(photo.image.url, 320)} 320w" in page
    assert f"{rendition_name(photo.image.url, 700)} 700w" in page


def test_an_image_replaced_in_the_admin_gets_new_copies(client, official_a, town_a, media_root):
    space = make_space(town_a)
    client.force_login(official_a)
    url = reverse("admin:projects_space_change", args=[space.pk])
    client.post(url, photo_inline_data(space, upload(image_bytes("JPEG", size=(700, 400)))))
    photo = SpacePhoto.objects.get(space=space)

    response = client.post(
        url,
        space_form_data(
            space,
            **{
                "photos-TOTAL_FORMS": "1",
                "photos-INITIAL_FORMS": "1",
                "photos-0-id": str(photo.pk),
                "photos-0-space": str(space.pk),
                "photos-0-caption": "Вид с улицы",
                "photos-0-image": upload(image_bytes("PNG", size=(500, 500)), "new.png", "image/png"),
            },
        ),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert_renditions_stored(photo, media_root, [320, 500])
