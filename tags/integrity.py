"""Finding and repairing tag links that outlived their record or their tag.

Link rows carry no database foreign key (tags.models.TagLink); the services remove
them with their record or tag. This check is the net under that rule: `manage.py
check_integrity` calls `check_tag_links`, and so can anyone with a plain function call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, OuterRef

from tags.counters import recount_tags
from tags.models import Tag
from tags.records import TAGGABLE_TYPES


@dataclass
class TagLinkReport:
    """Per record type ("contacts", "leads", "deals"): orphan links found (and removed)."""

    name: str = "tag links"
    without_record: dict[str, int] = field(default_factory=dict)
    without_tag: dict[str, int] = field(default_factory=dict)
    repaired: bool = False

    @property
    def problems(self) -> int:
        return sum(self.without_record.values()) + sum(self.without_tag.values())

    @property
    def ok(self) -> bool:
        return self.problems == 0

    def findings(self) -> list[LinkFinding]:
        """One finding per record type and kind of orphan, as check_integrity prints them."""
        return [
            LinkFinding(f"{key} link(s) {why}", n, self.repaired)
            for why, counts in (
                ("whose record is gone", self.without_record),
                ("whose tag is gone", self.without_tag),
            )
            for key, n in counts.items()
            if n
        ]

    def lines(self) -> list[str]:
        """What a command prints: one line per kind of orphan found, or one saying none."""
        return [str(finding) for finding in self.findings()] or ["tag links: no orphan link"]


@dataclass(frozen=True)
class LinkFinding:
    what: str
    count: int
    repaired: bool = False

    def __str__(self) -> str:
        return f"tag links: {self.count:,} {self.what}, {'removed' if self.repaired else 'found'}"


def check_tag_links(repair: bool = False) -> TagLinkReport:
    """Count link rows whose record or tag no longer exists; with `repair`, delete them
    and recount the usage counters of the tags that had some, in one transaction."""
    report = TagLinkReport(repaired=repair)
    with transaction.atomic():
        touched: set[int] = set()
        for key, taggable in TAGGABLE_TYPES.items():
            links = taggable.link_model.objects.order_by()
            records = taggable.model.objects.filter(pk=OuterRef("record_id"))
            no_record = links.filter(~Exists(records))
            no_tag = links.filter(~Exists(Tag.objects.filter(pk=OuterRef("tag_id"))))
            report.without_record[key] = no_record.count()
            report.without_tag[key] = no_tag.count()
            if repair and report.without_record[key]:
                touched.update(no_record.values_list("tag_id", flat=True).distinct())
                no_record.delete()
            if repair and report.without_tag[key]:
                no_tag.delete()
        if touched:
            recount_tags(touched)
    return report
