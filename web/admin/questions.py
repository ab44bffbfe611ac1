"""A category's own questions as the admin page edits them: reading the form, and each change as a
pure function from the stored questions to the new ones.

The limits and the code rule are the city file's (db/city_data.py), so a question written here
could also be written in the file, and the other way round. Changes run on the questions as stored
at that moment (web/admin/service.py holds the category row while they run), so two admins' changes
add up; an edit made from a page that showed an older version of the question is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping

from db.city_data import (
    DATATYPES,
    LIST_DATATYPES,
    MAX_CODE_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_QUESTIONS,
    MAX_VALUE_NAME_LENGTH,
    MAX_VALUES,
    Question,
    is_question_code,
)
from web.forms import FormErrors, nul_message, too_long_message
from web.i18n import _, per_locale

Questions = tuple[Question, ...]

# One choice per line, "key = Name": the longest line a valid list can need, times the lines.
MAX_CHOICES_TEXT = MAX_VALUES * (MAX_CODE_LENGTH + MAX_VALUE_NAME_LENGTH + 5)


class QuestionConflict(Exception):
    """Another admin changed or removed the question since this page was opened."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@per_locale
def datatype_label(datatype: str) -> str:
    labels = {
        "string": _("Teks pendek"),
        "number": _("Angka"),
        "datetime": _("Tanggal dan jam"),
        "text": _("Teks panjang"),
        "singlevaluelist": _("Pilih satu"),
        "multivaluelist": _("Pilih beberapa"),
    }
    return labels.get(datatype, datatype)


