from audit.domain.chain import GENESIS, Row, link, verify


def chain(n: int) -> list[Row]:
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        entry = {"event_id": f"e{seq}", "type": "org.divert.referral.DiversionOffered.v1", "data": {"n": seq}}
        digest = link(prev, seq, entry)
        rows.append(Row(seq, entry, prev, digest))
        prev = digest
    return rows


class TestVerification:
    def test_an_intact_chain_is_valid(self) -> None:
        rows = chain(5)
        report = verify(rows, 5, rows[-1].hash)
        assert report.valid and report.entries == 5

    def test_the_empty_chain_is_valid(self) -> None:
        assert verify([], 0, GENESIS).valid

    def test_an_altered_entry_is_named(self) -> None:
        rows = chain(5)
        rows[2] = Row(3, {**rows[2].entry, "data": {"n": 99}}, rows[2].prev_hash, rows[2].hash)
        report = verify(rows, 5, rows[-1].hash)
        assert not report.valid and report.first_bad_entry == 3

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
        forged_entry = {**rows[1].entry, "data": {"n": 42}}
        rows[1] = Row(2, forged_entry, rows[1].prev_hash, link(rows[1].prev_hash, 2, forged_entry))
        report = verify(rows, 5, rows[-1].hash)
        assert not report.valid and report.first_bad_entry == 3
