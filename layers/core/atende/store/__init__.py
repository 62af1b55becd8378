"""The only code that touches DynamoDB: one small class per aggregate over the single table."""

from __future__ import annotations

from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from atende.platform import aws
from atende.platform.settings import get_settings

if TYPE_CHECKING:
    from atende.store.audit import AuditStore
    from atende.store.bots import BotStore
    from atende.store.conversations import ConversationStore
    from atende.store.counters import CounterStore
    from atende.store.credentials import CredentialStore
    from atende.store.keys import KeyStore
    from atende.store.tenants import TenantStore
    from atende.store.usage import UsageStore


class Stores:
    """The stores over one table, each built (and its module imported) on first use: the authorizer, which only
    looks keys up, never imports the bot, limits or conversation models (a cheaper cold start)."""

    def __init__(self, table: Any) -> None:
        self.table = table

    @cached_property
    def tenants(self) -> TenantStore:
        from atende.store.tenants import TenantStore

        return TenantStore(self.table)

    @cached_property
    def bots(self) -> BotStore:
        from atende.store.bots import BotStore

        return BotStore(self.table)

    @cached_property
    def keys(self) -> KeyStore:
        from atende.store.keys import KeyStore

        return KeyStore(self.table)

    @cached_property
    def audit(self) -> AuditStore:
        from atende.store.audit import AuditStore

        return AuditStore(self.table)

    @cached_property
    def conversations(self) -> ConversationStore:
        from atende.store.conversations import ConversationStore

        return ConversationStore(self.table)

    @cached_property
    def credentials(self) -> CredentialStore:
        from atende.store.credentials import CredentialStore

        return CredentialStore(self.table)

    @cached_property
    def usage(self) -> UsageStore:
        from atende.store.usage import UsageStore

        return UsageStore(self.table)

    @cached_property
    def counters(self) -> CounterStore:
        from atende.store.counters import CounterStore

        return CounterStore(self.table)


@cache
def stores() -> Stores:
    """The stores over the configured table, built on first use per container."""
    return Stores(aws.table(get_settings().table_name))
