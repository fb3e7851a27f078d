"""What a voter types to find their ballot: a code in any case or spacing, or its hash."""

from votes.receipts import ALPHABET, GROUP_LENGTH, GROUPS, receipt_code_new, receipt_hash, receipt_lookup_hashes


def test_a_code_is_found_however_it_is_typed() -> None:
    code = receipt_code_new()
    stored = receipt_hash(code)
    for typed in (code, code.lower(), code.replace("-", " "), f"  {code.replace('-', '')}  "):
        assert stored in receipt_lookup_hashes(typed), typed


def test_a_pasted_hash_is_looked_up_as_it_is() -> None:
    stored = receipt_hash(receipt_code_new())
    assert receipt_lookup_hashes(stored.upper()) == [stored]


def test_another_code_finds_nothing() -> None:
    assert receipt_hash(receipt_code_new()) not in receipt_lookup_hashes(receipt_code_new())


def test_a_code_is_four_groups_of_five_letters_of_the_alphabet_each_letter_used_everywhere() -> None:
    codes = [receipt_code_new() for _ in range(3000)]
    assert len(set(codes)) == len(codes)
    for code in codes:
        groups = code.split("-")
        assert [len(group) for group in groups] == [GROUP_LENGTH] * GROUPS, code
        assert set("".join(groups)) <= set(ALPHABET), code
    # 100 bits: every position takes every one of the 32 letters (3000 draws miss one
    # with a probability under 1e-35), the last position as much as the first.
    letters = [code.replace("-", "") for code in codes]
    for position in (0, 9, GROUPS * GROUP_LENGTH - 1):
        assert {code[position] for code in letters} == set(ALPHABET), position
