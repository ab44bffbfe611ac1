"""City data files: the shipped ones load and match the domain notes; broken ones fail loudly."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.city_data import (
    CITIES_DIR,
    City,
    CityDataError,
    available_cities,
    load_city,
)

ROOT = Path(__file__).resolve().parent.parent

# Kota Cilegon as Kemendagri lists it (code 36.72; kelurahan codes run .1001 upward in this order).
CILEGON_TERRITORY = {
    "36.72.01": (
        "Cibeber",
        ["Cibeber", "Kedaleman", "Bulakan", "Cikerai", "Karang Asem", "Kalitimbang"],
    ),
    "36.72.02": ("Cilegon", ["Bagendung", "Ciwedus", "Bendungan", "Ketileng", "Ciwaduk"]),
    "36.72.03": ("Pulomerak", ["Tamansari", "Lebakgede", "Mekarsari", "Suralaya"]),
    "36.72.04": (
        "Ciwandan",
        ["Banjar Negara", "Tegal Ratu", "Kubangsari", "Gunung Sugih", "Kepuh", "Randakari"],
    ),
    "36.72.05": (
        "Jombang",
        ["Sukmajaya", "Jombang Wetan", "Masigit", "Panggung Rawi", "Gedong Dalem"],
    ),
    "36.72.06": ("Grogol", ["Kotasari", "Grogol", "Rawa Arum", "Gerem"]),
    "36.72.07": (
        "Purwakarta",
        ["Ramanuju", "Kotabumi", "Kebon Dalem", "Purwakarta", "Tegal Bunder", "Pabean"],
    ),
    "36.72.08": (
        "Citangkil",
        [
            "Warnasari",
            "Dringo",
            "Lebak Denok",
            "Taman Baru",
            "Kebonsari",
            "Samangraya",
            "Citangkil",
        ],
    ),
}


@pytest.fixture(scope="module")
def cilegon() -> City:
    return load_city("cilegon")


# --- The shipped files ---------------------------------------------------------------------------


def in_bbox(city: City, lat: float, lng: float) -> bool:
    south, west, north, east = city.bbox
    return south <= lat <= north and west <= lng <= east


def test_both_cities_are_available():
    assert {"cilegon", "kota-serang"} <= set(available_cities())


@pytest.mark.parametrize("slug", available_cities())
def test_every_shipped_city_loads_and_is_consistent(slug):
    city = load_city(slug)
    assert city.slug == slug
    opd_slugs = {opd.slug for opd in city.opds}
    for category in city.categories:
        assert category.default_opd in opd_slugs
        assert category.sla_hours > 0
    for kelurahan in city.all_kelurahan():
        assert in_bbox(city, kelurahan.lat, kelurahan.lng)
        assert city.nearest_kelurahan(kelurahan.lat, kelurahan.lng) == kelurahan
    assert in_bbox(city, *city.center)


def test_cilegon_identity(cilegon):
    assert (cilegon.name, cilegon.province, cilegon.code) == ("Kota Cilegon", "Banten", "36.72")
    assert cilegon.nik_prefix == "3672"
    assert cilegon.ticket_prefix == "CLG"
    assert cilegon.nik_prefix_policy == "lenient"
    assert cilegon.timezone == "Asia/Jakarta"
    assert cilegon.default_sla_hours == 72
    assert any("112" in line for line in cilegon.contact)
    assert any("0254" in line for line in cilegon.contact)


def test_cilegon_territory_matches_domain_notes(cilegon):
    assert len(cilegon.kecamatan) == 8
    assert len(cilegon.all_kelurahan()) == 43
    assert [k.code for k in cilegon.kecamatan] == list(CILEGON_TERRITORY)
    for kecamatan in cilegon.kecamatan:
        name, kelurahan_names = CILEGON_TERRITORY[kecamatan.code]
        assert kecamatan.name == name
        assert [k.name for k in kecamatan.kelurahan] == kelurahan_names
        assert [k.code for k in kecamatan.kelurahan] == [
            f"{kecamatan.code}.{1001 + i}" for i in range(len(kelurahan_names))
        ]


def test_kemendagri_spelling_is_kept_beside_the_common_name(cilegon):
    grogol = next(k for k in cilegon.kecamatan if k.code == "36.72.06")
    assert (grogol.name, grogol.official_name) == ("Grogol", "Gerogol")
    cibeber = next(k for k in cilegon.kecamatan if k.code == "36.72.01")
    assert cibeber.official_name == cibeber.name


def test_cilegon_lookup_helpers(cilegon):
    kelurahan = cilegon.kelurahan_by_code("36.72.03.1004")
    assert kelurahan is not None and kelurahan.name == "Suralaya"
    assert cilegon.kelurahan_by_code("36.72.03.1099") is None
    pulomerak = next(k for k in cilegon.kecamatan if k.code == "36.72.03")
    assert pulomerak.name == "Pulomerak" and kelurahan in pulomerak.kelurahan
    assert {opd.slug: opd for opd in cilegon.opds}["dlh"].short_name == "DLH"


def test_cilegon_has_the_agencies_that_take_tickets(cilegon):
    kinds = [opd.kind for opd in cilegon.opds]
    assert kinds.count("kecamatan") == 8
    assert "bumd" in kinds
    short_names = {opd.short_name for opd in cilegon.opds}
    for expected in (
        "Dinas PUPR",
        "Dishub",
        "Disperkim",
        "DLH",
        "BPBD",
        "Satpol PP",
        "Dinsos",
        "Disdukcapil",
        "Dinkes",
        "Diskominfo SP",
    ):
        assert expected in short_names


@pytest.mark.parametrize(
    ("category", "opd_name_part"),
    [
        ("jalan-rusak", "Pekerjaan Umum"),
        ("drainase-banjir", "Pekerjaan Umum"),
        ("lampu-jalan", "Perhubungan"),
        ("sampah", "Lingkungan Hidup"),
        ("parkir-liar", "Perhubungan"),
        ("air-bersih", "Air Minum"),
        ("bantuan-sosial", "Sosial"),
        ("adminduk", "Kependudukan"),
        ("ketertiban-umum", "Polisi Pamong Praja"),
        ("kesehatan", "Kesehatan"),
        ("pendidikan", "Pendidikan"),
    ],
)
def test_cilegon_category_goes_to_the_unit_in_domain_notes(cilegon, category, opd_name_part):
    found = {c.slug: c for c in cilegon.categories}[category]
    assert opd_name_part in {opd.slug: opd for opd in cilegon.opds}[found.default_opd].name


def test_cilegon_floods_are_more_urgent_than_roads(cilegon):
    sla = {c.slug: c.sla_hours for c in cilegon.categories}
    assert sla["drainase-banjir"] == 24
    assert sla["jalan-rusak"] == 72
    assert max(sla.values()) <= 72  # the city's promise: every ticket followed up within 3 days


def test_nearest_kelurahan(cilegon):
    near_centre = cilegon.nearest_kelurahan(-6.0, 106.05)
    assert near_centre is not None
    assert near_centre.code.startswith("36.72.")
    assert cilegon.nearest_kelurahan(-6.2, 106.8) is None  # Jakarta
    assert not in_bbox(cilegon, -6.2, 106.8)
    # Just past the box edge still gets a suggestion; well past it does not.
    south, west, _north, _east = cilegon.bbox
    assert cilegon.nearest_kelurahan(south - 0.01, west + 0.05) is not None
    assert cilegon.nearest_kelurahan(south - 0.05, west + 0.05) is None
    assert cilegon.nearest_kelurahan(float("nan"), 106.05) is None


def test_second_city_differs():
    serang = load_city("kota-serang")
    assert serang.ticket_prefix == "SRG"
    assert serang.nik_prefix == "3673"
    assert serang.nik_prefix_policy == "strict"
    assert all(k.code.startswith("36.73.") for k in serang.all_kelurahan())
    assert serang.nearest_kelurahan(-6.05, 105.99) is None  # a Cilegon kelurahan, not Serang's
    near = serang.nearest_kelurahan(-6.12, 106.15)
    assert near is not None and near.code.startswith("36.73.")
    sla = {c.slug: c.sla_hours for c in serang.categories}
    assert sla["lainnya"] == serang.default_sla_hours  # falls back when a category sets none
    cilegon_sla = {c.slug: c.sla_hours for c in load_city("cilegon").categories}
    assert sla["drainase-banjir"] != cilegon_sla["drainase-banjir"]


# --- Broken files --------------------------------------------------------------------------------

VALID = """\
[city]
slug = "kota-contoh"
name = "Kota Contoh"
province = "Contoh"
code = "99.71"
ticket_prefix = "CTH"
nik_prefix_policy = "strict"
timezone = "Asia/Makassar"
center = [-1.0, 120.0]
bbox = [-1.1, 119.9, -0.9, 120.1]
default_sla_hours = 72

