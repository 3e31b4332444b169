"""Primary and complementary suppression on small systems whose answers can be checked by hand."""

from __future__ import annotations

from evaluation.domain.suppression import exposed, primary, suppress


class TestPrimary:
    def test_one_to_ten_is_suppressed_and_zero_and_eleven_are_not(self) -> None:
        assert primary({"a": 0, "b": 1, "c": 10, "d": 11}) == {"b", "c"}


class TestComplementary:
    def test_a_lone_small_cell_gets_the_smallest_nonzero_partner(self) -> None:
        values = {"total": 45, "black": 4, "white": 20, "asian": 21, "other": 0}
        hidden = suppress(values, [("total", ("black", "white", "asian", "other"))])
        assert hidden == {"black", "white"}

    def test_a_suppressed_total_is_protected_too(self) -> None:
        values = {"total": 7, "black": 7, "white": 0}
        hidden = suppress(values, [("total", ("black", "white"))])
        assert hidden == {"total", "black"}  # 7 - 7 tells nothing about 7

    def test_a_cell_pinned_down_by_three_equations_none_alone_gets_a_partner(self) -> None:
        # a + b, a + c and b + c are published: each equation hides two cells, yet a = (12 + 11 - 17) / 2.
        values = {"a": 3, "b": 9, "c": 8, "w1": 12, "w2": 11, "w3": 17}
        eqs = [("w1", ("a", "b")), ("w2", ("a", "c")), ("w3", ("b", "c"))]
        assert exposed(eqs, {"a", "b", "c"}) == {"a", "b", "c"}
        hidden = suppress(values, eqs)
        assert {"a", "b", "c"} < hidden
        assert exposed(eqs, hidden) == set()

    def test_the_same_table_always_suppresses_the_same_cells(self) -> None:
        values = {"t": 30, "x": 5, "y": 12, "z": 13}
        eqs = [("t", ("x", "y", "z"))]
        assert suppress(values, eqs) == suppress(dict(reversed(values.items())), eqs) == {"x", "y"}
