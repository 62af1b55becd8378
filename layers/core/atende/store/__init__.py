"""The only code that touches DynamoDB: one small class per aggregate over the single table."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from atende.platform import aws
from atende.platform.settings import get_settings
from atende.store.audit import AuditStore
from atende.store.bots import BotStore
from atende.store.conversations import ConversationStore
from atende.store.counters import CounterStore
from atende.store.credentials import CredentialStore
from atende.store.keys import KeyStore
from atende.store.tenants import TenantStore
from atende.store.usage import UsageStore


@dataclass(frozen=True)
class Stores:
    tenants: TenantStore
    bots: BotStore
    keys: KeyStore
    audit: AuditStore
    conversations: ConversationStore
    credentials: CredentialStore
    usage: UsageStore
    counters: CounterStore


@cache
def stores() -> Stores:
    """The stores over the configured table, built on first use per container."""
    table = aws.table(get_settings().table_name)
    return Stores(
        tenants=TenantStore(table),
        bots=BotStore(table),
        keys=KeyStore(table),
        audit=AuditStore(table),
        conversations=ConversationStore(table),
        credentials=CredentialStore(table),
        usage=UsageStore(table),
        counters=CounterStore(table),
    )
