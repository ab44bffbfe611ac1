"""Reading the filing form into a checked draft, and the same rules for the page to check
before queueing. Pure: no database, no framework."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from db.city_data import KM_PER_DEGREE_LAT, NEAREST_PADDING_KM, City, Question
from web.complaints.questions import field_name
from web.complaints.questions import messages as answer_messages
from web.forms import (
    MAX_LENGTH,
    OTHER_MAX,
    FormErrors,
    nul_message,
    text_errors,
    too_long_message,
)
from web.i18n import _
from web.photos.pipeline import empty_photo, photo_too_large
from web.photos.uploads import photo_refused, too_many_photos
from web.vocabulary import CLASSIFICATIONS, OLD_CODES, PRIVACY_LEVELS, PUBLIC, current_code

TITLE_MIN, TITLE_MAX = 5, MAX_LENGTH["title"]
DESCRIPTION_MIN, DESCRIPTION_MAX = 15, MAX_LENGTH["description"]
ADDRESS_MAX = MAX_LENGTH["address"]

FIELDS = (
    "classification",
    "category",
    "title",
    "description",
    "latitude",
    "longitude",
    "accuracy",
    "address",
    "kelurahan",
    "privacy",
    "client_key",
)


@dataclass(frozen=True)
class ComplaintDraft:
    client_key: uuid.UUID
    classification: str
    category_slug: str
    title: str
    description: str
    latitude: float | None
    longitude: float | None
    accuracy_m: float | None
    address: str
    kelurahan_code: str | None
    privacy: str


def _number(raw: str) -> float | None:
    raw = raw.strip().replace(",", ".")
    if not raw:
        return None
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(raw)
    return value


def messages(city: City) -> dict[str, str]:
    """Every message of ``parse_complaint_form``, in the current language: the server and the
    page's own check (``client_rules``) say the same words."""
    return {
        "incomplete_form": _("Formulir tidak lengkap. Muat ulang halaman lalu kirim lagi."),
        "classification": _("Pilih jenis laporan."),
        "category": _("Pilih kategori laporan."),
        "title_short": _("Judul terlalu pendek. Tulis minimal %(n)s huruf.", n=TITLE_MIN),
        "title_long": _("Judul terlalu panjang (paling banyak %(n)s huruf).", n=TITLE_MAX),
        "description_short": _(
            "Ceritakan masalahnya lebih jelas, minimal %(n)s huruf: apa, di mana, sejak kapan.",
            n=DESCRIPTION_MIN,
        ),
        "description_long": _(
            "Uraian terlalu panjang (paling banyak %(n)s huruf).", n=DESCRIPTION_MAX
        ),
        "location_invalid": _(
            "Koordinat lokasi tidak valid. Ambil ulang lokasi atau pilih kelurahan."
        ),
        "location_incomplete": _(
            "Koordinat lokasi tidak lengkap. Ambil ulang lokasi atau pilih kelurahan."
        ),
        "address_long": _("Alamat terlalu panjang (paling banyak %(n)s huruf).", n=ADDRESS_MAX),
        "kelurahan_unknown": _("Kelurahan tidak dikenal. Pilih dari daftar."),
        "kelurahan_missing": _("Aktifkan lokasi (GPS) atau pilih kelurahan tempat masalahnya."),
        "outside_city": _(
            "Lokasi ini berada di luar %(city)s. Pilih kelurahan tempat masalahnya.",
            city=city.name,
        ),
        "privacy": _("Pilih tingkat kerahasiaan laporan."),
    }


