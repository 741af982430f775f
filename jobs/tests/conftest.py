import pytest

from contacts.models import Contact
from segments import services as segment_services
from tags.services import attach_tag, create_tag


@pytest.fixture
def people(db):
    """Five contacts, three of them in the US; Ann and Bo tagged "vip"."""
    names = [("Ann", "US"), ("Bo", "US"), ("Cy", "US"), ("Di", "FR"), ("Ed", "DE")]
    return {
        name: Contact.objects.create(first_name=name, email=f"{name.lower()}@x.example", country=c)
        for name, c in names
    }


@pytest.fixture
def vip(people, admin_user):
    tag = create_tag("vip", user=admin_user)
    for name in ("Ann", "Bo"):
        attach_tag(people[name], tag)
    return tag


@pytest.fixture
def americans(people, admin_user):
    criteria = {
        "match": "all",
        "conditions": [{"field": "country", "operator": "equals", "value": "US"}],
    }
    return segment_services.create_segment(name="Americans", user=admin_user, criteria=criteria)
