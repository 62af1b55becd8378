"""atende.guards.redaction: typed PII masking, checksums, false-positive traps, idempotence and the kinds filter."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from atende.guards.redaction import PII_KINDS, Redaction, redact

# (input, exact expected output) in Spanish, Portuguese and English.
CASES: list[tuple[str, str]] = [
    # --- e-mail
    ("Mi correo es ana.perez@correo.es.", "Mi correo es [EMAIL]."),
    ("contato: joao.silva+suporte@exemplo.com.br, obrigado", "contato: [EMAIL], obrigado"),
    ("Reach me at JOHN_DOE@Example.COM", "Reach me at [EMAIL]"),
    # --- cards (Luhn)
    ("Mi tarjeta es 4111 1111 1111 1111, vence 12/28", "Mi tarjeta es [CARD], vence 12/28"),
    ("cartão 5555-5555-5555-4444", "cartão [CARD]"),
    ("card 4012888888881881 declined", "card [CARD] declined"),
    ("Amex 3782 822463 10005", "Amex [CARD]"),
    ("Visa 4111 1111 1111 1111 612 345 678", "Visa [CARD] [PHONE]"),
    # --- IBAN (mod 97)
    ("IBAN ES91 2100 0418 4502 0005 1332 para el pago", "IBAN [IBAN] para el pago"),
    ("IBAN: DE89370400440532013000", "IBAN: [IBAN]"),
    ("transfer to DE89 3704 0044 0532 0130 00 today", "transfer to [IBAN] today"),
    ("conta PT50 0002 0123 1234 5678 9015 4", "conta [IBAN]"),
    ("iban es91 2100 0418 4502 0005 1332", "iban [IBAN]"),
    # --- Brazil: CPF and CNPJ
    ("Meu CPF é 529.982.247-25, obrigado", "Meu CPF é [CPF], obrigado"),
    ("cpf 52998224725", "cpf [CPF]"),
    ("CPF: 111.444.777-35.", "CPF: [CPF]."),
    ("CNPJ 11.222.333/0001-81", "CNPJ [CNPJ]"),
    ("cnpj 11222333000181 da loja", "cnpj [CNPJ] da loja"),
    ("CNPJ novo 12.ABC.345/01DE-35", "CNPJ novo [CNPJ]"),
    # --- Mexico: CURP and RFC
    ("CURP BOXW310820HNERXN09", "CURP [CURP]"),
    ("mi curp: hegg560427mvzrrl04.", "mi curp: [CURP]."),
    ("RFC GODE561231GR8 para facturar", "RFC [RFC] para facturar"),
    ("RFC de la empresa: ABC680524P76", "RFC de la empresa: [RFC]"),
    # --- Argentina: CUIT/CUIL and DNI
    ("CUIT 20-12345678-6", "CUIT [CUIT]"),
    ("mi CUIL es 20123456786", "mi CUIL es [CUIT]"),
    ("cuit: 20-12.345.678-6", "cuit: [CUIT]"),
    ("DNI 12.345.678", "DNI [DNI_AR]"),
    ("mi dni es 12345678", "mi dni es [DNI_AR]"),
    ("D.N.I. Nº 7.654.321", "D.N.I. Nº [DNI_AR]"),
    ("Titular 23.456.789, Buenos Aires", "Titular [DNI_AR], Buenos Aires"),
    # --- Colombia: cédula de ciudadanía
    ("mi cédula es 1.020.304.050", "mi cédula es [CEDULA_CO]"),
    ("Cédula de ciudadanía 1020304050", "Cédula de ciudadanía [CEDULA_CO]"),
    ("C.C. 52.123.456 de Bogotá", "C.C. [CEDULA_CO] de Bogotá"),
    ("CC 79123456", "CC [CEDULA_CO]"),
    ("documento: 1020304050", "documento: [CEDULA_CO]"),
    # --- Spain: DNI and NIE (mod-23 letter)
    ("DNI 12345678Z", "DNI [DNI_ES]"),
    ("dni 12345678-z, gracias", "dni [DNI_ES], gracias"),
    ("NIE X1234567L", "NIE [NIE]"),
    ("nie y-1234567-x", "nie [NIE]"),
    # --- phones, international and national
    ("Ligue +55 11 91234-5678 amanhã", "Ligue [PHONE] amanhã"),
    ("Mi número: +52 1 55 1234 5678", "Mi número: [PHONE]"),
    ("Llámame al +34 612 34 56 78 😊", "Llámame al [PHONE] 😊"),
    ("Call +1 (415) 555-0100 now", "Call [PHONE] now"),
    ("celular +54 9 11 1234-5678", "celular [PHONE]"),
    ("WhatsApp: +57 300 1234567", "WhatsApp: [PHONE]"),
    ("fone (11) 91234-5678", "fone [PHONE]"),
    ("Llamame al 011 15-1234-5678", "Llamame al [PHONE]"),
    ("móvil 612 345 678", "móvil [PHONE]"),
    ("escribime al 55 1234 5678", "escribime al [PHONE]"),
    ("WhatsApp 11912345678", "WhatsApp [PHONE]"),
    ("11 91234-5678 ou 11 3456-7890", "[PHONE] ou [PHONE]"),
    ("nota: mi teléfono es 612 345 678", "nota: mi teléfono es [PHONE]"),
    # --- traps: invalid checksums
    ("CPF 529.982.247-26", "CPF 529.982.247-26"),
    ("CPF 111.111.111-11", "CPF 111.111.111-11"),
    ("CNPJ 11.222.333/0001-82", "CNPJ 11.222.333/0001-82"),
    ("pedido 1234 5678 9012 3456", "pedido 1234 5678 9012 3456"),
    ("order id 1234567890123456", "order id 1234567890123456"),
    ("IBAN ES91 2100 0418 4502 0005 1333", "IBAN ES91 2100 0418 4502 0005 1333"),
    ("CURP BOXW310820HNERXN08", "CURP BOXW310820HNERXN08"),
    ("RFC GODE561331GR8", "RFC GODE561331GR8"),
    ("CUIT 20-12345678-5", "CUIT 20-12345678-5"),
    ("DNI 12345678A", "DNI 12345678A"),
    ("NIE X1234567A", "NIE X1234567A"),
    # --- traps: dates, times, prices, orders, postcodes, versions, tracking codes, quantities
    ("Entrega el 21/11/2026 a las 14:30", "Entrega el 21/11/2026 a las 14:30"),
    ("chega em 2026-11-21 às 09:15:00", "chega em 2026-11-21 às 09:15:00"),
    ("vence 21-11-2026", "vence 21-11-2026"),
    ("Total: $ 1.234,56 o R$ 99,90", "Total: $ 1.234,56 o R$ 99,90"),
    ("Price US$ 1,200.00 or € 1 234 567", "Price US$ 1,200.00 or € 1 234 567"),
    ("Saldo $ 12.345.678 y R$ 1.234.567,00", "Saldo $ 12.345.678 y R$ 1.234.567,00"),
    ("Pedido #123456 y pedido 1234567", "Pedido #123456 y pedido 1234567"),
    ("pedido 1234-5678-9012", "pedido 1234-5678-9012"),
    ("protocolo 2024 1234 5678", "protocolo 2024 1234 5678"),
    ("CEP 01310-100, São Paulo", "CEP 01310-100, São Paulo"),
    ("versão 2.14.3, build 10.100.200", "versão 2.14.3, build 10.100.200"),
    ("rastreio BR123456789BR e envío 1Z999AA10123456784", "rastreio BR123456789BR e envío 1Z999AA10123456784"),
    ("son 12345678 unidades desde 2019", "son 12345678 unidades desde 2019"),
    ("años 2024 2025 2026, cajas 100 200 300", "años 2024 2025 2026, cajas 100 200 300"),
    ("https://loja.com/pedido/52998224725", "https://loja.com/pedido/52998224725"),
    ("DNI 12345678 y 87654321", "DNI [DNI_AR] y 87654321"),
    # --- already redacted, and text around it untouched
    ("ya redactado: [EMAIL], [PHONE] y [CPF]", "ya redactado: [EMAIL], [PHONE] y [CPF]"),
    ("[PHONE]612 345 678", "[PHONE][PHONE]"),
    (
        "Olá! 😀 meu e-mail é a@b.co\ne fone (21) 99876-5432 🙏",
        "Olá! 😀 meu e-mail é [EMAIL]\ne fone [PHONE] 🙏",
    ),
]

MIXED = (
    "Hola, soy Ana. Mi correo es ana@example.com, mi cel +55 11 91234-5678, "
    "tarjeta 4111 1111 1111 1111 y CPF 529.982.247-25."
)


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_masks_exactly(text: str, expected: str) -> None:
    assert redact(text).text == expected


@pytest.mark.parametrize("text", [text for text, _ in CASES])
def test_is_idempotent(text: str) -> None:
    once = redact(text)
    twice = redact(once.text)
    assert twice.text == once.text
    assert twice.counts == {}


def test_every_kind_has_a_positive_case() -> None:
    found = {f"[{kind.upper()}]" for kind in PII_KINDS}
    expected_outputs = " ".join(expected for _, expected in CASES)
    assert {token for token in found if token in expected_outputs} == found


def test_mixed_message_counts() -> None:
    result = redact(MIXED)
    assert result.text == "Hola, soy Ana. Mi correo es [EMAIL], mi cel [PHONE], tarjeta [CARD] y CPF [CPF]."
    assert result.counts == {"email": 1, "phone": 1, "card": 1, "cpf": 1}
    assert result.found


def test_counts_repeated_kind() -> None:
    result = redact("a@b.com, c@d.org e CPF 529.982.247-25")
    assert result.counts == {"email": 2, "cpf": 1}


def test_nothing_found() -> None:
    result = redact("Hola, ¿dónde está mi pedido #123456?")
    assert result == Redaction("Hola, ¿dónde está mi pedido #123456?", {})
    assert not result.found


def test_kinds_filter_masks_only_requested() -> None:
    result = redact(MIXED, kinds=["email", "card"])
    assert result.text == (
        "Hola, soy Ana. Mi correo es [EMAIL], mi cel +55 11 91234-5678, tarjeta [CARD] y CPF 529.982.247-25."
    )
    assert result.counts == {"email": 1, "card": 1}


def test_kinds_filter_still_protects_specific_documents_from_phone() -> None:
    # The CUIT is detected (and left alone) so its digits are never re-read as a phone number.
    text = "CUIT 20-12345678-6 y tel 011 15-1234-5678"
    assert redact(text, kinds=["phone"]).text == "CUIT 20-12345678-6 y tel [PHONE]"


def test_kinds_accepts_a_single_name_and_empty() -> None:
    assert redact("a@b.com 529.982.247-25", kinds="cpf").text == "a@b.com [CPF]"
    assert redact("a@b.com", kinds=[]) == Redaction("a@b.com", {})


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="passport"):
        redact("x", kinds=["email", "passport"])


def test_empty_text() -> None:
    assert redact("") == Redaction("", {})


# Independent reference checksums, so the sample documents above are proven valid (or invalid) on their own.


def _luhn(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()][::-1]
    return sum(d if i % 2 == 0 else sum(divmod(d * 2, 10)) for i, d in enumerate(digits)) % 10 == 0


def _mod97(iban: str) -> bool:
    s = iban.replace(" ", "").upper()
    return int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1


def _cpf(number: str) -> bool:
    d = [int(c) for c in number if c.isdigit()]
    first = sum(x * w for x, w in zip(d[:9], range(10, 1, -1), strict=True)) * 10 % 11 % 10
    second = sum(x * w for x, w in zip(d[:10], range(11, 1, -1), strict=True)) * 10 % 11 % 10
    return [first, second] == d[9:]


def _cnpj(number: str) -> bool:
    v = [ord(c) - 48 for c in number if c.isalnum()]
    w1, w2 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2], [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    r1 = sum(x * w for x, w in zip(v[:12], w1, strict=True)) % 11
    r2 = sum(x * w for x, w in zip([*v[:12], 0 if r1 < 2 else 11 - r1], w2, strict=True)) % 11
    return [0 if r1 < 2 else 11 - r1, 0 if r2 < 2 else 11 - r2] == v[12:]


def _cuit(number: str) -> bool:
    d = [int(c) for c in number if c.isdigit()]
    r = 11 - sum(x * w for x, w in zip(d[:10], [5, 4, 3, 2, 7, 6, 5, 4, 3, 2], strict=True)) % 11
    return {11: 0, 10: 9}.get(r, r) == d[10]


def _curp(curp: str) -> bool:
    alphabet = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ"
    total = sum(alphabet.index(c) * (18 - i) for i, c in enumerate(curp.upper()[:17]))
    return (10 - total % 10) % 10 == int(curp[17])


def _dni_es(dni: str) -> bool:
    return "TRWAGMYFPDXBNJZSQVHLCKE"[int(dni[:8]) % 23] == dni[8]


@pytest.mark.parametrize(
    ("check", "value", "valid"),
    [
        (_luhn, "4111 1111 1111 1111", True),
        (_luhn, "5555-5555-5555-4444", True),
        (_luhn, "4012888888881881", True),
        (_luhn, "378282246310005", True),
        (_luhn, "1234 5678 9012 3456", False),
        (_mod97, "ES91 2100 0418 4502 0005 1332", True),
        (_mod97, "DE89 3704 0044 0532 0130 00", True),
        (_mod97, "PT50 0002 0123 1234 5678 9015 4", True),
        (_mod97, "ES91 2100 0418 4502 0005 1333", False),
        (_cpf, "529.982.247-25", True),
        (_cpf, "111.444.777-35", True),
        (_cpf, "529.982.247-26", False),
        (_cpf, "52998224725", True),
        (_cnpj, "11.222.333/0001-81", True),
        (_cnpj, "12.ABC.345/01DE-35", True),
        (_cnpj, "11.222.333/0001-82", False),
        (_cuit, "20-12345678-6", True),
        (_cuit, "20-12345678-5", False),
        (_curp, "BOXW310820HNERXN09", True),
        (_curp, "HEGG560427MVZRRL04", True),
        (_curp, "BOXW310820HNERXN08", False),
        (_dni_es, "12345678Z", True),
        (_dni_es, "01234567L", True),  # NIE X1234567L: X counts as 0
        (_dni_es, "11234567X", True),  # NIE Y1234567X: Y counts as 1
        (_dni_es, "12345678A", False),
    ],
)
def test_sample_documents_checksums(check: Callable[[str], bool], value: str, valid: bool) -> None:
    assert check(value) is valid
