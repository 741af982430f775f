"""Which segments' criteria name a tag, a user or another segment.

Asked before any of those is deleted or merged away (tags.services asks it for a tag),
so criteria never point at something gone. CriteriaReference rows, written with the
criteria (segments.services), make it one indexed lookup.
"""

from segments.choices import ReferenceKind
from segments.models import CriteriaReference, Segment

REFERENCE_COLUMNS = {
    ReferenceKind.TAG: "tag_id",
    ReferenceKind.USER: "user_id",
    ReferenceKind.SEGMENT: "target_id",
}


class SegmentInUse(Exception):
    """A tag, user or segment cannot go: some segment's criteria name it."""

    def __init__(self, what: str, segments: list[Segment]) -> None:
        names = ", ".join(f"“{segment.name}”" for segment in segments)
        noun = "segment" if len(segments) == 1 else "segments"
        super().__init__(
            f"{what} is used in the filter criteria of {noun} {names}; change those criteria first."
        )
        self.segments = segments


def segments_using(kind: str, object_id: int) -> list[Segment]:
    """Segments whose criteria name the tag, user or segment `object_id` (kind "tag",
    "user" or "segment"). Call before deleting one of those: a non-empty answer
    means the delete must be refused."""
    column = REFERENCE_COLUMNS[ReferenceKind(kind)]
    referencing = CriteriaReference.objects.filter(**{column: object_id}).values("segment_id")
    return list(Segment.objects.filter(pk__in=referencing))


def ensure_unused(kind: str, obj) -> None:
    """Raise SegmentInUse, naming the segments, if any segment's criteria use `obj`."""
    using = segments_using(kind, obj.pk)
    if using:
        raise SegmentInUse(f"{ReferenceKind(kind).label} “{obj}”", using)
