"""PII masking with typed placeholders: e-mail, phone, card, IBAN and Latin American / Spanish IDs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

__all__ = ["PII_KINDS", "Redaction", "redact"]

PII_KINDS: tuple[str, ...] = (
    "email",
    "phone",
    "card",
    "iban",
    "cpf",
    "cnpj",
    "curp",
    "rfc",
    "cuit",
    "dni_ar",
    "cedula_co",
    "dni_es",
    "nie",
)

type Span = tuple[int, int]

# Claimed text is overwritten with this character while scanning, so no later pattern can match or cross it.
_FILL = "\x00"
# A number never starts inside a word, a path, an order tag ("#123") or right after "1." / "1-" ...
_B = r"(?<![\w+#/])(?<!\d[.,/:\-])"
# ... and never stops right before more of the same number.
_E = r"(?!\w)(?![.,/:\-]\d)"
# Between a keyword and its number: short, no digits, no line break, no placeholder.
_GAP = r"[^\d\n\[\]\x00]{0,20}?"
_GAP_END = r"[^\d\n\[\]\x00]{0,20}\Z"

_PLACEHOLDER_RE = re.compile(r"\[(?:" + "|".join(kind.upper() for kind in PII_KINDS) + r")\]")
_NON_DIGIT_RE = re.compile(r"\D")
_DIGIT_RUN_RE = re.compile(r"\d+")

_EMAIL_RE = re.compile(r"(?<![\w.+\-])(?P<v>[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,})(?![\w\-])")
_IBAN_RE = re.compile(r"(?<!\w)(?P<v>[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?)(?!\w)", re.IGNORECASE)
_CNPJ_RE = re.compile(_B + r"(?P<v>[\dA-Z]{2}\.[\dA-Z]{3}\.[\dA-Z]{3}/[\dA-Z]{4}-\d{2}|\d{8}/\d{4}-\d{2}|\d{14})" + _E)
_CPF_RE = re.compile(_B + r"(?P<v>\d{3}\.\d{3}\.\d{3}-\d{2}|\d{9}-\d{2}|\d{11})" + _E)
_CUIT_RE = re.compile(_B + r"(?P<v>(?:20|23|24|27|30|33|34)-(?:\d{8}|\d{2}\.\d{3}\.\d{3})-\d)" + _E)
_CUIT_KEY_RE = re.compile(r"(?i:\bCUI[TL]\b)" + _GAP + r"(?P<v>\d{11})" + _E)
_CARD_RE = re.compile(
    _B + r"(?P<v>[2-6]\d{12,18}"
    r"|[2-6]\d{3}(?P<s>[ \-])\d{4}(?P=s)\d{4}(?P=s)\d{4}(?:(?P=s)\d{3})?"
    r"|3\d{3}[ \-]\d{6}[ \-]\d{4,5})" + _E
)
_CURP_RE = re.compile(
    r"(?<![\w&])(?P<v>[A-Z][AEIOUX][A-Z]{2}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[HMX]"
    r"(?:AS|BC|BS|CC|CL|CM|CS|CH|DF|DG|GT|GR|HG|JC|MC|MN|MS|NT|NL|OC|PL|QT|QR|SP|SL|SR|TC|TS|TL|VZ|YN|ZS|NE)"
    r"[B-DF-HJ-NP-TV-Z]{3}[A-Z\d]\d)(?![\w&])",
    re.IGNORECASE,
)
_RFC_RE = re.compile(r"(?<![\w&])(?P<v>[A-ZÑ&]{3,4}\d{6}[A-Z\d]{2}[\dA])(?![\w&])", re.IGNORECASE)
_DNI_ES_RE = re.compile(_B + r"(?P<v>(?:\d{8}|\d{2}\.\d{3}\.\d{3})(?:-?[A-Za-z]|\x20[A-Z]))(?!\w)")
_NIE_RE = re.compile(_B + r"(?P<v>[XYZxyz]-?\d{7}(?:-?[A-Za-z]|\x20[A-Z]))(?!\w)")
_DNI_AR_KEY_RE = re.compile(r"(?i:\bD\.?N\.?I\b\.?)" + _GAP + r"(?P<v>\d{1,2}\.?\d{3}\.?\d{3})" + _E)
_DNI_AR_DOTTED_RE = re.compile(_B + r"(?P<v>\d{1,2}\.\d{3}\.\d{3})" + _E)
_CEDULA_CO_KEY = (
    r"(?:(?i:\bc[ée]dula(?:\s+de\s+ciudadan[íi]a)?|\bdocumento(?:\s+de\s+identidad)?"
    r"|\bn[úu]mero\s+de\s+identificaci[óo]n)|\bC\.\s?C\b\.?|\bCC\b)"
)
_CEDULA_CO_RE = re.compile(_CEDULA_CO_KEY + _GAP + r"(?P<v>\d{1,3}(?:\.\d{3}){1,3}|\d{6,10})" + _E)
_PHONE_RE = re.compile(
    r"(?<![\w+#/$€£])(?<!\d[.,/:\-])"
    r"(?P<v>(?>(?:\+\d{1,3}(?:[ \-]\d(?=[ \-]))?[ \-]?)?(?:\(\d{1,4}\)[ \-]?)?\d{2,}(?:[ \-]\d{2,})*))"
    r"(?!\w)(?![.,/:\-]?\d)"
)
_PHONE_KEY_RE = re.compile(
    r"(?i:\b(?:tel[ée]fono|telefone|tel|cel|celular|m[óo]vil|whats\s?app|wpp|zap|fone|phone|mobile|cell"
    r"|contacto|contato|ll[áa]m[ae]\w*|ligue|liga))\b" + _GAP_END
)
_NOT_PII_KEY_RE = re.compile(
    r"(?i:\b(?:pedido|orden|order|ordem|ticket|protocolo|factura|fatura|invoice|nota|gu[íi]a|tracking|rastreio"
    r"|rastreo|seguimiento|folio|ref|referencia|refer[êe]ncia|reference|cep|c\.p|cp|zip|lote|serie|s[ée]rie|sku"
    r"|v|vers[ãa]o|versi[óo]n|version|build|release))\b" + _GAP_END
)
_AMOUNT_BEFORE_RE = re.compile(r"(?:[$€£¥]|\bS/|(?i:\b(?:USD|EUR|BRL|MXN|ARS|COP|CLP|PEN|UYU|GBP)\b))\s*\Z")
_AMOUNT_AFTER_RE = re.compile(
    r"\s*(?:[$€£]|(?i:\b(?:USD|EUR|BRL|MXN|ARS|COP|CLP|PEN|UYU|reais|real|pesos|euros|d[óo]lares|dollars"
    r"|mil|millones|milh[õo]es|unidades|units|km|kg)\b))"
)

_IBAN_LENGTHS = {
    "AD": 24,
    "AT": 20,
    "BE": 16,
    "BR": 29,
    "CH": 21,
    "CR": 22,
    "DE": 22,
    "DO": 28,
    "ES": 24,
    "FR": 27,
    "GB": 22,
    "GT": 28,
    "IE": 22,
    "IT": 27,
    "LU": 20,
    "NL": 18,
    "PL": 28,
    "PT": 25,
    "SV": 28,
}
_CUIT_PREFIXES = frozenset({"20", "23", "24", "27", "30", "33", "34"})
_CUIT_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_CURP_ALPHABET = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ"
_DNI_ES_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True)
class Redaction:
    """The masked text and how many items of each kind were masked (only kinds actually found)."""

    text: str
    counts: dict[str, int]

    @property
    def found(self) -> bool:
        return bool(self.counts)


def redact(text: str, kinds: Iterable[str] | None = None) -> Redaction:
    """Mask PII in `text` with `[KIND]` placeholders; `kinds` limits what is masked (None = every kind)."""
    wanted = _wanted(kinds)
    # Earlier placeholders are opaque, and every kind is detected (even unwanted ones) so that digits a specific
    # document claims are never re-read as something vaguer, e.g. a CPF as a phone.
    work = _PLACEHOLDER_RE.sub(lambda m: _FILL * len(m.group()), text)
    claims: list[tuple[int, int, str]] = []
    for kind, detect in _DETECTORS:
        spans = list(detect(work))
        claims.extend((start, end, kind) for start, end in spans)
        work = _blank(work, spans)
    return _render(text, sorted(claims), wanted)


def _wanted(kinds: Iterable[str] | None) -> frozenset[str]:
    if kinds is None:
        return frozenset(PII_KINDS)
    chosen = frozenset([kinds] if isinstance(kinds, str) else kinds)
    unknown = sorted(chosen - set(PII_KINDS))
    if unknown:
        raise ValueError(f"unknown PII kind(s): {', '.join(unknown)}; expected some of {', '.join(PII_KINDS)}")
    return chosen


def _blank(work: str, spans: list[Span]) -> str:
    parts: list[str] = []
    last = 0
    for start, end in spans:
        parts += [work[last:start], _FILL * (end - start)]
        last = end
    parts.append(work[last:])
    return "".join(parts)


def _render(text: str, claims: list[tuple[int, int, str]], wanted: frozenset[str]) -> Redaction:
    parts: list[str] = []
    counts: dict[str, int] = {}
    last = 0
    for start, end, kind in claims:
        if kind in wanted:
            parts += [text[last:start], f"[{kind.upper()}]"]
            counts[kind] = counts.get(kind, 0) + 1
            last = end
    parts.append(text[last:])
    return Redaction("".join(parts), counts)


def _digits(value: str) -> str:
    return _NON_DIGIT_RE.sub("", value)


def _scan(pattern: re.Pattern[str], check: Callable[[str], bool]) -> Callable[[str], Iterator[Span]]:
    def detect(work: str) -> Iterator[Span]:
        for match in pattern.finditer(work):
            if check(match.group("v")):
                yield match.span("v")

    return detect


# --- validators, one per document -------------------------------------------------------------------------------


def _date_ok(yymmdd: str) -> bool:
    year, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    if not 1 <= month <= 12 or day < 1:
        return False
    return day <= (28 if month == 2 and year % 4 else _DAYS_IN_MONTH[month - 1])


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0 and len(set(digits)) > 1


def _iban_ok(value: str) -> bool:
    compact = value.replace(" ", "").upper()
    expected = _IBAN_LENGTHS.get(compact[:2])
    if not 15 <= len(compact) <= 34 or expected not in (None, len(compact)):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _cpf_ok(value: str) -> bool:
    digits = _digits(value)
    if len(set(digits)) == 1:
        return False
    for size in (9, 10):
        total = sum(int(digits[i]) * (size + 1 - i) for i in range(size))
        if total * 10 % 11 % 10 != int(digits[size]):
            return False
    return True


def _cnpj_ok(value: str) -> bool:
    chars = [char for char in value if char.isalnum()]  # digits, or letters in the alphanumeric CNPJ (2026)
    if len(set(chars)) == 1:
        return False
    numbers = [ord(char) - 48 for char in chars]
    for size in (12, 13):
        weights = [*range(size - 7, 1, -1), *range(9, 1, -1)]
        remainder = sum(n * w for n, w in zip(numbers, weights, strict=False)) % 11
        if (0 if remainder < 2 else 11 - remainder) != numbers[size]:
            return False
    return True


def _cuit_ok(value: str) -> bool:
    digits = _digits(value)
    if digits[:2] not in _CUIT_PREFIXES:
        return False
    remainder = sum(int(d) * w for d, w in zip(digits[:10], _CUIT_WEIGHTS, strict=True)) % 11
    return "012345678990"[11 - remainder] == digits[10]


def _curp_ok(value: str) -> bool:
    curp = value.upper()
    total = sum(_CURP_ALPHABET.index(char) * (18 - i) for i, char in enumerate(curp[:17]))
    return _date_ok(curp[4:10]) and str((10 - total % 10) % 10) == curp[17]


def _rfc_ok(value: str) -> bool:
    return _date_ok(value[-9:-3])


def _dni_es_ok(value: str) -> bool:
    return _DNI_ES_LETTERS[int(_digits(value)) % 23] == value[-1].upper()


def _nie_ok(value: str) -> bool:
    number = str("XYZ".index(value[0].upper())) + _digits(value)
    return _DNI_ES_LETTERS[int(number) % 23] == value[-1].upper()


def _cedula_co_ok(value: str) -> bool:
    return 6 <= len(_digits(value)) <= 10


def _looks_like_amount(work: str, start: int, end: int) -> bool:
    return bool(_AMOUNT_BEFORE_RE.search(work, max(0, start - 8), start) or _AMOUNT_AFTER_RE.match(work, end))


def _looks_like_date(groups: list[str]) -> bool:
    if len(groups) != 3:
        return False
    a, b, c = groups
    if len(a) == 4:
        return 1 <= int(b) <= 12 and 1 <= int(c) <= 31
    if len(a) > 2 or len(b) > 2 or len(c) not in (2, 4):
        return False
    return (1 <= int(a) <= 31 and 1 <= int(b) <= 12) or (1 <= int(a) <= 12 and 1 <= int(b) <= 31)


def _phone_ok(value: str, work: str, start: int, end: int) -> bool:
    if not 8 <= len(_digits(value)) <= 15 or _looks_like_amount(work, start, end):
        return False
    if value.startswith("+"):
        return True
    before = work[max(0, start - 40) : start]
    groups = _DIGIT_RUN_RE.findall(value)
    phone_key, other_key = _PHONE_KEY_RE.search(before), _NOT_PII_KEY_RE.search(before)
    if other_key and not (phone_key and phone_key.start() > other_key.start()):
        return False  # "pedido 1234-5678-9012", "CEP 01310-100"; the nearest keyword wins
    if _looks_like_date(groups):
        return False
    if len(groups) > 1 and all(g.endswith("00") or (len(g) == 4 and g[:2] in ("19", "20")) for g in groups):
        return False  # a run of years or round quantities: "2024 2025 2026", "100 200 300"
    return "(" in value or len(groups) >= 3 or phone_key is not None


# --- detectors: each yields the spans it claims in the working copy ------------------------------------------------


def _detect_iban(work: str) -> Iterator[Span]:
    for match in _IBAN_RE.finditer(work):
        start, value = match.start("v"), match.group("v")
        while value:  # the last space-separated chunk may be a word that merely looks like a group ("para")
            if _iban_ok(value):
                yield start, start + len(value)
                break
            value = value.rpartition(" ")[0]


def _detect_cuit(work: str) -> Iterator[Span]:
    spans = [m.span("v") for m in _CUIT_RE.finditer(work) if _cuit_ok(m.group("v"))]
    spans += [m.span("v") for m in _CUIT_KEY_RE.finditer(work) if _cuit_ok(m.group("v"))]
    yield from sorted(spans)


def _detect_card(work: str) -> Iterator[Span]:
    for match in _CARD_RE.finditer(work):
        start, end = match.span("v")
        value = match.group("v")
        if _luhn_ok(_digits(value)):
            yield start, end
        elif match.group("s") and len(value) == 23 and _luhn_ok(_digits(value[:19])):
            yield start, start + 19  # "4111 1111 1111 1111 123": the trailing group was not part of it


def _detect_dni_ar_dotted(work: str) -> Iterator[Span]:
    for match in _DNI_AR_DOTTED_RE.finditer(work):
        start, end = match.span("v")
        if not _looks_like_amount(work, start, end) and not _NOT_PII_KEY_RE.search(work, max(0, start - 40), start):
            yield start, end


def _detect_phone(work: str) -> Iterator[Span]:
    for match in _PHONE_RE.finditer(work):
        start, end = match.span("v")
        if _phone_ok(match.group("v"), work, start, end):
            yield start, end


def _always(_value: str) -> bool:
    return True


# Most specific (checksummed) first, keyword-anchored next, then the vaguer dotted DNI, phones last.
_DETECTORS: tuple[tuple[str, Callable[[str], Iterator[Span]]], ...] = (
    ("email", _scan(_EMAIL_RE, _always)),
    ("iban", _detect_iban),
    ("cnpj", _scan(_CNPJ_RE, _cnpj_ok)),
    ("cuit", _detect_cuit),
    ("cpf", _scan(_CPF_RE, _cpf_ok)),
    ("card", _detect_card),
    ("curp", _scan(_CURP_RE, _curp_ok)),
    ("rfc", _scan(_RFC_RE, _rfc_ok)),
    ("dni_es", _scan(_DNI_ES_RE, _dni_es_ok)),
    ("nie", _scan(_NIE_RE, _nie_ok)),
    ("dni_ar", _scan(_DNI_AR_KEY_RE, _always)),
    ("cedula_co", _scan(_CEDULA_CO_RE, _cedula_co_ok)),
    ("dni_ar", _detect_dni_ar_dotted),
    ("phone", _detect_phone),
)
