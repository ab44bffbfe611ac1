"""The complaint lifecycle: every status x action x role against the table agreed in the brief."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from web.i18n import use_locale
from web.workflow.lifecycle import (
    REJECT_REASONS,
    RULES,
    Action,
    Decision,
    TransitionRefused,
    action_label,
    allowed_actions,
    decide,
    reject_reason_label,
)
from web.workflow.status import OPEN_STATUSES, TERMINAL, WITH_OPD

WIB = timezone(timedelta(hours=7))
NOW = datetime(2025, 11, 24, 9, 0, tzinfo=WIB)

STATUSES = [
    "received",
    "verified",
    "dispatched",
    "in_progress",
    "resolved",
    "closed",
    "rejected",
    "duplicate",
    "returned",
    "reopened",
]
ROLES = ["citizen", "operator", "opd_staff", "supervisor", "admin", "system"]
OPERATORS = {"operator", "admin"}

# Written out by hand from the brief, on purpose not derived from RULES.
# action: (source statuses, roles, target status; None = stays)
EXPECTED = {
    "verify": ({"received"}, OPERATORS, "verified"),
    "reject": ({"received", "verified", "returned", "reopened"}, OPERATORS, "rejected"),
    "mark_duplicate": ({"received", "verified"}, OPERATORS, "duplicate"),
    "dispatch": ({"verified", "returned", "reopened"}, OPERATORS, "dispatched"),
    "start": ({"dispatched"}, {"opd_staff"}, "in_progress"),
    "follow_up": ({"dispatched", "in_progress"}, {"opd_staff"}, "in_progress"),
    "resolve": ({"dispatched", "in_progress"}, {"opd_staff"}, "resolved"),
    "return_to_operator": ({"dispatched", "in_progress"}, {"opd_staff"}, "returned"),
    "close": ({"resolved"}, OPERATORS, "closed"),
    "confirm": ({"resolved"}, {"citizen"}, "closed"),
    "reopen": ({"resolved", "closed"}, {"citizen"}, "reopened"),
    "add_note": (
        {
            "received",
            "verified",
            "dispatched",
            "in_progress",
            "resolved",
            "closed",
            "returned",
            "reopened",
        },
        {"operator", "admin", "opd_staff"},
        None,
    ),
}

VALID_INPUTS = dict(
    note="Jalan sudah ditambal.",
    reason_code="prank",
    opd_id=3,
    duplicate_of=41,
    ticket_id=42,
    resolved_at=NOW - timedelta(days=1),
    now=NOW,
)


def refused(status: str, action: str, role: str, **inputs) -> str:
    with pytest.raises(TransitionRefused) as info:
        decide(status, action, role, **inputs)
    assert info.value.message == str(info.value)
    return info.value.message


def test_the_actions_are_exactly_those_of_the_brief():
    assert {a.value for a in Action} == set(EXPECTED)
    assert set(RULES) == set(Action)


def test_every_status_action_role_combination():
    wrong = []
    for status in STATUSES:
        for action, (sources, roles, target) in EXPECTED.items():
            for role in ROLES:
                expected = status in sources and role in roles
                try:
                    decision = decide(status, action, role, **VALID_INPUTS)
                except TransitionRefused as exc:
                    if expected:
                        wrong.append((status, action, role, "refused: " + exc.message))
                    elif not exc.message:
                        wrong.append((status, action, role, "refused without a message"))
                    continue
                if not expected:
                    wrong.append((status, action, role, "accepted"))
                elif decision.to_status != (target or status):
                    wrong.append((status, action, role, "went to " + decision.to_status))
                elif (decision.action, decision.from_status) != (action, status):
                    wrong.append((status, action, role, f"bad decision {decision}"))
    assert wrong == []


# Accepted there but not offered: before "Mulai tangani" the OPD's page asks to start or return.
NOT_OFFERED = {("dispatched", "follow_up"), ("dispatched", "resolve")}


def test_allowed_actions_match_the_table():
    for status in STATUSES:
        for role in ROLES:
            expected = [
                action
                for action, (sources, roles, _target) in EXPECTED.items()
                if status in sources and role in roles and (status, action) not in NOT_OFFERED
            ]
            assert sorted(allowed_actions(status, role)) == sorted(expected), (status, role)


def test_decision_for_verify():
    assert decide("received", Action.VERIFY, "operator") == Decision(
        action=Action.VERIFY, from_status="received", to_status="verified", public=True
    )


def test_action_may_be_given_as_a_string():
    assert decide("received", "verify", "admin").action is Action.VERIFY


def test_add_note_keeps_the_status_and_is_not_public():
    decision = decide("in_progress", Action.ADD_NOTE, "opd_staff", note="Menunggu alat berat.")
    assert decision.to_status == "in_progress"
    assert decision.public is False
    assert RULES[Action.ADD_NOTE].public is False


def test_every_other_action_is_public():
    assert all(rule.public for action, rule in RULES.items() if action is not Action.ADD_NOTE)


def test_follow_up_from_dispatched_moves_to_in_progress():
    decision = decide("dispatched", Action.FOLLOW_UP, "opd_staff", note="Tim sudah ke lokasi.")
    assert (decision.from_status, decision.to_status) == ("dispatched", "in_progress")


def test_supervisor_can_do_nothing():
    for status in STATUSES:
        assert allowed_actions(status, "supervisor") == []
        for action in Action:
            message = refused(status, action, "supervisor", **VALID_INPUTS)
            assert message == "Peran Anda tidak boleh melakukan ini."


def test_unknown_action_is_refused():
    assert refused("received", "approve", "operator") == "Aksi tidak dikenal."
    assert refused("received", "", "operator") == "Aksi tidak dikenal."


def test_unknown_role_is_refused():
    assert refused("received", Action.VERIFY, "mayor") == "Peran Anda tidak boleh melakukan ini."


def test_unknown_status_is_refused():
    assert refused("archived", Action.VERIFY, "operator") == "Status tiket tidak dikenal."


# Required inputs


@pytest.mark.parametrize(
    ("status", "action", "role"),
    [
        ("verified", Action.REJECT, "operator"),
        ("in_progress", Action.FOLLOW_UP, "opd_staff"),
        ("in_progress", Action.RESOLVE, "opd_staff"),
        ("dispatched", Action.RETURN_TO_OPERATOR, "opd_staff"),
        ("resolved", Action.REOPEN, "citizen"),
        ("received", Action.ADD_NOTE, "operator"),
    ],
)
@pytest.mark.parametrize("note", ["", "   \n"])
def test_a_note_is_required(status, action, role, note):
    inputs = {**VALID_INPUTS, "note": note}
    message = refused(status, action, role, **inputs)
    assert message.startswith("Tulis ")


def test_missing_note_messages_say_what_to_write():
    assert refused("verified", Action.REJECT, "operator", reason_code="prank") == (
        "Tulis alasan penolakan."
    )
    assert refused("in_progress", Action.RESOLVE, "opd_staff") == (
        "Tulis apa yang sudah dikerjakan."
    )


def test_actions_without_a_note_need_none():
    assert decide("received", Action.VERIFY, "operator").to_status == "verified"
    assert decide("dispatched", Action.START, "opd_staff").to_status == "in_progress"
    assert decide("resolved", Action.CLOSE, "operator").to_status == "closed"
    assert decide("resolved", Action.CONFIRM, "citizen").to_status == "closed"


def test_reject_requires_a_known_reason_code():
    note = "Lokasi tidak disebutkan."
    assert refused("received", Action.REJECT, "operator", note=note) == "Pilih alasan penolakan."
    assert (
        refused("received", Action.REJECT, "operator", note=note, reason_code="boring")
        == "Alasan penolakan tidak dikenal."
    )
    for code in ("prank", "insufficient_detail", "not_city_authority", "out_of_scope"):
        decision = decide("received", Action.REJECT, "operator", note=note, reason_code=code)
        assert decision.to_status == "rejected"


def test_mark_duplicate_requires_another_ticket():
    assert refused("received", Action.MARK_DUPLICATE, "operator", ticket_id=42).startswith(
        "Sebutkan nomor tiket"
    )
    assert (
        refused("received", Action.MARK_DUPLICATE, "operator", ticket_id=42, duplicate_of=42)
        == "Tiket tidak bisa menjadi duplikat dirinya sendiri."
    )
    decision = decide("verified", Action.MARK_DUPLICATE, "admin", ticket_id=42, duplicate_of=7)
    assert decision.to_status == "duplicate"


def test_dispatch_requires_an_opd():
    assert refused("verified", Action.DISPATCH, "operator") == "Pilih OPD tujuan disposisi."
    assert decide("verified", Action.DISPATCH, "operator", opd_id=3).to_status == "dispatched"


# Reopen window


def reopen(resolved_ago: timedelta, status: str = "resolved", **kwargs):
    return decide(
        status,
        Action.REOPEN,
        "citizen",
        note="Lubangnya muncul lagi.",
        resolved_at=NOW - resolved_ago,
        now=NOW,
        **kwargs,
    )


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_reopen_inside_the_window(status):
    assert reopen(timedelta(days=6), status).to_status == "reopened"
    assert reopen(timedelta(days=7), status).to_status == "reopened"  # the last moment counts


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_reopen_after_the_window_is_refused(status):
    with pytest.raises(TransitionRefused) as info:
        reopen(timedelta(days=7, seconds=1), status)
    assert info.value.message == "Batas waktu membuka kembali laporan (7 hari) sudah lewat."


def test_reopen_window_is_configurable():
    assert reopen(timedelta(days=2), reopen_window_days=3).to_status == "reopened"
    with pytest.raises(TransitionRefused) as info:
        reopen(timedelta(days=4), reopen_window_days=3)
    assert "(3 hari)" in info.value.message


def test_reopen_without_a_resolution_time_is_refused():
    message = refused("closed", Action.REOPEN, "citizen", note="Belum beres.", now=NOW)
    assert "tidak bisa dibuka kembali" in message


@pytest.mark.clock
def test_reopen_defaults_now_to_the_current_time():
    recent = datetime.now(tz=WIB) - timedelta(hours=1)
    decision = decide("resolved", Action.REOPEN, "citizen", note="Belum beres.", resolved_at=recent)
    assert decision.to_status == "reopened"


# Messages


def test_messages_are_indonesian_and_distinct_by_kind():
    with use_locale("id"):
        wrong_state = refused("verified", Action.VERIFY, "operator")
        wrong_role = refused("received", Action.VERIFY, "citizen")
        missing_input = refused("in_progress", Action.RESOLVE, "opd_staff")
    assert wrong_state == "Tiket ini sudah diverifikasi; tidak bisa diverifikasi lagi."
    assert wrong_role == "Peran Anda tidak boleh melakukan ini."
    assert missing_input == "Tulis apa yang sudah dikerjakan."
    assert len({wrong_state, wrong_role, missing_input}) == 3


def test_wrong_state_message_uses_labels_not_codes():
    message = refused("closed", Action.DISPATCH, "operator", opd_id=3)
    assert message == '"Disposisikan" tidak bisa dilakukan pada tiket berstatus "Selesai".'


def test_terminal_statuses_say_the_ticket_is_final():
    assert refused("rejected", Action.DISPATCH, "operator", opd_id=3) == (
        "Tiket ini sudah ditolak; tidak bisa diubah lagi."
    )
    assert refused("duplicate", Action.ADD_NOTE, "operator", note="x") == (
        "Tiket ini sudah ditandai duplikat; tidak bisa diubah lagi."
    )


def test_role_is_checked_before_status():
    # A citizen gets the role message even on a ticket that is already verified.
    assert refused("verified", Action.VERIFY, "citizen") == "Peran Anda tidak boleh melakukan ini."


# Constants and labels


def test_status_groups():
    assert set(TERMINAL) == {"rejected", "duplicate"}
    assert set(WITH_OPD) == {"dispatched", "in_progress"}
    assert set(OPEN_STATUSES) == set(STATUSES) - {"closed", "rejected", "duplicate"}


def test_action_labels_are_indonesian_and_distinct():
    labels = {action: action_label(action) for action in Action}
    assert labels[Action.VERIFY] == "Verifikasi"
    assert labels[Action.RETURN_TO_OPERATOR] == "Kembalikan ke operator"
    assert labels[Action.ADD_NOTE] == "Catatan internal"
    assert len(set(labels.values())) == len(Action)
    assert all(label != action.value for action, label in labels.items())


def test_reject_reason_labels():
    assert set(REJECT_REASONS) == {
        "prank",
        "insufficient_detail",
        "not_city_authority",
        "out_of_scope",
    }
    labels = [reject_reason_label(code) for code in REJECT_REASONS]
    assert all(label and label not in REJECT_REASONS for label in labels)
    assert len(set(labels)) == 4
    assert reject_reason_label("unknown") == "unknown"


def test_every_status_has_a_label_in_both_languages():
    from web import i18n
    from web.vocabulary import status_label
    from web.workflow.status import Status

    for locale in ("id", "en"):
        with i18n.use_locale(locale):
            labels = {status_label(status) for status in Status}
        assert len(labels) == len(Status)
        assert not labels & {str(status) for status in Status}
