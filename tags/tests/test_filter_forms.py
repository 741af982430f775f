"""The Tag filter's two SQL forms (EXISTS for common tags, IN for rare) select the same rows."""

import pytest

from django.http import QueryDict

from contacts.filtersets import ContactFilterSet
from contacts.models import Contact
from tags.filtersets import TaggedFilterSet
from tags.services import attach_tag, create_tag


@pytest.fixture
def tagged_contacts(db):
    contacts = [Contact.objects.create(first_name=f"C{n}") for n in range(12)]
    red, blue = create_tag("red"), create_tag("blue")
    for n, contact in enumerate(contacts):
        if n % 2:
            attach_tag(contact, red)
        if n % 3 == 0:
            attach_tag(contact, blue)
    return contacts


@pytest.mark.parametrize(
    "query",
    ["tag=red", "tag=red&tag=blue", "tag=red&tag=blue&tag_match=any",
     "tag=red&tag=blue&tag_match=none", "tagged=false", "tagged=true"],
)  # fmt: skip
def test_both_forms_and_the_count_form_select_the_same_contacts(
    tagged_contacts, monkeypatch, query
):
    def ids(share: float) -> tuple[list[int], list[int]]:
        monkeypatch.setattr(TaggedFilterSet, "RARE_TAG_SHARE", share)
        filterset = ContactFilterSet(QueryDict(query), queryset=Contact.objects.all())
        assert filterset.is_valid(), filterset.errors
        counted = filterset.count_qs
        # Tags alone are counted on their links, one per contact (tags.filtersets).
        key = "pk" if counted.model is Contact else "record_id"
        return list(filterset.qs.values_list("pk", flat=True)), sorted(
            counted.values_list(key, flat=True)
        )

    exists_rows, count_rows = ids(0.0)  # every tag counts as common: EXISTS
    in_rows, _ = ids(1.0)  # every tag counts as rare: IN
    assert exists_rows == in_rows
    assert sorted(exists_rows) == count_rows
    assert exists_rows  # the cases above all match someone
