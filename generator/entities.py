"""Who a record is about: the entity (legal person or body) key of a record's fields.

Below both :mod:`generator.publication` (which computes each row's entity when it replays the
batches) and :mod:`generator.sitemodel` (which groups records into archives by it), so neither
imports the other to know it. Pure functions of a :class:`~generator.schema.Kind` and fields.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .checkdigits import USCC_PLACEHOLDER
from .normalize import half_width
from .schema import PERSON_CATEGORIES, Kind


def short_hash(text: str, length: int = 16) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def entity_key(kind: Kind, fields: dict[str, Any]) -> tuple[str, str] | None:
    """(entity id, key text) for a legal person or body; None for natural persons."""
    category = str(fields.get(kind.subject_category or "", ""))
    if category in PERSON_CATEGORIES:
        return None
    code = str(fields.get(kind.subject_code or "", ""))
    if len(code) == 18 and code != USCC_PLACEHOLDER:  # validated at ingest
        key = "code:" + code
    else:
        name = half_width(str(fields.get(kind.subject, ""))).replace(" ", "")
        if not name:
            return None
        key = "name:" + name
    return short_hash("entity\x1f" + key), key
