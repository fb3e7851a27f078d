"""What a voter types to find their ballot: a code in any case or spacing, or its hash."""

from votes.receipts import receipt_code_new, receipt_hash, receipt_lookup_hashes


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
