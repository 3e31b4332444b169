from dataclasses import replace
from datetime import UTC, datetime, timedelta

import rfc8785

from audit.domain.chain import GENESIS, Row, Seal, link, link_v1, verify

T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)


def chain(n: int, legacy: int = 0) -> list[Row]:
    """`n` entries, the first `legacy` of them hashed the version-1 way."""
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        at = T0 + timedelta(seconds=seq, microseconds=seq)
        entry = {
            "event_id": f"e{seq}",
            "recorded_at": at.isoformat(timespec="milliseconds"),
            "type": "org.divert.referral.DiversionOffered.v1",
            "data": {"n": seq},
        }
        version = 1 if seq <= legacy else 2
        digest = link_v1(prev, seq, entry) if version == 1 else link(prev, seq, f"e{seq}", at, entry)
        rows.append(Row(seq, f"e{seq}", at, entry, prev, digest, version))
        prev = digest
    return rows


def report_for(rows: list[Row], **seals: Seal):  # type: ignore[no-untyped-def]
    return verify(rows, len(rows), rows[-1].hash, {int(k[1:]): v for k, v in seals.items()})


class TestVerification:
    def test_an_intact_chain_is_valid(self) -> None:
        rows = chain(5)
        report = verify(rows, 5, rows[-1].hash)
        assert report.valid and report.entries == 5

    def test_a_chain_begun_under_version_1_and_continued_under_version_2_is_valid(self) -> None:
        assert report_for(chain(6, legacy=3)).valid

    def test_the_empty_chain_is_valid(self) -> None:
        assert verify([], 0, GENESIS).valid

    def test_an_altered_entry_is_named(self) -> None:
        rows = chain(5)
        rows[2] = replace(rows[2], entry={**rows[2].entry, "data": {"n": 99}})
        report = report_for(rows)
        assert not report.valid and report.first_bad_entry == 3

    def test_an_altered_event_id_or_recorded_at_is_named_in_either_version(self) -> None:
        for legacy in (0, 5):
            rows = chain(5, legacy)
            altered = [replace(rows[1], event_id="other"), replace(rows[1], recorded_at=T0 + timedelta(days=1))]
            for row in altered:
                report = report_for([rows[0], row, *rows[2:]])
                assert (report.valid, report.first_bad_entry) == (False, 2), (legacy, row)

    def test_a_version_2_entry_passed_off_as_version_1_is_named(self) -> None:
        # Version 1 did not hash event_id: a downgrade would let it be altered. Never after a version-2 entry.
        rows = chain(5, legacy=2)
        forged = replace(rows[3], event_id="other", hash_version=1, hash=link_v1(rows[3].prev_hash, 4, rows[3].entry))
        after = replace(rows[4], prev_hash=forged.hash)
        rows[3], rows[4] = forged, replace(after, hash=after.computed_hash())
        report = verify(rows, 5, rows[4].hash)
        assert (report.valid, report.first_bad_entry) == (False, 4)
        assert "older hash version" in str(report.problem)

    def test_the_version_2_hash_is_sha256_of_the_rfc8785_form_of_every_stored_field(self) -> None:
        row = chain(1)[0]
        document = {
            "hash_version": 2,
            "seq": 1,
            "event_id": "e1",
            "recorded_at": "2026-11-23T12:00:01.000001Z",
            "entry": row.entry,
            "prev_hash": GENESIS,
        }
        assert row.hash == __import__("hashlib").sha256(rfc8785.dumps(document)).hexdigest()

    def test_a_deleted_entry_is_named(self) -> None:
        rows = chain(5)
        del rows[1]
        report = verify(rows, 5, rows[-1].hash)
        assert not report.valid and report.first_bad_entry == 2

    def test_a_truncated_tail_is_detected_against_the_head(self) -> None:
        rows = chain(5)
        report = verify(rows[:3], 5, rows[-1].hash)
        assert not report.valid and report.first_bad_entry == 4

    def test_a_rehashed_forgery_breaks_the_next_link(self) -> None:
        rows = chain(5)
        forged = replace(rows[1], entry={**rows[1].entry, "data": {"n": 42}})
        rows[1] = replace(forged, hash=forged.computed_hash())
        report = report_for(rows)
        assert not report.valid and report.first_bad_entry == 3

    def test_a_checkpoint_that_is_not_genuine_is_named(self) -> None:
        rows = chain(5)
        report = report_for(rows, s2=Seal(rows[1].hash), s4=Seal(rows[3].hash, "not signed"))
        assert (report.valid, report.first_bad_entry, report.first_bad_checkpoint) == (False, 4, 4)

    def test_a_full_rewrite_breaks_a_genuine_checkpoint(self) -> None:
        rows = chain(5)
        rewritten = chain(5)  # same shape, other times: every hash differs
        rewritten = [replace(r, recorded_at=r.recorded_at + timedelta(hours=1)) for r in rewritten]
        prev = GENESIS
        for i, r in enumerate(rewritten):
            r = replace(r, prev_hash=prev, entry={**r.entry, "recorded_at": "x"})
            rewritten[i] = r = replace(r, hash=r.computed_hash())
            prev = r.hash
        report = report_for(rewritten, s3=Seal(rows[2].hash))
        assert (report.valid, report.first_bad_entry, report.first_bad_checkpoint) == (False, 3, 3)

    def test_a_value_no_canonical_form_can_hold_is_named_not_a_crash(self) -> None:
        rows = chain(3)
        rows[1] = replace(rows[1], entry={**rows[1].entry, "data": {"n": 10**400}})
        report = report_for(rows)
        assert (report.valid, report.first_bad_entry, report.problem) == (False, 2, "the entry was altered")

    def test_a_legacy_entry_that_is_not_an_object_is_named_not_a_crash(self) -> None:
        rows = chain(2, legacy=2)
        odd = ["not", "an", "entry"]
        rows[0] = replace(rows[0], entry=odd, hash=link_v1(GENESIS, 1, odd))  # type: ignore[arg-type]
        rows[1] = replace(rows[1], prev_hash=rows[0].hash, hash=link_v1(rows[0].hash, 2, rows[1].entry))
        report = report_for(rows)
        assert (report.valid, report.first_bad_entry) == (False, 1)
        assert "event_id or recorded_at" in str(report.problem)
