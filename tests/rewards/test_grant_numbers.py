import pytest

from rewards.numbers import is_valid_grant_no, luhn_digit
from tests.processes import run_workers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


def test_one_hundred_thousand_numbers_from_four_processes_are_all_distinct():
    batches = run_workers("tests.rewards.workers.grant_numbers", [(25_000,)] * 4, timeout=300)
    numbers = [number for batch in batches for number in batch]
    assert len(numbers) == 100_000
    assert len(set(numbers)) == 100_000
    assert all(is_valid_grant_no(number) for number in numbers[:1000])


def test_check_digit_catches_a_typo():
    number = "RG0000100001" + luhn_digit("0000100001")
    assert is_valid_grant_no(number)
    assert not is_valid_grant_no(number[:-2] + str((int(number[-2]) + 1) % 10) + number[-1])
