"""A city's reference data (territory, OPDs, categories, SLA), read from ``db/cities/<slug>.toml``.

Everything that differs between cities lives in the data file; code asks the loaded ``City``.
Files are validated strictly on load, so a typo fails at start-up with the file and entry named,
not later as a wrong disposition.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CITIES_DIR = Path(__file__).parent / "cities"

NIK_PREFIX_POLICIES = frozenset({"strict", "lenient"})
OPD_KINDS = frozenset({"dinas", "badan", "satpol", "kecamatan", "kelurahan", "bumd", "sekretariat"})

# Past the bbox edge a GPS fix still counts as "in the city": centroids and the box are rough,
# and phone fixes near the border wobble by hundreds of metres.
NEAREST_PADDING_KM = 2.0
EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LAT = 111.32

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CITY_CODE = re.compile(r"\d{2}\.\d{2}")
_TICKET_PREFIX = re.compile(r"[A-Z]{2,5}")
_CITY_KEYS = frozenset(
    [
        "slug",
        "name",
        "province",
        "code",
        "ticket_prefix",
        "nik_prefix_policy",
        "timezone",
        "center",
        "bbox",
        "default_sla_hours",
    ]
)


class CityDataError(ValueError):
    """A city data file is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class Kelurahan:
    code: str
    name: str
    lat: float
    lng: float


@dataclass(frozen=True)
class Kecamatan:
    code: str
    name: str
    official_name: str
    """Kemendagri spelling; the same as ``name`` unless the file says otherwise."""
    kelurahan: tuple[Kelurahan, ...]


@dataclass(frozen=True)
class Opd:
    slug: str
    name: str
    short_name: str
    kind: str


# A category's own questions (Open311's service attributes), asked when a ticket of it is filed.
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
LIST_DATATYPES = ("singlevaluelist", "multivaluelist")
# The city file and the admin page (web/admin/questions.py) hold questions to the same limits:
# every question is asked on a phone, and every choice is a radio button or a checkbox there.
MAX_QUESTIONS = 20
MAX_VALUES = 50
MAX_CODE_LENGTH = 40
MAX_DESCRIPTION_LENGTH = 200
MAX_VALUE_NAME_LENGTH = 100
_QUESTION_CODE = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")


def is_question_code(code: str) -> bool:
    """A question's code or a choice's key: lowercase letters and digits, single '-' or '_' between
    them. It goes into form field names, Open311 attribute codes and stored answers."""
    return len(code) <= MAX_CODE_LENGTH and _QUESTION_CODE.fullmatch(code) is not None