def fingerprint(question: Question) -> str:
    """What the edit form saw: a change by anyone else since then changes it."""
    stored = json.dumps(question.as_dict(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(stored.encode()).hexdigest()[:16]


def derive_key(name: str) -> str:
    """A choice's key from its name ("Amblas / turun" -> "amblas_turun"), for lines without one."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")[:MAX_CODE_LENGTH].strip("_")


def choices_text(question: Question) -> str:
    """The choices as the form's text area shows them: one ``key = Name`` per line."""
    return "\n".join(f"{key} = {name}" for key, name in question.values)


def form_values(question: Question) -> dict[str, str]:
    """A stored question as the edit form's fields."""
    return {
        "code": question.code,
        "description": question.description,
        "datatype": question.datatype,
        "required": "1" if question.required else "",
        "choices": choices_text(question),
        "seen": fingerprint(question),
    }


def parse_question(values: Mapping[str, str], *, code: str | None = None) -> Question:
    """The question the form describes, or FormErrors naming each wrong field.

    ``code`` is given when editing: a question's code never changes, because Open311 clients and
    stored answers know the question by it. Its ``order`` is set when it is placed in the list.
    """
    errors: dict[str, str] = {}
    for field in ("code", "description", "datatype", "choices"):
        if "\x00" in values.get(field, ""):
            errors[field] = nul_message()
    if code is None:
        code = values.get("code", "").strip()
        if "code" in errors:
            pass
        elif not code:
            errors["code"] = _("Tulis kode pertanyaan, misalnya jenis_kerusakan.")
        elif not is_question_code(code):
            errors["code"] = _(
                "Kode hanya huruf kecil, angka, dan tanda - atau _ di antaranya, paling banyak "
                "%(n)s karakter (misalnya jenis_kerusakan).",
                n=MAX_CODE_LENGTH,
            )
    description = " ".join(values.get("description", "").split())
    if "description" in errors:
        pass
    elif not description:
        errors["description"] = _("Tulis pertanyaan yang dibaca pelapor.")
    elif len(description) > MAX_DESCRIPTION_LENGTH:
        errors["description"] = too_long_message(MAX_DESCRIPTION_LENGTH, len(description))
    datatype = values.get("datatype", "")
    if datatype not in DATATYPES:
        errors["datatype"] = _("Pilih jenis jawaban.")
    choices: tuple[tuple[str, str], ...] = ()
    if "choices" not in errors:
        try:
            choices = parse_choices(values.get("choices", ""))
        except FormErrors as exc:
            errors.update(exc.errors)
    if datatype in LIST_DATATYPES and not choices and "choices" not in errors:
        errors["choices"] = _("Jenis pilihan perlu daftar pilihan: satu pilihan per baris.")
    elif datatype in DATATYPES and datatype not in LIST_DATATYPES and choices:
        errors["choices"] = _(
            "Daftar pilihan hanya untuk jenis “Pilih satu” dan “Pilih beberapa”: kosongkan "
            "daftarnya atau ganti jenis jawabannya."
        )
    if errors:
        raise FormErrors(errors)
    return Question(
        code=code,
        datatype=datatype,
        required=values.get("required") == "1",
        order=0,
        description=description,
        values=choices,
    )


def parse_choices(text: str) -> tuple[tuple[str, str], ...]:
    """One choice per line: ``key = Name``, or ``Name`` alone (the key is made from the name)."""
    if len(text) > MAX_CHOICES_TEXT:
        raise FormErrors.single("choices", too_long_message(MAX_CHOICES_TEXT, len(text)))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_VALUES:
        raise FormErrors.single(
            "choices",
            _("Paling banyak %(n)s pilihan, tertulis %(got)s.", n=MAX_VALUES, got=len(lines)),
        )
    choices: list[tuple[str, str]] = []
    for number, line in enumerate(lines, start=1):
        key, sep, name = (part.strip() for part in line.partition("="))
        if not sep:
            key, name = derive_key(line), line
        elif not key:
            key = derive_key(name)
        name = " ".join(name.split())
        problem = None
        if not name:
            problem = _("tulis nama pilihannya setelah tanda =.")
        elif len(name) > MAX_VALUE_NAME_LENGTH:
            problem = _("nama pilihan paling banyak %(n)s karakter.", n=MAX_VALUE_NAME_LENGTH)
        elif not key:
            problem = _("tulis kuncinya sendiri, misalnya lubang = %(name)s.", name=name)
        elif not is_question_code(key):
            problem = _(
                "kunci hanya huruf kecil, angka, dan tanda - atau _ di antaranya, paling banyak "
                "%(n)s karakter.",
                n=MAX_CODE_LENGTH,
            )
        elif key in {k for k, _name in choices}:
            problem = _("kunci %(key)s sudah dipakai pilihan lain.", key=key)
        if problem:
            raise FormErrors.single(
                "choices", _("Baris %(n)s: %(problem)s", n=number, problem=problem)
            )
        choices.append((key, name))
    return tuple(choices)


# --- Changes: stored questions in, new questions out (None: nothing to change) ------------------


def _numbered(questions: list[Question]) -> Questions:
    """Asking order 1..n, as the list now stands."""
    return tuple(
        Question(q.code, q.datatype, q.required, position, q.description, q.values)
        for position, q in enumerate(questions, start=1)
    )


def _index(questions: Questions, code: str) -> int:
    for position, question in enumerate(questions):
        if question.code == code:
            return position
    raise QuestionConflict(_("Pertanyaan %(code)s sudah dihapus oleh admin lain.", code=code))


def add(questions: Questions, question: Question) -> Questions:
    if any(q.code == question.code for q in questions):
        raise FormErrors.single(
            "code", _("Kode ini sudah dipakai pertanyaan lain di kategori ini.")
        )
    if len(questions) >= MAX_QUESTIONS:
        raise FormErrors.single(
            "__all__", _("Paling banyak %(n)s pertanyaan per kategori.", n=MAX_QUESTIONS)
        )
    return _numbered([*questions, question])


def update(questions: Questions, question: Question, *, seen: str) -> Questions | None:
    position = _index(questions, question.code)
    if fingerprint(questions[position]) != seen:
        raise QuestionConflict(
            _(
                "Pertanyaan %(code)s baru saja diubah oleh admin lain. Isinya yang sekarang ada "
                "di daftar; periksa lalu simpan lagi bila perubahan Anda masih perlu.",
                code=question.code,
            )
        )
    changed = list(questions)
    changed[position] = question
    result = _numbered(changed)
    return None if result == _numbered(list(questions)) else result


def remove(questions: Questions, code: str) -> Questions | None:
    """None when it is gone already (a second press of "Hapus"): the wish is fulfilled."""
    if all(q.code != code for q in questions):
        return None
    return _numbered([q for q in questions if q.code != code])


def move(questions: Questions, code: str, direction: str) -> Questions | None:
    """One place up or down; None at either end."""
    position = _index(questions, code)
    other = position - 1 if direction == "up" else position + 1
    if direction not in ("up", "down") or not 0 <= other < len(questions):
        return None
    changed = list(questions)
    changed[position], changed[other] = changed[other], changed[position]
    return _numbered(changed)
