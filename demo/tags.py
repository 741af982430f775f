"""Demo tags and their links: named like a real team's, spread unevenly, set-based.

Links are chosen by arithmetic on ids inside the database (one INSERT … SELECT
per tag through tags.services.bulk_tag), so a million contacts take seconds and
the same ids always get the same tags.
"""

from django.db.models import F, QuerySet
from django.db.models.functions import Mod

from accounts.models import User
from tags.models import Tag
from tags.records import TAGGABLE_TYPES
from tags.services import bulk_tag, create_tag

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
        tag = Tag.objects.filter(name__iexact=name).first()
        tags.append(tag or create_tag(name, user=user))
    return tags


def _rates(count: int, per_record: float) -> list[int]:
    """Per tag, the share (in 1/SCALE) of records that carry it, summing to `per_record`."""
    weights = [1 / (rank + 1) ** 0.5 for rank in range(count)]
    total = sum(weights)
    return [min(SCALE, round(SCALE * per_record * w / total)) for w in weights]


def _picked(records: QuerySet, tag: Tag, rate: int) -> QuerySet:
    # A cheap hash of (record id, tag id), with a multiplier per tag so that tags are
    # not correlated: which records get the tag is decided in SQL.
    bucket = Mod(F("pk") * (7919 + 2 * tag.pk) + tag.pk * 104729, SCALE)
    return records.annotate(demo_bucket=bucket).filter(demo_bucket__lt=rate)


def seed_demo_tags(first_ids: dict[str, int], count: int) -> int:
    """Tag every record of each type with id >= first_ids[type]; returns links added."""
    tags = ensure_demo_tags(count)
    added = 0
    for key, per_record in TAGS_PER_RECORD.items():
        taggable = TAGGABLE_TYPES[key]
        records = taggable.model.objects.filter(pk__gte=first_ids.get(key, 1))
        for tag, rate in zip(tags, _rates(len(tags), per_record), strict=True):
            if rate:
                added += bulk_tag(taggable, _picked(records, tag, rate), add=[tag]).added
    return added