@dataclass(frozen=True)
class Question:
    code: str
    datatype: str
    required: bool
    order: int
    description: str
    values: tuple[tuple[str, str], ...] = ()
    """(key, name) choices of a list question; empty for the others."""

    def as_dict(self) -> dict:
        """The stored (JSON) form, in ``category.questions``."""
        return {
            "code": self.code,
            "datatype": self.datatype,
            "required": self.required,
            "order": self.order,
            "description": self.description,
            "values": [{"key": k, "name": n} for k, n in self.values],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Question:
        """Back from the stored form (trusted: written by ``as_dict``)."""
        return cls(
            code=data["code"],
            datatype=data["datatype"],
            required=bool(data.get("required", False)),
            order=int(data.get("order", 0)),
            description=data["description"],
            values=tuple((v["key"], v["name"]) for v in data.get("values", [])),
        )


def questions_from_json(text: str | None) -> tuple[Question, ...]:
    """A category's stored questions (``category.questions``), in asking order."""
    items = json.loads(text or "[]")
    return tuple(sorted((Question.from_dict(item) for item in items), key=lambda q: q.order))


@dataclass(frozen=True)
class Category:
    slug: str
    name: str
    name_en: str
    default_opd: str
    sla_hours: int
    icon: str | None
    questions: tuple[Question, ...] = ()


@dataclass(frozen=True)
class City:
    slug: str
    name: str
    province: str
    code: str
    ticket_prefix: str
    nik_prefix_policy: str
    timezone: str
    center: tuple[float, float]
    """(lat, lng)"""
    bbox: tuple[float, float, float, float]
    """(south, west, north, east)"""
    default_sla_hours: int
    contact: tuple[str, ...]
    kecamatan: tuple[Kecamatan, ...]
    opds: tuple[Opd, ...]
    categories: tuple[Category, ...]

    @property
    def nik_prefix(self) -> str:
        """The first four NIK digits of a KTP first issued here: ``36.72`` gives ``3672``."""
        return self.code.replace(".", "")

    def all_kelurahan(self) -> list[Kelurahan]:
        return [kel for kec in self.kecamatan for kel in kec.kelurahan]

    def kelurahan_by_code(self, code: str) -> Kelurahan | None:
        return next((kel for kel in self.all_kelurahan() if kel.code == code), None)

    def nearest_kelurahan(self, lat: float, lng: float) -> Kelurahan | None:
        """Kelurahan whose centroid is closest, or None when the point is clearly outside the city.

        Only a suggestion for the citizen to confirm: centroids are approximate.
        """
        if not _in_box(self.bbox, lat, lng, pad_km=NEAREST_PADDING_KM):
            return None
        return min(
            self.all_kelurahan(),
            key=lambda kel: haversine_km(lat, lng, kel.lat, kel.lng),
            default=None,
        )


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lng2 - lng1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


BBox = tuple[float, float, float, float]


def _in_box(bbox: BBox, lat: float, lng: float, *, pad_km: float) -> bool:
    south, west, north, east = bbox
    pad_lat = pad_km / KM_PER_DEGREE_LAT
    pad_lng = pad_km / (KM_PER_DEGREE_LAT * math.cos(math.radians((south + north) / 2)))
    # Written so that NaN compares false and falls outside.
    return (south - pad_lat <= lat <= north + pad_lat) and (west - pad_lng <= lng <= east + pad_lng)


def available_cities(directory: Path = CITIES_DIR) -> list[str]:
    """Slugs of the city files in ``directory``, sorted."""
    if not directory.is_dir():
        return []
    return sorted(path.stem for path in directory.glob("*.toml"))


def load_city(slug: str, *, directory: Path = CITIES_DIR) -> City:
    """Read and validate ``<directory>/<slug>.toml``; raise CityDataError naming file and entry."""
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
        # The slug comes from configuration: keep it from naming a path outside the folder.
        raise CityDataError(f"invalid city slug {slug!r}: use lowercase letters, digits and '-'")
    path = directory / f"{slug}.toml"
    if not path.is_file():
        known = ", ".join(available_cities(directory)) or "none"
        raise CityDataError(f"no city data file {path} (available: {known})")
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise CityDataError(f"{path.name}: not valid TOML: {exc}") from exc
    city = _Parser(path.name).city(raw)
    if city.slug != slug:
        raise CityDataError(
            f"{path.name}: [city]: slug is {city.slug!r}; it must match the file name"
        )
    return city


class _Parser:
    """Turns the TOML dict into a City, checking each rule; errors read ``file: entry: problem``."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def fail(self, where: str, problem: str) -> CityDataError:
        return CityDataError(f"{self.filename}: {where}: {problem}")

    # --- field readers ------------------------------------------------------------------------

    def table(
        self,
        data: Any,
        where: str,
        required: AbstractSet[str],
        optional: AbstractSet[str] = frozenset(),
    ) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(where, "must be a table")
        missing = sorted(required - data.keys())
        if missing:
            raise self.fail(where, f"missing key(s) {', '.join(missing)}")
        unknown = sorted(data.keys() - required - optional)
        if unknown:
            # Strict on purpose: a misspelt optional key (say "sla_hour") would otherwise vanish.
            raise self.fail(where, f"unknown key(s) {', '.join(unknown)}")
        return data

    def text(self, data: dict, key: str, where: str) -> str:
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"{key} must be a non-empty string")
        return value.strip()

    def number(self, value: Any, where: str, what: str) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.fail(where, f"{what} must be a number, got {value!r}")
        return float(value)

    def positive_int(self, value: Any, where: str, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(where, f"{what} must be a positive whole number of hours: {value!r}")
        return value

    def slug(self, data: dict, where: str) -> str:
        value = self.text(data, "slug", where)
        if not _SLUG.fullmatch(value):
            raise self.fail(where, f"slug {value!r} must be lowercase letters, digits and '-'")
        return value

    def array_of_tables(self, raw: dict, key: str, where: str) -> list:
        items = raw.get(key)
        if not isinstance(items, list) or not items:
            raise self.fail(where, f"needs at least one [[{key}]] entry")
        return items

    # --- sections -------------------------------------------------------------------------------

    def city(self, raw: dict) -> City:
        self.table(raw, "file", {"city", "kecamatan", "opd", "category"})
        where = "[city]"
        data = self.table(
            raw["city"],
            where,
            _CITY_KEYS,
            {"contact"},
        )
        slug = self.slug(data, where)
        code = self.text(data, "code", where)
        if not _CITY_CODE.fullmatch(code):
            raise self.fail(where, f"code {code!r} must be a Kemendagri city code like '12.34'")
        prefix = self.text(data, "ticket_prefix", where)
        if not _TICKET_PREFIX.fullmatch(prefix):
            raise self.fail(where, f"ticket_prefix {prefix!r} must be 2-5 uppercase letters A-Z")
        policy = self.text(data, "nik_prefix_policy", where)
        if policy not in NIK_PREFIX_POLICIES:
            raise self.fail(
                where, f"nik_prefix_policy {policy!r} must be one of {sorted(NIK_PREFIX_POLICIES)}"
            )
        timezone = self.text(data, "timezone", where)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise self.fail(where, f"unknown timezone {timezone!r}") from exc
        bbox = self.bbox(data["bbox"], where)
        center = self.point(data["center"], where, "center")
        if not _in_box(bbox, *center, pad_km=0.0):
            raise self.fail(where, f"center {list(center)} is outside bbox {list(bbox)}")
        contact = data.get("contact", [])
        if not isinstance(contact, list) or not all(isinstance(c, str) and c for c in contact):
            raise self.fail(where, "contact must be a list of non-empty strings")

        kecamatan = self.all_kecamatan(raw, code, bbox)
        opds = self.all_opds(raw)
        default_sla = self.positive_int(data["default_sla_hours"], where, "default_sla_hours")
        categories = self.all_categories(raw, {opd.slug for opd in opds}, default_sla)
        return City(
            slug=slug,
            name=self.text(data, "name", where),
            province=self.text(data, "province", where),
            code=code,
            ticket_prefix=prefix,
            nik_prefix_policy=policy,
            timezone=timezone,
            center=center,
            bbox=bbox,
            default_sla_hours=default_sla,
            contact=tuple(contact),
            kecamatan=kecamatan,
            opds=opds,
            categories=categories,
        )

    def point(self, value: Any, where: str, what: str) -> tuple[float, float]:
        if not isinstance(value, list) or len(value) != 2:
            raise self.fail(where, f"{what} must be [lat, lng]")
        lat, lng = (self.number(v, where, what) for v in value)
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise self.fail(where, f"{what} {value} is not a valid [lat, lng]")
        return lat, lng

    def bbox(self, value: Any, where: str) -> BBox:
        if not isinstance(value, list) or len(value) != 4:
            raise self.fail(where, "bbox must be [south, west, north, east]")
        south, west, north, east = (self.number(v, where, "bbox") for v in value)
        if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
            raise self.fail(
                where,
                f"bbox {value} must be [south, west, north, east] with south < north"
                " and west < east",
            )
        return south, west, north, east

    def all_kecamatan(self, raw: dict, city_code: str, bbox: BBox) -> tuple[Kecamatan, ...]:
        result: list[Kecamatan] = []
        seen_kec: set[str] = set()
        seen_kel: dict[str, str] = {}
        for i, item in enumerate(self.array_of_tables(raw, "kecamatan", "file")):
            where = f"kecamatan #{i + 1}"
            data = self.table(item, where, {"code", "name", "kelurahan"}, {"official_name"})
            code = self.text(data, "code", where)
            where = f"kecamatan {code}"
            if not re.fullmatch(rf"{re.escape(city_code)}\.\d{{2}}", code):
                raise self.fail(
                    where, f"code must start with the city code {city_code} (like {city_code}.01)"
                )
            if code in seen_kec:
                raise self.fail(where, "duplicate kecamatan code")
            seen_kec.add(code)
            name = self.text(data, "name", where)
            official = self.text(data, "official_name", where) if "official_name" in data else name

            kelurahan: list[Kelurahan] = []
            items = data["kelurahan"]
            if not isinstance(items, list) or not items:
                raise self.fail(where, "needs at least one [[kecamatan.kelurahan]] entry")
            for j, kel_item in enumerate(items):
                kel_where = f"{where} kelurahan #{j + 1}"
                kel = self.table(kel_item, kel_where, {"code", "name", "lat", "lng"})
                kel_code = self.text(kel, "code", kel_where)
                kel_where = f"{where} kelurahan {kel_code}"
                if not re.fullmatch(rf"{re.escape(code)}\.\d{{4}}", kel_code):
                    raise self.fail(
                        kel_where,
                        f"code must start with its kecamatan code {code} (like {code}.1001)",
                    )
                if kel_code in seen_kel:
                    raise self.fail(
                        kel_where, f"duplicate kelurahan code (also used by {seen_kel[kel_code]})"
                    )
                kel_name = self.text(kel, "name", kel_where)
                seen_kel[kel_code] = kel_name
                lat = self.number(kel["lat"], kel_where, "lat")
                lng = self.number(kel["lng"], kel_where, "lng")
                if not _in_box(bbox, lat, lng, pad_km=0.0):
                    raise self.fail(
                        kel_where, f"centroid ({lat}, {lng}) is outside the city bbox {list(bbox)}"
                    )
                kelurahan.append(Kelurahan(code=kel_code, name=kel_name, lat=lat, lng=lng))
            result.append(
                Kecamatan(code=code, name=name, official_name=official, kelurahan=tuple(kelurahan))
            )
        return tuple(result)

    def all_opds(self, raw: dict) -> tuple[Opd, ...]:
        result: list[Opd] = []
        seen: set[str] = set()
        for i, item in enumerate(self.array_of_tables(raw, "opd", "file")):
            where = f"opd #{i + 1}"
            data = self.table(item, where, {"slug", "name", "short_name", "kind"})
            slug = self.slug(data, where)
            where = f"opd {slug!r}"
            if slug in seen:
                raise self.fail(where, "duplicate opd slug")
            seen.add(slug)
            kind = self.text(data, "kind", where)
            if kind not in OPD_KINDS:
                raise self.fail(where, f"kind {kind!r} must be one of {sorted(OPD_KINDS)}")
            result.append(
                Opd(
                    slug=slug,
                    name=self.text(data, "name", where),
                    short_name=self.text(data, "short_name", where),
                    kind=kind,
                )
            )
        return tuple(result)

    def all_categories(
        self, raw: dict, opd_slugs: set[str], default_sla: int
    ) -> tuple[Category, ...]:
        result: list[Category] = []
        seen: set[str] = set()
        for i, item in enumerate(self.array_of_tables(raw, "category", "file")):
            where = f"category #{i + 1}"
            data = self.table(
                item,
                where,
                {"slug", "name", "name_en", "default_opd"},
                {"sla_hours", "icon", "questions"},
            )
            slug = self.slug(data, where)
            where = f"category {slug!r}"
            if slug in seen:
                raise self.fail(where, "duplicate category slug")
            seen.add(slug)
            default_opd = self.text(data, "default_opd", where)
            if default_opd not in opd_slugs:
                raise self.fail(
                    where, f"default_opd {default_opd!r} is not an [[opd]] slug in this file"
                )
            sla = self.positive_int(data.get("sla_hours", default_sla), where, "sla_hours")
            icon = self.text(data, "icon", where) if "icon" in data else None
            result.append(
                Category(
                    slug=slug,
                    name=self.text(data, "name", where),
                    name_en=self.text(data, "name_en", where),
                    default_opd=default_opd,
                    sla_hours=sla,
                    icon=icon,
                    questions=self.questions(data.get("questions", []), where),
                )
            )
        return tuple(result)

    def questions(self, items: Any, where: str) -> tuple[Question, ...]:
        """``[[category.questions]]``: code, datatype, required, order, description, values."""
        if not isinstance(items, list):
            raise self.fail(where, "questions must be an array of tables")
        if len(items) > MAX_QUESTIONS:
            raise self.fail(where, f"at most {MAX_QUESTIONS} questions")
        result: list[Question] = []
        for i, item in enumerate(items):
            at = f"{where} question #{i + 1}"
            data = self.table(
                item, at, {"code", "datatype", "description"}, {"required", "order", "values"}
            )
            code = self.text(data, "code", at)
            if not is_question_code(code):
                raise self.fail(
                    at,
                    f"code {code!r} must be lowercase letters, digits, '-' or '_'"
                    f" (at most {MAX_CODE_LENGTH})",
                )
            if code in {q.code for q in result}:
                raise self.fail(at, f"duplicate question code {code!r}")
            datatype = self.text(data, "datatype", at)
            if datatype not in DATATYPES:
                raise self.fail(at, f"datatype must be one of {', '.join(DATATYPES)}")
            required = data.get("required", False)
            order = data.get("order", i + 1)
            if not isinstance(required, bool):
                raise self.fail(at, "required must be true or false")
            if isinstance(order, bool) or not isinstance(order, int):
                raise self.fail(at, "order must be a whole number")
            values = self.question_values(data.get("values", []), at)
            if (datatype in LIST_DATATYPES) != bool(values):
                raise self.fail(at, "values are given for list datatypes, and only for them")
            description = self.text(data, "description", at)
            if len(description) > MAX_DESCRIPTION_LENGTH:
                raise self.fail(at, f"description is longer than {MAX_DESCRIPTION_LENGTH}")
            result.append(Question(code, datatype, required, order, description, values))
        return tuple(sorted(result, key=lambda q: q.order))

    def question_values(self, items: Any, where: str) -> tuple[tuple[str, str], ...]:
        if not isinstance(items, list):
            raise self.fail(where, "values must be a list of {key, name} tables")
        if len(items) > MAX_VALUES:
            raise self.fail(where, f"at most {MAX_VALUES} values")
        values = []
        for item in items:
            data = self.table(item, f"{where} value", {"key", "name"})
            key, name = self.text(data, "key", where), self.text(data, "name", where)
            if not is_question_code(key):
                raise self.fail(where, f"value key {key!r} must be written like a code")
            if len(name) > MAX_VALUE_NAME_LENGTH:
                raise self.fail(where, f"value name is longer than {MAX_VALUE_NAME_LENGTH}")
            values.append((key, name))
        if len({k for k, _ in values}) != len(values):
            raise self.fail(where, "duplicate value key")
        return tuple(values)
