"""Per-organization cache versioning.

Every cached analytics answer is keyed with the organization's data version; ingesting
anything for the organization bumps the version, so stale entries are never read again
(and expire on their own). One mechanism, used by every cache in the product.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

VERSION_TTL_SECONDS = 30 * 24 * 3600


def _version_key(org_id: int) -> str:
    return f"org:{org_id}:data-version"


def org_data_version(org_id: int) -> int:
    version = cache.get(_version_key(org_id))
    if version is None:
        version = 1
        cache.add(_version_key(org_id), version, VERSION_TTL_SECONDS)
    return int(version)


def org_data_changed(org_id: int) -> None:
    """Call after commit whenever data for the organization changed."""
    try:
        cache.incr(_version_key(org_id))
    except ValueError:
        cache.set(_version_key(org_id), 2, VERSION_TTL_SECONDS)


def org_cache_key(org_id: int, name: str, *parts: Any) -> str:
    suffix = ":".join(str(p) for p in parts)
    return f"org:{org_id}:v{org_data_version(org_id)}:{name}:{suffix}"