[[kecamatan]]
code = "99.71.01"
name = "Satu"

[[kecamatan.kelurahan]]
code = "99.71.01.1001"
name = "Alpha"
lat = -1.0
lng = 120.0

[[kecamatan.kelurahan]]
code = "99.71.01.1002"
name = "Beta"
lat = -1.05
lng = 120.05

[[opd]]
slug = "pupr"
name = "Dinas Pekerjaan Umum dan Penataan Ruang"
short_name = "Dinas PUPR"
kind = "dinas"

[[category]]
slug = "jalan-rusak"
name = "Jalan rusak"
name_en = "Damaged road"
default_opd = "pupr"
sla_hours = 48
"""


def _write(tmp_path: Path, text: str, slug: str = "kota-contoh") -> Path:
    (tmp_path / f"{slug}.toml").write_text(text, encoding="utf-8")
    return tmp_path


def _broken(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, 1)


def test_minimal_valid_file_loads(tmp_path):
    city = load_city("kota-contoh", directory=_write(tmp_path, VALID))
    assert city.nik_prefix == "9971"
    assert [k.name for k in city.all_kelurahan()] == ["Alpha", "Beta"]
    assert city.categories[0].icon is None
    assert available_cities(tmp_path) == ["kota-contoh"]


QUESTION = """
[[category.questions]]
code = "jenis"
datatype = "singlevaluelist"
required = true
description = "Jenis kerusakan"
values = [{ key = "lubang", name = "Berlubang" }, { key = "retak", name = "Retak" }]

