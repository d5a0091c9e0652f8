"""Coupon codes: readable alphabet, fixed format, unique, matched case-insensitively."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from reactivator.core.coupons import ALPHABET, CODE_LENGTH, new_coupon_code, normalise_coupon

CODE = re.compile(rf"^[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{2}}$")


@pytest.mark.parametrize("look_alike", ["0", "O", "1", "I", "L"])
def test_alphabet_excludes_look_alike_characters(look_alike: str) -> None:
    assert look_alike not in ALPHABET


@pytest.mark.parametrize("look_alike", ["5", "S", "8", "B"])
def test_alphabet_excludes_the_other_documented_look_alikes(look_alike: str) -> None:
    assert look_alike not in ALPHABET


def test_alphabet_is_uppercase_letters_and_digits_without_repeats() -> None:
    assert len(set(ALPHABET)) == len(ALPHABET)
    assert all(c.isdigit() or ("A" <= c <= "Z") for c in ALPHABET)


def test_code_has_ten_characters_in_groups_of_four_four_two() -> None:
    code = new_coupon_code()
    assert CODE.fullmatch(code), code
    assert len(code.replace("-", "")) == CODE_LENGTH == 10


def test_codes_never_contain_look_alikes() -> None:
    for _ in range(2_000):
        assert not set(new_coupon_code()) & set("0O1IL5S8B")


def test_prefix_is_prepended_unchanged() -> None:
    code = new_coupon_code("WB-")
    assert code.startswith("WB-")
    assert CODE.fullmatch(code.removeprefix("WB-")), code


def test_codes_are_unique_over_many_draws() -> None:
    codes = [new_coupon_code() for _ in range(20_000)]
    assert len(set(codes)) == len(codes)


def test_codes_use_the_whole_alphabet() -> None:
    seen = Counter("".join(new_coupon_code() for _ in range(5_000)).replace("-", ""))
    assert set(seen) == set(ALPHABET)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("k7qh-9pxm-3t", "K7QH-9PXM-3T"),
        ("  K7QH-9PXM-3T\n", "K7QH-9PXM-3T"),
        ("\tk7Qh-9pXm-3t ", "K7QH-9PXM-3T"),
        ("wb-k7qh-9pxm-3t", "WB-K7QH-9PXM-3T"),
    ],
)
def test_normalise_coupon_ignores_case_and_surrounding_spaces(typed: str, stored: str) -> None:
    assert normalise_coupon(typed) == stored


def test_generated_code_typed_in_lower_case_normalises_back_to_itself() -> None:
    code = new_coupon_code()
    assert normalise_coupon(code) == code
    assert normalise_coupon(f"  {code.lower()} ") == code


def test_normalise_coupon_is_idempotent() -> None:
    once = normalise_coupon(" ab-cd ")
    assert normalise_coupon(once) == once
