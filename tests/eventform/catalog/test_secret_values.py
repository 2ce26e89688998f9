"""Environment variables in the catalog are plain text: a credential is refused by its name or by its value."""

from __future__ import annotations

import pytest

from eventform.catalog.parsing import looks_secret


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DB_PASSWORD", "x"),
        ("api_token", "x"),  # names in any case
        ("CRM_KEY", "AKIAIOSFODNN7EXAMPLE"),  # an AWS access key id
        ("STRIPE", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
        ("GH", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"),
        ("SESSION", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
        ("CERT", "-----BEGIN RSA PRIVATE KEY-----\nMIIB..."),
        ("UPSTREAM", "q8Zr2LmX9vT4kP7wN3cB6yH1jF5sD0aG"),  # 32 random characters
    ],
)
def test_credentials_are_recognised(name: str, value: str) -> None:
    assert looks_secret(name, value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EMAIL_SENDER", "shop@example.com"),
        ("FEE_RATES_PARAMETER", "/payments/settlement/fee-rates"),
        ("ENDPOINT", "https://crm.example.com/hooks/eventform"),
        ("MODE", "strict"),
        ("TABLE", "prod-inventory-reserve-stock-reservations"),
        ("REGION_LIST", "eu-west-1,eu-central-1,us-east-1,us-west-2"),
    ],
)
def test_ordinary_settings_are_not(name: str, value: str) -> None:
    assert not looks_secret(name, value)
