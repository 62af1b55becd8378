"""PII masking with typed placeholders: e-mail, phone, card, IBAN and Latin American / Spanish IDs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

# Check digits come from python-stdnum; import only the document modules used here (import time).
from stdnum import iban, luhn
from stdnum.ar import cuit
from stdnum.ar import dni as dni_ar
from stdnum.br import cnpj, cpf
from stdnum.es import dni as dni_es
from stdnum.es import nie
from stdnum.mx import curp, rfc

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


# --- validators, one per document: python-stdnum's checksums, plus our own refusals -----------------------------


def _repeated(chars: str) -> bool:
    """One character over and over ("111.111.111-11"): checksum-valid, yet never a real document."""
    return len(set(chars)) == 1


def _luhn_ok(digits: str) -> bool:
    return not _repeated(digits) and luhn.is_valid(digits)


def _cpf_ok(value: str) -> bool:
    return not _repeated(_digits(value)) and cpf.is_valid(value)


def _cnpj_ok(value: str) -> bool:
    # digits, or letters in the alphanumeric CNPJ (2026)
    return not _repeated("".join(char for char in value if char.isalnum())) and cnpj.is_valid(value)


def _cuit_ok(value: str) -> bool:
    return cuit.is_valid(_digits(value))


def _dni_es_ok(value: str) -> bool:
    return dni_es.is_valid(value.replace(".", ""))


def _cedula_co_ok(value: str) -> bool:
    return 6 <= len(_digits(value)) <= 10  # no check digit: the cédula is a plain serial number


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
            if iban.is_valid(value):
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
    ("curp", _scan(_CURP_RE, curp.is_valid)),
    ("rfc", _scan(_RFC_RE, rfc.is_valid)),
    ("dni_es", _scan(_DNI_ES_RE, _dni_es_ok)),
    ("nie", _scan(_NIE_RE, nie.is_valid)),
    ("dni_ar", _scan(_DNI_AR_KEY_RE, dni_ar.is_valid)),
    ("cedula_co", _scan(_CEDULA_CO_RE, _cedula_co_ok)),
    ("dni_ar", _detect_dni_ar_dotted),
    ("phone", _detect_phone),
)
