"""Tag chips, and the tag widgets that record and list templates of other apps include.

- `{% tag_chip tag href=… %}`: one chip in the tag's colour, text colour chosen for contrast.
- `{% record_chips record list_url %}`: a list row's chips, from the prefetched `tags`.
- `{% list_chip tag list_url %}`: one such chip.
- `{% record_tags_section record %}`: the Tags section of a record page's sidebar.
- `{% tag_filter filterset %}`: the Tag filter of a list page's filter form.
"""

from functools import lru_cache

from django import template
from django.db.models import Model
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from core.ownership import may_edit
from tags.colors import HEX_COLOR, PALETTE, text_color_for
from tags.filtersets import TAG_MATCH_CHOICES
from tags.models import Tag
from tags.records import taggable_type_for
from tags.services import record_tags

register = template.Library()

FALLBACK_COLOR = PALETTE[-1][0]


def chip_colors(tag: Tag) -> tuple[str, str]:
    """Background and text colour; a malformed stored colour falls back to slate."""
    background = tag.color if HEX_COLOR.match(tag.color or "") else FALLBACK_COLOR
    return background, text_color_for(background)


@register.inclusion_tag("tags/_chip.html")
def tag_chip(
    tag: Tag,
    href: str = "",
    list_url: str = "",
    remove_url: str = "",
    remove_target: str = "",
    field: str = "",
    value: str = "",
) -> dict:
    """A chip; `list_url` makes it link to that list filtered by the tag (by id: lists
    prefetch only id, name and colour). `remove_url` adds a × that detaches it;
    `field` and `value` a hidden input and a × that drops it from a picker."""
    background, text = chip_colors(tag)
    if list_url and not href:
        href = f"{list_url}?tag={tag.pk}"
    return {
        "tag": tag,
        "background": background,
        "text": text,
        "href": href,
        "remove_url": remove_url,
        "remove_target": remove_target,
        "field": field,
        "value": value,
    }


@register.simple_tag
def record_chips(record: Model, list_url: str) -> str:
    """Chips of one list row; `record.tags.all()` is prefetched by the list view.

    Built in Python with the markup of tags/_chip.html's link case: an inclusion
    template per chip cost ~0.3 ms, 150 of them a list page; each distinct chip is
    then cached (keyed by everything it shows).
    """
    return mark_safe(
        " ".join(_list_chip(tag.pk, tag.name, tag.color, list_url) for tag in record.tags.all())
    )


@register.simple_tag
def list_chip(tag: Tag, list_url: str) -> str:
    """A chip linking to `list_url` filtered by the tag (as record_chips makes them)."""
    return _list_chip(tag.pk, tag.name, tag.color, list_url)


@lru_cache(maxsize=4096)
def _list_chip(pk: int, name: str, color: str, list_url: str) -> str:
    """One list chip's markup; a page repeats the same few tags, so it is built once."""
    background, text = chip_colors(Tag(pk=pk, name=name, color=color))
    return format_html(
        '<span class="tag-chip" data-bg="{}" data-fg="{}">'
        '<a href="{}?tag={}" data-chip-name>{}</a></span>',
        background,
        text,
        list_url,
        pk,
        name,
    )


@register.inclusion_tag("tags/_picker_chip_template.html")
def picker_chip_template(field: str) -> dict:
    """A blank chip that tags.js copies when a tag is picked, so its markup lives here only."""
    return {"tag": Tag(name="", color=FALLBACK_COLOR), "field": field}


def suggestion(tag: Tag) -> dict:
    background, text = chip_colors(tag)
    return {"tag": tag, "background": background, "text": text}


def record_tags_context(
    request, record: Model, *, error: str = "", autofocus: bool = False
) -> dict:
    """What tags/_record_tags.html needs; shared by the page and the htmx endpoints."""
    taggable = taggable_type_for(type(record))
    user = request.user
    opts = taggable.model._meta
    return {
        "record": record,
        "record_type": taggable.key,
        "verbose_name": opts.verbose_name,
        "tags": list(record_tags(record)),
        "list_url": reverse(f"{opts.model_name}_list"),
        # The change permission, and ownership for users who edit only their own.
        "can_tag": user.has_perm(taggable.change_permission) and may_edit(user, record),
        "can_create": user.has_perm("tags.manage_tag"),
        "section_id": f"tags-{taggable.key}-{record.pk}",
        "error": error,
        "autofocus": autofocus,
    }


@register.inclusion_tag("tags/_record_tags_block.html", takes_context=True)
def record_tags_section(context, record: Model) -> dict:
    request = context["request"]
    if not request.user.has_perm("tags.view_tag"):
        return {"hidden": True}
    return {"hidden": False, **record_tags_context(request, record)}


@register.inclusion_tag("tags/_tag_filter.html", takes_context=True)
def tag_filter(context, filterset) -> dict:
    """The Tag filter: chosen tags as chips (hidden `tag` inputs), match mode, tagged or not."""
    request = context["request"]
    if not request.user.has_perm("tags.view_tag"):
        return {"hidden": True}
    form = filterset.form
    cleaned = getattr(form, "cleaned_data", {}) or {}
    match = form["tag_match"].value() or "all"
    return {
        "hidden": False,
        "selected": cleaned.get("tag") or [],
        "match": match if match in dict(TAG_MATCH_CHOICES) else "all",
        "match_choices": TAG_MATCH_CHOICES,
        "tagged_field": form["tagged"],
    }