def client_rules(
    city: City,
    *,
    max_photos: int,
    photo_max_bytes: int,
    questions: Mapping[str, Sequence[Question]] | None = None,
) -> dict[str, Any]:
    """What the filing page checks on the phone before it queues a report (static/js/outbox.js):
    the limits and words of ``parse_complaint_form`` and the photo upload, from their one home.

    Only what a phone can know: the category still being offered and a photo being decodable
    are left to the server. ``{n}``/``{got}``/``{name}``/``{reason}``/``{question}`` are filled
    in by the page. ``questions``: slug -> the category's questions (web/complaints/questions.py);
    the page checks the required ones and numbers, the server everything.
    """
    return {
        "messages": {
            **messages(city),
            "nul": nul_message(),
            "too_long": too_long_message("{n}", "{got}"),
            "too_many_photos": too_many_photos(max_photos),
            "photo_refused": photo_refused("{n}", "{name}", "{reason}"),
            "photo_empty": empty_photo(),
            "photo_too_large": photo_too_large(photo_max_bytes),
            **answer_messages(),
        },
        "fields": list(FIELDS),
        "max_length": {name: MAX_LENGTH.get(name, OTHER_MAX) for name in FIELDS},
        "title": [TITLE_MIN, TITLE_MAX],
        "description": [DESCRIPTION_MIN, DESCRIPTION_MAX],
        "address_max": ADDRESS_MAX,
        "classifications": list(CLASSIFICATIONS),
        "privacy_levels": list(PRIVACY_LEVELS),
        "default_privacy": PUBLIC,
        "old_codes": dict(OLD_CODES),
        "kelurahan": [kel.code for kel in city.all_kelurahan()],
        # nearest_kelurahan's test: inside the box widened by NEAREST_PADDING_KM.
        "bbox": list(city.bbox),
        "pad_km": NEAREST_PADDING_KM,
        "km_per_degree": KM_PER_DEGREE_LAT,
        "max_photos": max_photos,
        "photo_max_bytes": photo_max_bytes,
        "questions": {
            slug: [
                {
                    "field": field_name(slug, q.code),
                    "question": q.description,
                    "datatype": q.datatype,
                    "required": q.required,
                }
                for q in asked
            ]
            for slug, asked in (questions or {}).items()
            if asked
        },
    }


def parse_complaint_form(values: dict[str, str], city: City) -> ComplaintDraft:
    """Check every field and report all problems at once, in the user's language."""
    # NUL bytes and over-long values first; the checks below give the common fields their own words.
    # The page checks the same before queueing (client_rules): a change here changes it there.
    errors = text_errors({name: values.get(name) or "" for name in FIELDS})
    get = lambda name: (values.get(name) or "").strip()  # noqa: E731
    says = messages(city)

    try:
        client_key = uuid.UUID(get("client_key"))
    except ValueError:
        client_key = None
        errors["__all__"] = says["incomplete_form"]

    # current_code: an outbox item queued before the codes were renamed still files as meant.
    classification = current_code(get("classification"))
    if classification not in CLASSIFICATIONS:
        errors["classification"] = says["classification"]
    category = get("category")
    if not category:
        errors["category"] = says["category"]

    title = " ".join(get("title").split())
    if len(title) < TITLE_MIN:
        errors["title"] = says["title_short"]
    elif len(title) > TITLE_MAX:
        errors["title"] = says["title_long"]
    description = get("description")
    if len(description) < DESCRIPTION_MIN:
        errors["description"] = says["description_short"]
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = says["description_long"]

    latitude = longitude = accuracy = None
    try:
        latitude, longitude, accuracy = (
            _number(get("latitude")),
            _number(get("longitude")),
            _number(get("accuracy")),
        )
    except ValueError:
        errors["location"] = says["location_invalid"]
    else:
        if (latitude is None) != (longitude is None):
            errors["location"] = says["location_incomplete"]
        elif (
            latitude is not None
            and longitude is not None
            and not (-90 <= latitude <= 90 and -180 <= longitude <= 180)
        ):
            errors["location"] = says["location_invalid"]
        elif accuracy is not None and accuracy < 0:
            accuracy = None
    if latitude is None:
        accuracy = None

    address = " ".join(get("address").split())
    if len(address) > ADDRESS_MAX:
        errors["address"] = says["address_long"]

    kelurahan_code = get("kelurahan") or None
    if kelurahan_code and city.kelurahan_by_code(kelurahan_code) is None:
        errors["kelurahan"] = says["kelurahan_unknown"]
    if not kelurahan_code and "location" not in errors:
        if latitude is None or longitude is None:
            errors["kelurahan"] = says["kelurahan_missing"]
        else:
            nearest = city.nearest_kelurahan(latitude, longitude)
            if nearest is None:
                errors["kelurahan"] = says["outside_city"]
            else:
                kelurahan_code = nearest.code

    privacy = current_code(get("privacy")) or PUBLIC
    if privacy not in PRIVACY_LEVELS:
        errors["privacy"] = says["privacy"]

    if errors:
        raise FormErrors(errors)
    assert client_key is not None
    return ComplaintDraft(
        client_key=client_key,
        classification=classification,
        category_slug=category,
        title=title,
        description=description,
        latitude=latitude,
        longitude=longitude,
        accuracy_m=accuracy,
        address=address,
        kelurahan_code=kelurahan_code,
        privacy=privacy,
    )
