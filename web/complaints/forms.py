"""Reading the filing form into a checked draft. Pure: no database, no framework."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from db.city_data import City
from web.forms import MAX_LENGTH, FormErrors, text_errors
from web.i18n import _
from web.vocabulary import CLASSIFICATIONS, PRIVACY_LEVELS, PUBLIC, current_code

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


def parse_complaint_form(values: dict[str, str], city: City) -> ComplaintDraft:
    """Check every field and report all problems at once, in the user's language."""
    # NUL bytes and over-long values first; the checks below give the common fields their own words.
    errors = text_errors({name: values.get(name) or "" for name in FIELDS})
    get = lambda name: (values.get(name) or "").strip()  # noqa: E731

    try:
        client_key = uuid.UUID(get("client_key"))
    except ValueError:
        client_key = None
        errors["__all__"] = _("Formulir tidak lengkap. Muat ulang halaman lalu kirim lagi.")

    # current_code: an outbox item queued before the codes were renamed still files as meant.
    classification = current_code(get("classification"))
    if classification not in CLASSIFICATIONS:
        errors["classification"] = _("Pilih jenis laporan.")
    category = get("category")
    if not category:
        errors["category"] = _("Pilih kategori laporan.")

    title = " ".join(get("title").split())
    if len(title) < TITLE_MIN:
        errors["title"] = _("Judul terlalu pendek. Tulis minimal %(n)s huruf.", n=TITLE_MIN)
    elif len(title) > TITLE_MAX:
        errors["title"] = _("Judul terlalu panjang (paling banyak %(n)s huruf).", n=TITLE_MAX)
    description = get("description")
    if len(description) < DESCRIPTION_MIN:
        errors["description"] = _(
            "Ceritakan masalahnya lebih jelas, minimal %(n)s huruf: apa, di mana, sejak kapan.",
            n=DESCRIPTION_MIN,
        )
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = _(
            "Uraian terlalu panjang (paling banyak %(n)s huruf).", n=DESCRIPTION_MAX
        )

    latitude = longitude = accuracy = None
    try:
        latitude, longitude, accuracy = (
            _number(get("latitude")),
            _number(get("longitude")),
            _number(get("accuracy")),
        )
    except ValueError:
        errors["location"] = _(
            "Koordinat lokasi tidak valid. Ambil ulang lokasi atau pilih kelurahan."
        )
    else:
        if (latitude is None) != (longitude is None):
            errors["location"] = _(
                "Koordinat lokasi tidak lengkap. Ambil ulang lokasi atau pilih kelurahan."
            )
        elif (
            latitude is not None
            and longitude is not None
            and not (-90 <= latitude <= 90 and -180 <= longitude <= 180)
        ):
            errors["location"] = _(
                "Koordinat lokasi tidak valid. Ambil ulang lokasi atau pilih kelurahan."
            )
        elif accuracy is not None and accuracy < 0:
            accuracy = None
    if latitude is None:
        accuracy = None

    address = " ".join(get("address").split())
    if len(address) > ADDRESS_MAX:
        errors["address"] = _("Alamat terlalu panjang (paling banyak %(n)s huruf).", n=ADDRESS_MAX)

    kelurahan_code = get("kelurahan") or None
    if kelurahan_code and city.kelurahan_by_code(kelurahan_code) is None:
        errors["kelurahan"] = _("Kelurahan tidak dikenal. Pilih dari daftar.")
    if not kelurahan_code and "location" not in errors:
        if latitude is None or longitude is None:
            errors["kelurahan"] = _("Aktifkan lokasi (GPS) atau pilih kelurahan tempat masalahnya.")
        else:
            nearest = city.nearest_kelurahan(latitude, longitude)
            if nearest is None:
                errors["kelurahan"] = _(
                    "Lokasi ini berada di luar %(city)s. Pilih kelurahan tempat masalahnya.",
                    city=city.name,
                )
            else:
                kelurahan_code = nearest.code

    privacy = current_code(get("privacy")) or PUBLIC
    if privacy not in PRIVACY_LEVELS:
        errors["privacy"] = _("Pilih tingkat kerahasiaan laporan.")

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