[[category.questions]]
code = "catatan"
datatype = "text"
order = 0
description = "Catatan"
"""


def test_category_questions_load_in_their_order(tmp_path):
    city = load_city("kota-contoh", directory=_write(tmp_path, VALID + QUESTION))
    notes, kind = city.categories[0].questions
    assert (notes.code, notes.datatype, notes.required, notes.order) == (
        "catatan",
        "text",
        False,
        0,
    )
    assert (kind.code, kind.required, kind.order) == ("jenis", True, 1)
    assert kind.values == (("lubang", "Berlubang"), ("retak", "Retak"))
    assert load_city("kota-contoh", directory=_write(tmp_path, VALID)).categories[0].questions == ()
    road = next(c for c in load_city("cilegon").categories if c.slug == "jalan-rusak")
    assert [q.code for q in road.questions] == ["jenis_kerusakan", "lebar_lubang_cm"]


@pytest.mark.parametrize(
    ("question", "message"),
    [
        (QUESTION.replace('"text"', '"essay"'), r"question #2: datatype must be one of"),
        (QUESTION.replace("values = [", "# values = ["), r"question #1: values are given for list"),
        (QUESTION.replace('code = "catatan"', 'code = "jenis"'), r"duplicate question code"),
        (QUESTION.replace("required = true", 'required = "ya"'), r"required must be true or"),
        (QUESTION.replace('key = "retak"', 'key = "lubang"'), r"duplicate value key"),
        # The admin page's limits (web/admin/questions.py) hold in the file too.
        (QUESTION.replace('key = "retak"', 'key = "Retak"'), r"value key 'Retak' must be"),
        (QUESTION.replace('"Catatan"', '"' + "x" * 201 + '"'), r"description is longer than 200"),
        (
            "".join(
                f'[[category.questions]]\ncode = "q{i}"\ndatatype = "text"\ndescription = "Q"\n'
                for i in range(21)
            ),
            r"at most 20 questions",
        ),
    ],
)
def test_broken_questions_are_rejected(tmp_path, question, message):
    with pytest.raises(CityDataError, match=message):
        load_city("kota-contoh", directory=_write(tmp_path, VALID + question))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            _broken('code = "99.71.01.1002"', 'code = "99.71.01.1001"'),
            r"kecamatan 99\.71\.01 kelurahan 99\.71\.01\.1001: duplicate kelurahan code",
            id="duplicate-kelurahan-code",
        ),
        pytest.param(
            _broken('default_opd = "pupr"', 'default_opd = "dinas-antah"'),
            r"category 'jalan-rusak': default_opd 'dinas-antah' is not an \[\[opd\]\] slug",
            id="unknown-default-opd",
        ),
        pytest.param(
            _broken('code = "99.71.01"', 'code = "36.73.01"'),
            r"kecamatan 36\.73\.01: code must start with the city code 99\.71",
            id="kecamatan-of-another-city",
        ),
        pytest.param(
            _broken('code = "99.71.01.1002"', 'code = "99.71.02.1002"'),
            r"kelurahan 99\.71\.02\.1002: code must start with its kecamatan code 99\.71\.01",
            id="kelurahan-of-another-kecamatan",
        ),
        pytest.param(
            _broken("lat = -1.05", "lat = -6.2"),
            r"kelurahan 99\.71\.01\.1002: centroid \(-6\.2, 120\.05\) is outside the city bbox",
            id="centroid-outside-bbox",
        ),
        pytest.param(
            _broken("sla_hours = 48", "sla_hours = 0"),
            r"category 'jalan-rusak': sla_hours must be a positive whole number",
            id="zero-sla",
        ),
        pytest.param(
            _broken("sla_hours = 48", "sla_hours = 1.5"),
            r"sla_hours must be a positive whole number",
            id="fractional-sla",
        ),
        pytest.param(
            _broken('nik_prefix_policy = "strict"', 'nik_prefix_policy = "sometimes"'),
            r"\[city\]: nik_prefix_policy 'sometimes' must be one of",
            id="unknown-policy",
        ),
        pytest.param(
            _broken('ticket_prefix = "CTH"', 'ticket_prefix = "cth"'),
            r"ticket_prefix 'cth' must be 2-5 uppercase letters",
            id="lowercase-prefix",
        ),
        pytest.param(
            _broken('ticket_prefix = "CTH"', 'ticket_prefix = "CONTOH"'),
            r"ticket_prefix 'CONTOH' must be 2-5 uppercase letters",
            id="long-prefix",
        ),
        pytest.param(
            _broken('slug = "pupr"', 'slug = "pupr"\nslug_typo = 1'),
            r"opd #1: unknown key\(s\) slug_typo",
            id="unknown-key",
        ),
        pytest.param(
            VALID + '[[opd]]\nslug = "pupr"\nname = "X"\nshort_name = "X"\nkind = "dinas"\n',
            r"opd 'pupr': duplicate opd slug",
            id="duplicate-opd",
        ),
        pytest.param(
            _broken('kind = "dinas"', 'kind = "kementerian"'),
            r"opd 'pupr': kind 'kementerian' must be one of",
            id="unknown-opd-kind",
        ),
        pytest.param(
            _broken('timezone = "Asia/Makassar"', 'timezone = "Asia/Nowhere"'),
            r"unknown timezone 'Asia/Nowhere'",
            id="unknown-timezone",
        ),
        pytest.param(
            _broken('slug = "kota-contoh"', 'slug = "kota-lain"'),
            r"slug is 'kota-lain'; it must match the file name",
            id="slug-not-file-name",
        ),
        pytest.param(
            _broken("[[category]]", "[[category]\n"),
            r"not valid TOML",
            id="invalid-toml",
        ),
    ],
)
def test_broken_file_is_rejected_with_file_and_entry_named(tmp_path, text, message):
    with pytest.raises(CityDataError, match=message) as caught:
        load_city("kota-contoh", directory=_write(tmp_path, text))
    assert str(caught.value).startswith("kota-contoh.toml: ")


def test_missing_city_lists_the_available_ones(tmp_path):
    _write(tmp_path, VALID)
    with pytest.raises(CityDataError, match=r"no city data file .*available: kota-contoh"):
        load_city("kota-lain", directory=tmp_path)


@pytest.mark.parametrize("slug", ["../cilegon", "Cilegon", "", "cilegon.toml"])
def test_slug_cannot_name_another_path(slug):
    with pytest.raises(CityDataError, match="invalid city slug"):
        load_city(slug)


# --- Nothing about the first city in code --------------------------------------------------------

FORBIDDEN = ("Cilegon", "3672", "36.72", "CLG")
SCANNED_DIRS = ("web", "db")
EXCLUDED_DIRS = (ROOT / "db" / "cities", ROOT / "db" / "migrations")


def _docstring_nodes(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            first = body[0].value if body and isinstance(body[0], ast.Expr) else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(id(first))
    return found


def _code_fragments(source: str) -> Iterator[tuple[int, str, bool]]:
    """(line, text, is_identifier) for what the code runs with; comments and docstrings only
    explain, so they are skipped."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        # A file mid-edit: fall back to its lines, minus comment-only ones.
        for number, line in enumerate(source.splitlines(), start=1):
            if not line.lstrip().startswith("#"):
                yield number, line, False
        return
    docstrings = _docstring_nodes(tree)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and id(node) not in docstrings:
            if isinstance(node.value, str | int | float) and not isinstance(node.value, bool):
                yield line, str(node.value), False
        elif isinstance(node, ast.Name):
            yield line, node.id, True
        elif isinstance(node, ast.Attribute):
            yield line, node.attr, True
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield line, node.name, True
        elif isinstance(node, ast.arg | ast.keyword) and node.arg:
            yield line, node.arg, True
        elif isinstance(node, ast.alias):
            yield line, f"{node.name} {node.asname or ''}", True
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield line, node.module, True


