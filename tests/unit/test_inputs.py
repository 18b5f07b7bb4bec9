"""The shared readers of user files: bounded quoting, one-line errors, safe JSON documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_mc.errors import BundleError, InputError, one_line
from pytest_mc.inputs import parse_json_object, quote, read_json_object, too_deep


def read(tmp_path: Path, data: bytes) -> dict[str, object]:
    path = tmp_path / "doc.json"
    path.write_bytes(data)
    return read_json_object(path, what="evidence bundle", error=BundleError)


def refusal(tmp_path: Path, data: bytes) -> str:
    with pytest.raises(BundleError) as caught:
        read(tmp_path, data)
    return str(caught.value)


def test_a_long_string_is_quoted_to_its_first_200_characters_and_its_length() -> None:
    assert quote("x" * 500_000) == repr("x" * 200) + "… (500000 characters)"


def test_a_short_value_is_quoted_as_its_repr() -> None:
    assert quote({"a": [1, True, None]}) == "{'a': [1, True, None]}"


def test_a_huge_integer_is_described_not_printed() -> None:
    assert quote(10**5000) == "<an integer of about 5001 digits>"


def test_deep_and_wide_values_are_quoted_in_bounded_space() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(10_000):
        child: list[object] = []
        node.append(child)
        node = child
    assert len(quote(deep)) <= 201
    assert len(quote(list(range(100_000)))) <= 201


def test_an_input_error_is_one_line_of_bounded_length_keeping_its_advice() -> None:
    message = str(InputError("bad value " + "v" * 5000 + "\nsecond line; do this"))
    assert "\n" not in message
    assert len(message) == 900
    assert message.startswith("bad value vvv")
    assert message.endswith("second line; do this")


def test_a_short_message_is_left_as_it_is() -> None:
    assert one_line("what; where; what to do") == "what; where; what to do"


def test_a_json_object_is_read(tmp_path: Path) -> None:
    assert read(tmp_path, b'{"a": [1, 2.5, "\xc3\xa9"]}') == {"a": [1, 2.5, "é"]}


def test_a_missing_document_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"^evidence bundle not found: .*nope\.json$"):
        read_json_object(tmp_path / "nope.json", what="evidence bundle", error=BundleError)


def test_a_directory_is_not_a_document(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"^evidence bundle .* is not a file$"):
        read_json_object(tmp_path, what="evidence bundle", error=BundleError)


def test_a_document_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b"{}" + b" " * 100)
    with pytest.raises(BundleError, match=r"is 102 bytes, more than the 10 bytes"):
        read_json_object(path, what="evidence bundle", error=BundleError, limit=10)


def test_nesting_deeper_than_the_json_module_can_parse_is_one_line(tmp_path: Path) -> None:
    message = refusal(tmp_path, b"[" * 100_000)
    assert message.endswith(
        "nests objects or arrays more than 64 levels deep; it was altered or truncated"
    )


def test_nesting_the_json_module_parses_but_validators_would_not_is_refused(
    tmp_path: Path,
) -> None:
    assert "more than 64 levels deep" in refusal(tmp_path, b'{"a":' * 500 + b"1" + b"}" * 500)


def test_nesting_up_to_the_limit_is_read(tmp_path: Path) -> None:
    assert read(tmp_path, b'{"a":' * 63 + b"1" + b"}" * 63)


def test_bytes_that_are_not_utf8_are_named(tmp_path: Path) -> None:
    assert refusal(tmp_path, b'{"a": "\xff"}').endswith(
        "is not valid JSON (not UTF-8: byte 7 is 0xff); it was altered or truncated"
    )


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_are_not_json(tmp_path: Path, literal: bytes) -> None:
    assert "is not valid JSON" in refusal(tmp_path, b'{"a": ' + literal + b"}")


def test_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    assert "duplicate key 'a'" in refusal(tmp_path, b'{"a": 1, "a": 2}')


def test_a_five_thousand_digit_integer_is_one_line(tmp_path: Path) -> None:
    message = refusal(tmp_path, b'{"a": ' + b"9" * 5000 + b"}")
    assert "is not valid JSON (integer 999" in message
    assert "(5000 characters)" in message
    assert "is outside ±(2^53 − 1)" in message
    assert len(message) < 500


@pytest.mark.parametrize(
    "literal", [b"9007199254740992", b"-9007199254740992", b"18446744073709551616"]
)
def test_an_integer_json_cannot_hold_exactly_is_refused(tmp_path: Path, literal: bytes) -> None:
    message = refusal(tmp_path, b'{"a": ' + literal + b"}")
    assert f"integer {literal.decode()} is outside ±(2^53 − 1)" in message


def test_the_largest_exact_integers_are_read(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(b'{"a": 9007199254740991, "b": -9007199254740991, "c": 0}')
    document = read_json_object(path, what="evidence bundle", error=BundleError)
    assert document == {"a": 2**53 - 1, "b": -(2**53 - 1), "c": 0}


def test_a_top_level_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(BundleError, match=r"^chain line 3: top level is not a JSON object"):
        parse_json_object("[1]", where="chain line 3", error=BundleError)


def test_shared_nodes_are_measured_once_per_level() -> None:
    node: object = [1]
    for _ in range(40):
        node = [node, node]  # 2**40 paths, 41 distinct nodes
    assert not too_deep(node)
    assert too_deep(node, limit=40)
