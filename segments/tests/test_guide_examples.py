"""The guide's three example segments, built and synced as a user would."""

from segments.sync import sync_segment
from segments.tests.test_sync import members


def test_enterprise_contacts_in_the_us(cast, make_segment, manager):
    segment = make_segment(
        "Enterprise contacts in the US",
        criteria={
            "match": "all",
            "conditions": [
                {"field": "tags", "operator": "has", "value": cast.tags["enterprise"].pk},
                {"field": "country", "operator": "equals", "value": "US"},
            ],
        },
    )

    sync_segment(segment, manager)

    assert members(segment) == {"Ann": "rule"}


def test_leads_scored_above_70_with_no_deal(cast, make_segment, manager):
    segment = make_segment(
        "Leads scored above 70 with no deal",
        criteria={
            "conditions": [
                {"field": "lifecycle_stage", "operator": "equals", "value": "lead"},
                {"field": "lead_score", "operator": "greater_than", "value": 70},
                {"field": "deals_count", "operator": "equals", "value": 0},
            ]
        },
    )

    sync_segment(segment, manager)

    # Ann is a lead scored 80 too, but she has a deal.
    assert members(segment) == {"Cy": "rule"}


def test_contacts_with_no_activity_in_90_days_include_those_never_active(
    cast, make_segment, manager
):
    segment = make_segment(
        "Contacts with no activity in 90 days",
        criteria={
            "conditions": [
                {"field": "last_activity_at", "operator": "not_in_last_days", "value": 90}
            ]
        },
    )

    sync_segment(segment, manager)

    # Bob's last activity was 100 days ago; Cy never had any; Dee's was 89 days ago.
    assert members(segment) == {"Bob": "rule", "Cy": "rule"}
