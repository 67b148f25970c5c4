"""统一社会信用代码 validation per GB 32100-2015."""
import pytest

from crm.core.uscc import check_digit, is_valid_uscc, normalize_uscc, uscc_error

VALID = [
    "91350100M000100Y43",  # the example in GB 32100-2015
    "91110000802100433B",
    "914403001922038216",
    "91110108551385082Q",
    "91640100MA76ABCD24",  # the example in domain/readiness-profile.md
]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes(code):
    assert uscc_error(code) is None
    assert is_valid_uscc(code)


@pytest.mark.parametrize("code", [
    "91350100M000100Y44",  # wrong check digit
    "91110000802100433C",
    "91350100M000100Y4",  # 17 characters
    "91350100M000100Y433",  # 19 characters
    "91350100M0001O0Y43",  # letter O is not in the alphabet
    "91350100I000100Y43",  # nor is I
    "",
])
def test_invalid_codes(code, app):
    assert not is_valid_uscc(code)
    with app.test_request_context():
        assert uscc_error(normalize_uscc(code))


def test_check_digit_is_computed_from_the_first_17():
    for code in VALID:
        assert check_digit(code[:17]) == code[17]


def test_normalize_strips_spaces_and_full_width_and_upper_cases():
    assert normalize_uscc(" ９１３５０１００ｍ000100y43 ") == "91350100M000100Y43"
    assert is_valid_uscc("91350100m000100y43")


def test_messages_say_what_is_wrong(app):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("zh_Hans_CN"):
        assert str(uscc_error("91350100M000100Y44")) == "校验位错误"
        assert "17" in str(uscc_error("91350100M000100Y4"))
        assert "O" in str(uscc_error("91350100M0001O0Y43"))
