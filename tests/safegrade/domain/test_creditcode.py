"""The credit code check (GB 32100-2015): the published sample, every kind of bad code, and properties."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safegrade.domain import creditcode

SAMPLE = "91350100M000100Y43"

first17s = st.text(alphabet=creditcode.ALPHABET, min_size=17, max_size=17)


def test_sample_code_is_valid() -> None:
    assert creditcode.problem(SAMPLE) is None
    assert creditcode.check_char(SAMPLE[:17]) == "3"
    assert creditcode.make(SAMPLE[:17]) == SAMPLE
    assert not creditcode.check_char_mismatch(SAMPLE)


def test_check_computed_by_hand() -> None:
    """Recompute the sample's check character from the standard's definition, not the module's."""
    values = [creditcode.ALPHABET.index(c) for c in SAMPLE[:17]]
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    index = (31 - sum(v * w for v, w in zip(values, weights, strict=True)) % 31) % 31
    assert creditcode.ALPHABET[index] == SAMPLE[-1]


def test_alphabet_has_31_symbols_without_ambiguous_letters() -> None:
    assert len(creditcode.ALPHABET) == 31
    assert not set("IOSVZ") & set(creditcode.ALPHABET)


def test_wrong_check_character_names_both() -> None:
    assert creditcode.problem(SAMPLE[:17] + "4") == "check character is '4', expected '3'"
    assert creditcode.check_char_mismatch(SAMPLE[:17] + "4")


@pytest.mark.parametrize(("code", "length"), [(SAMPLE[:17], 17), (SAMPLE + "0", 19), ("9", 1)])
def test_wrong_length_says_the_length(code: str, length: int) -> None:
    reason = creditcode.problem(code)
    assert reason is not None
    assert f"has {length} character(s), 18 needed" in reason
    assert not creditcode.check_char_mismatch(code)


def test_empty_code() -> None:
    reason = creditcode.problem("")
    assert reason is not None
    assert "empty" in reason


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_never_used_letters_are_named(letter: str) -> None:
    code = SAMPLE[:8] + letter + SAMPLE[9:]
    reason = creditcode.problem(code)
    assert reason is not None
    assert f"{letter!r}" in reason
    assert "I, O, S, V, Z" in reason
    assert "never used" in reason
    assert "check character" not in reason
    assert not creditcode.check_char_mismatch(code)


def test_other_characters_named_once_each_in_order() -> None:
    reason = creditcode.problem("91350100-000100-43")
    assert reason is not None
    assert "character(s) '-' not allowed" in reason
    reason = creditcode.problem("9135010中M00010#Y43")
    assert reason is not None
    assert "character(s) '中', '#' not allowed" in reason


def test_lower_case_is_not_allowed_but_hinted() -> None:
    reason = creditcode.problem(SAMPLE.lower())
    assert reason is not None
    assert "'m', 'y' not allowed" in reason
    assert "capitals" in reason


def test_length_and_characters_reported_together() -> None:
    reason = creditcode.problem("91350100O000100Y4")
    assert reason == ("has 17 character(s), 18 needed; character(s) 'O' not allowed: a credit code uses "
                      "digits 0–9 and capital letters except I, O, S, V, Z, which are never used")


def test_normalize_spaces_full_width_and_case() -> None:
    assert creditcode.normalize(" 9135 0100m000100y43\t") == SAMPLE
    assert creditcode.normalize("\u3000９１３５０１００Ｍ０００１００Ｙ４３\u3000") == SAMPLE
    assert creditcode.normalize("９１３５０１００ｍ０００１００ｙ４３") == SAMPLE


def test_normalize_keeps_wrong_codes_wrong() -> None:
    assert creditcode.normalize("91350100-M000100Y43") == "91350100-M000100Y43"
    assert creditcode.normalize("9135O100M000100Y43") == "9135O100M000100Y43"


@pytest.mark.parametrize("bad", [SAMPLE[:16], SAMPLE[:17] + "0", "9135010OM000100Y4"])
def test_check_char_refuses_what_has_no_check(bad: str) -> None:
    with pytest.raises(ValueError, match=re.escape(bad)):
        creditcode.check_char(bad)


@given(first17s)
def test_make_is_always_valid(first17: str) -> None:
    code = creditcode.make(first17)
    assert len(code) == 18
    assert code.startswith(first17)
    assert creditcode.problem(code) is None


@given(first17s, st.integers(0, 17), st.sampled_from(creditcode.ALPHABET + "IOSVZa-"))
def test_any_single_change_is_invalid(first17: str, position: int, replacement: str) -> None:
    code = creditcode.make(first17)
    if code[position] == replacement:
        return
    changed = code[:position] + replacement + code[position + 1:]
    assert creditcode.problem(changed) is not None


@given(first17s, st.integers(0, 17), st.integers(1, 30))
def test_any_single_change_within_alphabet_fails_the_check(first17: str, position: int, shift: int) -> None:
    """A changed character from the alphabet is caught by the check character itself (31 is prime)."""
    code = creditcode.make(first17)
    alphabet = creditcode.ALPHABET
    new = alphabet[(alphabet.index(code[position]) + shift) % 31]
    changed = code[:position] + new + code[position + 1:]
    assert creditcode.check_char_mismatch(changed)
    assert creditcode.problem(changed) is not None
