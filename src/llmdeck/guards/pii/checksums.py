"""Check digits that tell a real identifier from a number that merely looks like one."""

from __future__ import annotations

import re

# IBAN length per country (ISO 13616 registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)  # fmt: skip
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)  # fmt: skip
_NINO = re.compile(r"^(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def digits(value: str) -> str:
    """The decimal digits of `value`."""
    return "".join(c for c in value if c.isdigit())


def luhn(value: str) -> bool:
    """The Luhn (mod 10) check used by payment cards."""
    numbers = [int(c) for c in digits(value)]
    if not numbers:
        return False
    total = 0
    for position, digit in enumerate(reversed(numbers)):
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def iban(value: str) -> bool:
    """ISO 13616: known country, its length, and the mod-97 check equal to 1."""
    code = value.replace(" ", "").upper()
    if len(code) < 15 or not code.isalnum() or IBAN_LENGTHS.get(code[:2]) != len(code):
        return False
    if not code[2:4].isdigit():
        return False
    rearranged = code[4:] + code[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def us_ssn(value: str) -> bool:
    """US Social Security number rules: area not 000, 666 or 9xx; group and serial not zero;
    and not one of the numbers published in advertising."""
    number = digits(value)
    if len(number) != 9:
        return False
    area, group, serial = number[:3], number[3:5], number[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return number not in ("078051120", "219099999", "123456789")


def uk_nino(value: str) -> bool:
    """UK National Insurance number format (prefixes and suffix letters that are issued)."""
    return bool(_NINO.match(value.replace(" ", "").upper()))


def es_dni(value: str) -> bool:
    """Spanish DNI/NIE: the control letter is the number mod 23."""
    code = value.replace("-", "").replace(" ", "").upper()
    if len(code) != 9 or not code[-1].isalpha():
        return False
    body = code[:-1]
    if body[0] in "XYZ":
        body = str("XYZ".index(body[0])) + body[1:]
    if not body.isdigit():
        return False
    return _DNI_LETTERS[int(body) % 23] == code[-1]


def br_cpf(value: str) -> bool:
    """Brazilian CPF: two mod-11 check digits; repeated digits are invalid."""
    number = [int(c) for c in digits(value)]
    if len(number) != 11 or len(set(number)) == 1:
        return False
    for size in (9, 10):
        total = sum(d * w for d, w in zip(number[:size], range(size + 1, 1, -1), strict=True))
        check = (total * 10) % 11 % 10
        if check != number[size]:
            return False
    return True


def verhoeff(value: str) -> bool:
    """The Verhoeff check (Indian Aadhaar numbers)."""
    check = 0
    for position, digit in enumerate(reversed(digits(value))):
        check = _VERHOEFF_D[check][_VERHOEFF_P[position % 8][int(digit)]]
    return check == 0


def in_aadhaar(value: str) -> bool:
    """Indian Aadhaar: 12 digits, not starting with 0 or 1, Verhoeff check digit."""
    number = digits(value)
    return len(number) == 12 and number[0] not in "01" and verhoeff(number)
