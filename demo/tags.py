"""Demo tags and their links: named like a real team's, spread unevenly, set-based.

Links are chosen by arithmetic on ids inside the database: one INSERT … SELECT per
record type, its records crossed with a VALUES list of (tag, rate), so a million
contacts take seconds and the same ids always get the same tags.
"""

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from audit.choices import Action
from segments.notify import any_live_segment, contacts_changed
from tags.counters import recount_tags
from tags.locks import hold_off_deletes
from tags.models import Tag
from tags.records import TAGGABLE_TYPES
from tags.services import create_tag, find_tag_by_name, record_bulk_tagging

DEMO_TAG_NAMES = [
    "enterprise", "smb", "saas", "retail", "healthcare", "fintech", "manufacturing",
    "education", "logistics", "media", "hot-lead", "needs-follow-up", "not-now",
    "decision-maker", "champion", "churn-risk", "us-east", "us-west", "europe", "apac",
    "latam", "newsletter", "webinar-2026", "trade-show", "partner-referral", "vip",
]  # fmt: skip
# Average tags per record of each type; the first tags are the most used (Zipf-like).
TAGS_PER_RECORD = {"contacts": 3.0, "leads": 1.0, "deals": 1.0}
SCALE = 10_000


def demo_tag_names(count: int) -> list[str]:
    extra = [f"campaign-{n:03d}" for n in range(1, max(0, count - len(DEMO_TAG_NAMES)) + 1)]
    return (DEMO_TAG_NAMES + extra)[:count]


def ensure_demo_tags(count: int, user: User | None = None) -> list[Tag]:
    tags = []
    for name in demo_tag_names(count):
        tag = find_tag_by_name(name)
        tags.append(tag or create_tag(name, user=user))
    return tags


def _rates(count: int, per_record: float) -> list[int]:
    """Per tag, the share (in 1/SCALE) of records that carry it, summing to `per_record`."""
    weights = [1 / (rank + 1) ** 0.5 for rank in range(count)]
    total = sum(weights)
    return [min(SCALE, round(SCALE * per_record * w / total)) for w in weights]


# Which records carry a tag: a cheap hash of (record id, tag id), with a multiplier per
# tag so that tags are not correlated. Record `r` carries tag `t` (at `rate`, in 1/SCALE)
# when this is below the rate. (`%%`: a literal % in SQL that has parameters.)
BUCKET_SQL = f"(r.id * (7919 + 2 * t.column1) + t.column1 * 104729) %% {SCALE}"


@transaction.atomic
def seed_demo_tags(first_ids: dict[str, int], count: int) -> int:
    """Tag every record of each type with id >= first_ids[type]; returns links added.

    Each tag that gained links gets its bulk-added audit entry, as a bulk action would.
    """
    tags = ensure_demo_tags(count)
    by_pk = {tag.pk: tag for tag in tags}
    for taggable in TAGGABLE_TYPES.values():
        hold_off_deletes(taggable.model)  # before the tag locks (tags.locks)
    locked = Tag.objects.select_for_update(no_key=True).filter(pk__in=list(by_pk))
    list(locked.order_by("pk").values_list("pk", flat=True))  # the order of tags.services
    added = 0
    for key, per_record in TAGS_PER_RECORD.items():
        taggable = TAGGABLE_TYPES[key]
        rated = [
            (tag.pk, rate)
            for tag, rate in zip(tags, _rates(len(tags), per_record), strict=True)
            if rate
        ]
        if not rated:
            continue
        before = dict(Tag.objects.filter(pk__in=by_pk).values_list("pk", taggable.counter))
        links = taggable.link_model._meta.db_table
        records = taggable.model._meta.db_table
        first = first_ids.get(key, 1)
        values = ", ".join(["(%s, %s)"] * len(rated))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {links} (tag_id, record_id, record_created_at, created_at) "
                f"SELECT t.column1, r.id, r.created_at, %s "
                f"FROM {records} r CROSS JOIN (VALUES {values}) AS t "
                f"WHERE r.id >= %s AND {BUCKET_SQL} < t.column2 "
                f"ON CONFLICT DO NOTHING",
                [timezone.now(), *(n for pair in rated for n in pair), first],
            )
        recount_tags(by_pk)
        after = dict(Tag.objects.filter(pk__in=by_pk).values_list("pk", taggable.counter))
        for pk, tag in by_pk.items():
            gained = after[pk] - before[pk]
            if gained:
                record_bulk_tagging(None, Action.TAG_BULK_ADDED, tag, taggable, gained)
            added += gained
        if key == "contacts" and any_live_segment():
            new = taggable.model.objects.filter(pk__gte=first).values_list("pk", flat=True)
            contacts_changed(list(new))  # live segments may test the tags
    return added
