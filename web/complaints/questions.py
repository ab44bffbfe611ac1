"""Answers to a category's own questions (``category.questions``): one home for their rules, used
by the citizen's form, the operator's intake and the Open311 POST. Plain Python, no framework.

What a ticket keeps (``complaint.attributes``) is a snapshot in asking order: the question as it
was asked and the answer as it was shown, so a ticket still reads right after an admin edits or
removes the question.

A form says which questions it showed (``pertanyaan-<slug>``, see ``shown_marker``): a report
queued offline from a page cached before an admin added a required question is still filed, the
question marked as not asked (``"asked": false`` in the snapshot), so staff ask it by phone.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, tzinfo

from db.city_data import Question
from web.forms import FormErrors, nul_message
from web.i18n import _

STRING_MAX = 200  # one line (an <input>)
TEXT_MAX = 2000  # several lines (a <textarea>)
# Wide enough for any measure a citizen would give (cm, m², people, days), narrow enough that a
# typo like 1e308 is caught instead of stored.
NUMBER_MIN, NUMBER_MAX = -1_000_000_000, 1_000_000_000
# As written here: 1.000.000.000.
_BOUNDS_SHOWN = tuple(f"{n:_}".replace("_", ".") for n in (NUMBER_MIN, NUMBER_MAX))
YEAR_MIN, YEAR_MAX = 1900, 2200
MULTI_MAX = 50  # more checked boxes than any list offers is not a real answer

# Control characters other than tab and line breaks: never typed, only pasted or forged.
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")


@dataclass(frozen=True)
class Answer:
    code: str
    question: str  # the description as it was asked
    datatype: str
    value: str | list[str]  # a list of keys for multivaluelist
    shown: str  # what a person reads: the names for list answers
    # False: a required question the citizen's form never asked (a page from before it was
    # added); value and shown are empty. Stored only when False, so older snapshots read alike.
    asked: bool = True

    def as_dict(self) -> dict:
        data = asdict(self)
        if self.asked:
            del data["asked"]
        return data


@dataclass(frozen=True)
class Shown:
    """How a form asked one question: a different type or an optional one is not the question
    asked now."""

    datatype: str
    required: bool


def messages() -> dict[str, str]:
    """The words the filing page also uses when it checks before queueing (client_rules);
    ``{question}`` is filled in there."""
    return {
        "answer_required": _answer_required("{question}"),
        "answer_number": _answer_number("{question}"),
    }


def _answer_required(question: str) -> str:
    return _("Jawab pertanyaan “%(question)s”.", question=question)


def _answer_number(question: str) -> str:
    return _("Jawaban “%(question)s” harus berupa angka, misalnya 12 atau 12,5.", question=question)


def check_answers(
    questions: Sequence[Question],
    raw: Mapping[str, Sequence[str]],
    *,
    tz: tzinfo,
    shown: Mapping[str, Shown] | None = None,
) -> list[Answer]:
    """The clean answers in asking order, or FormErrors keyed by question code.

    ``raw``: code -> submitted values (a list: checkboxes send several). Codes the category does
    not ask are ignored, never stored: FixMyStreet sends extra ``attribute[...]`` fields of its own,
    and a question an admin removed may still be answered by a page opened before.
    ``tz``: the city's zone, for a ``datetime-local`` value (which has none).
    ``shown``: code -> how the citizen's form asked it (``shown_from_form``); None when every
    question is asked as it is now (Open311 clients read it right before, an operator sees the
    refusal and asks). A question the form did not show as it is now is never refused for: a
    required one left empty is kept as not asked, an answer that no longer fits (its type
    changed) is dropped, since whoever queued it offline cannot be asked to fix it.
    """
    answers: list[Answer] = []
    errors: dict[str, str] = {}
    for question in questions:
        how = shown.get(question.code) if shown is not None else None
        was_shown = shown is None or (how is not None and how.datatype == question.datatype)
        asked_as_required = shown is None or (was_shown and how is not None and how.required)
        values = [v for v in raw.get(question.code, ()) if v.strip()]
        if values:
            try:
                answers.append(_check_one(question, values, tz))
                continue
            except ValueError as exc:
                if was_shown:
                    errors[question.code] = str(exc)
                    continue
        if not question.required:
            continue
        if asked_as_required:
            errors[question.code] = _answer_required(question.description)
        else:
            answers.append(_not_asked(question))
    if errors:
        raise FormErrors(errors)
    return answers


def _not_asked(question: Question) -> Answer:
    return Answer(question.code, question.description, question.datatype, "", "", asked=False)


def _check_one(question: Question, values: list[str], tz: tzinfo) -> Answer:
    asked = question.description

    def answer(value: str | list[str], shown: str) -> Answer:
        return Answer(question.code, asked, question.datatype, value, shown)

    for value in values:
        if "\x00" in value:
            raise ValueError(nul_message())
        if _CONTROL.search(value):
            raise ValueError(
                _("Jawaban “%(question)s” memuat karakter yang tidak diizinkan.", question=asked)
            )
    kind = question.datatype
    if kind == "multivaluelist":
        names = dict(question.values)
        chosen = {v.strip() for v in values}
        if len(values) > MULTI_MAX or not chosen <= names.keys():
            raise ValueError(
                _("Pilih jawaban “%(question)s” dari daftar yang tersedia.", question=asked)
            )
        # The list's own order, each key once: a resent checkbox is not a second answer.
        keys = [key for key, _name in question.values if key in chosen]
        return answer(keys, ", ".join(names[key] for key in keys))
    if len(values) > 1:
        raise ValueError(
            _("Pertanyaan “%(question)s” hanya menerima satu jawaban.", question=asked)
        )
    value = values[0].strip()
    if kind == "singlevaluelist":
        names = dict(question.values)
        if value not in names:
            raise ValueError(
                _("Pilih salah satu jawaban “%(question)s” dari daftar.", question=asked)
            )
        return answer(value, names[value])
    if kind == "number":
        number = _number(value, asked)
        text = _number_text(number)
        return answer(text, text.replace(".", ","))
    if kind == "datetime":
        moment = _moment(value, asked, tz)
        return answer(moment.isoformat(), moment.strftime("%d-%m-%Y %H.%M"))
    # string (one line) or text (several lines); "text" keeps its line breaks.
    if kind == "string":
        value = " ".join(value.split())
    limit = STRING_MAX if kind == "string" else TEXT_MAX
    if len(value) > limit:
        raise ValueError(
            _(
                "Jawaban “%(question)s” terlalu panjang (paling banyak %(n)s huruf).",
                question=asked,
                n=limit,
            )
        )
    return answer(value, value)


def _number(value: str, asked: str) -> float:
    if not _NUMBER.fullmatch(value):
        raise ValueError(_answer_number(asked))
    number = float(value.replace(",", "."))
    if not math.isfinite(number) or not NUMBER_MIN <= number <= NUMBER_MAX:
        raise ValueError(
            _(
                "Jawaban “%(question)s” di luar batas wajar (%(low)s sampai %(high)s).",
                question=asked,
                low=_BOUNDS_SHOWN[0],
                high=_BOUNDS_SHOWN[1],
            )
        )
    return number


def _number_text(number: float) -> str:
    """12 for 12.0, 12.5 for 12.5: the stored form has no trailing zeros."""
    if number.is_integer():
        return str(int(number))
    return repr(number)


def _moment(value: str, asked: str, tz: tzinfo) -> datetime:
    """ISO 8601 (``2026-03-01T14:30:00+07:00``, ``...Z``) or a ``datetime-local`` value
    (``2026-03-01T14:30``, the city's time)."""
    try:
        moment = datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError:
        moment = None
    if moment is None or not YEAR_MIN <= moment.year <= YEAR_MAX:
        raise ValueError(
            _(
                "Jawaban “%(question)s” harus berupa tanggal dan jam (format ISO 8601).",
                question=asked,
            )
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


# --- Our own forms -------------------------------------------------------------------------------
FIELD_PREFIX = "jawaban-"


def field_name(slug: str, code: str) -> str:
    """A question's field on our forms: every category's questions share one page, so the
    category is part of the name (two categories may both ask ``kedalaman``)."""
    return f"{FIELD_PREFIX}{slug}-{code}"


def answers_from_form(
    getall: Callable[[str], Sequence[object]], slug: str, questions: Sequence[Question]
) -> dict[str, list[str]]:
    """code -> values of the chosen category's fields only: without JavaScript every category's
    fields are sent, and the others' are not this ticket's answers."""
    return {
        q.code: [v for v in getall(field_name(slug, q.code)) if isinstance(v, str)]
        for q in questions
    }


SHOWN_PREFIX = "pertanyaan-"
_SHOWN_MAX = 200  # more questions than a category has; the rest of a forged marker is ignored


def shown_field(slug: str) -> str:
    """The hidden field, one per category's questions, that says what the form asked."""
    return f"{SHOWN_PREFIX}{slug}"


def shown_marker(questions: Sequence[Question]) -> str:
    """``code:datatype`` per question shown, ``:wajib`` when shown as required. Rendered with the
    page, so a copy cached for offline use still says what it asked when it is sent days later."""
    return ",".join(f"{q.code}:{q.datatype}{':wajib' if q.required else ''}" for q in questions)


def shown_from_form(getall: Callable[[str], Sequence[object]], slug: str) -> dict[str, Shown]:
    """What the citizen's form says it showed for the chosen category; nothing (a page cached
    before forms said so) means none of the questions was shown. The citizen can write anything
    here, but only about their own report: at worst a question they were shown counts as not."""
    shown: dict[str, Shown] = {}
    for text in getall(shown_field(slug)):
        if not isinstance(text, str):
            continue
        for token in text.split(",")[:_SHOWN_MAX]:
            code, _sep, rest = token.strip().partition(":")
            datatype, _sep, flag = rest.partition(":")
            if code:
                shown[code] = Shown(datatype, flag == "wajib")
    return shown


def errors_as_fields(errors: Mapping[str, str], slug: str) -> dict[str, str]:
    return {field_name(slug, code): message for code, message in errors.items()}


def answers_json(answers: Sequence[Answer]) -> str | None:
    """The stored form (``complaint.attributes``); None when nothing was answered."""
    if not answers:
        return None
    return json.dumps([a.as_dict() for a in answers], ensure_ascii=False)


def stored_answers(text: str | None) -> list[dict]:
    """A ticket's answers for its pages: ``question``, ``shown`` and ``asked`` (False: a required
    question the citizen's form never asked) of each, in asking order.

    Tolerates NULL and anything that is not the snapshot list (tickets filed through Open311
    before answers were checked hold a plain ``{code: value}`` object): shown as code -> value.
    """
    try:
        data = json.loads(text) if text else []
    except ValueError:
        return []
    if isinstance(data, dict):
        return [{"question": str(k), "shown": str(v), "asked": True} for k, v in data.items()]
    if not isinstance(data, list):
        return []
    return [
        {
            "question": str(item.get("question", "")),
            "shown": str(item.get("shown", "")),
            "asked": item.get("asked", True) is not False,
        }
        for item in data
        if isinstance(item, dict)
    ]