def _city_specific(fragment: str, is_identifier: bool) -> str | None:
    for word in FORBIDDEN:
        if word in fragment:
            return word
    # Names come in any case (CILEGON_CODES, cilegon_prefix). A lowercase string such as the
    # default of the city setting is a data-file slug, which is how code is meant to pick a city.
    if is_identifier and "cilegon" in fragment.lower():
        return fragment
    return None


def _scanned_files() -> Iterator[Path]:
    for name in SCANNED_DIRS:
        folder = ROOT / name
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.py")):
            if any(path.is_relative_to(excluded) for excluded in EXCLUDED_DIRS):
                continue
            if "tests" in path.relative_to(ROOT).parts or path.name.startswith("test_"):
                continue
            yield path


def test_scanner_catches_hard_coded_city_and_ignores_prose():
    source = '''"""Tickets look like ``CLG-2026-000123``."""
# Cilegon asked for this.
PREFIX = "CLG"
CODE = 3672
def f(cilegon_only=None, city="cilegon"):
    """Docstring about Cilegon."""
    return f"{PREFIX}-36.72"
'''
    hits = ((line, _city_specific(text, name)) for line, text, name in _code_fragments(source))
    found = {(line, word) for line, word in hits if word}
    assert found == {(3, "CLG"), (4, "3672"), (5, "cilegon_only"), (7, "36.72")}


def test_no_city_is_hard_coded_in_python_sources():
    offenders = []
    for path in _scanned_files():
        source = path.read_text(encoding="utf-8", errors="replace")
        for line, text, is_name in _code_fragments(source):
            word = _city_specific(text, is_name)
            if word:
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {word!r}")
    listing = "\n".join(sorted(set(offenders)))
    assert not offenders, f"city data belongs in db/cities/*.toml:\n{listing}"


def test_cities_dir_is_the_data_folder():
    assert CITIES_DIR == ROOT / "db" / "cities"
    assert not (CITIES_DIR / "__init__.py").exists()  # data only, not a package
