"""The guide's Tags steps in a real browser: create a tag inline on a contact, see its
chip, detach it with ×, attach with the keyboard, and filter the contact list by a tag."""

import re

import pytest
from playwright.sync_api import expect

from contacts.models import Contact
from tags import services
from tags.models import Tag
from testing.browser import PHONE

pytestmark = [
    pytest.mark.browser,
    # serialized_rollback: the flush after a live-server test must not lose the seeded roles.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def people(contact):
    """Ada (the `contact` fixture), Charles tagged "vip", Grace untagged."""
    vip = services.create_tag("vip", color="#9333ea")
    babbage = Contact.objects.create(first_name="Charles", last_name="Babbage", country="GB")
    services.attach_tag(babbage, vip)
    Contact.objects.create(first_name="Grace", last_name="Hopper", country="US")
    return {"ada": contact, "babbage": babbage, "vip": vip}


def tags_section(page):
    return page.locator("section.tags-section")


def mark_page(page) -> None:
    """A flag that only survives if the page is never fully reloaded."""
    page.evaluate("window.__noReload = true")


def still_same_page(page) -> bool:
    return page.evaluate("window.__noReload === true")


def test_create_inline_detach_and_filter_by_tag(
    live_server, open_page, log_in, shoot, admin_user, people
):
    page = open_page()
    log_in(page, admin_user)

    # Open the contact; the Tags section is in the sidebar.
    page.goto(f"{live_server.url}/admin/contacts/{people['ada'].pk}")
    section = tags_section(page)
    assert section.get_by_role("heading", name="Tags").is_visible()
    mark_page(page)

    # Type a new name: nothing matches exactly, so "Create tag '…'" is offered.
    combobox = section.get_by_role("combobox")
    combobox.fill("Analytical")
    create = section.get_by_role("option", name="Create tag 'Analytical'")
    create.wait_for()
    assert combobox.get_attribute("aria-expanded") == "true"
    shoot(page, "01-contact-create-option-1280")
    create.click()

    # Its chip appears at once, without a full page reload.
    chip = section.locator(".tag-chip", has_text="Analytical")
    chip.wait_for()
    assert still_same_page(page)
    tag = Tag.objects.get(name="Analytical")
    assert list(services.record_tags(people["ada"])) == [tag]
    shoot(page, "02-contact-chip-1280")

    # × detaches it; the tag itself stays.
    section.get_by_role("button", name="Remove tag Analytical").click()
    chip.wait_for(state="detached")
    assert still_same_page(page)
    assert section.get_by_text("No tags yet.").is_visible()
    assert Tag.objects.filter(pk=tag.pk).exists()
    assert not services.record_tags(people["ada"]).exists()

    # The keyboard: type, Arrow Down to the match, Enter attaches it; Escape closes the list.
    combobox = tags_section(page).get_by_role("combobox")
    combobox.fill("VI")
    listbox = tags_section(page).get_by_role("listbox")
    expect(listbox).not_to_have_attribute("aria-busy", "true")  # the options answer "VI"
    tags_section(page).get_by_role("option", name="vip").wait_for()
    combobox.press("Escape")
    assert listbox.is_hidden()
    combobox.press("ArrowDown")
    assert listbox.is_visible()
    assert tags_section(page).get_by_role("option", name="vip").get_attribute("aria-selected") == (
        "true"
    )
    combobox.press("Enter")
    tags_section(page).locator(".tag-chip", has_text="vip").wait_for()
    assert still_same_page(page)
    assert list(services.record_tags(people["ada"])) == [people["vip"]]
    shoot(page, "03-contact-vip-1280")

    # Filter the contact list by "vip": only the tagged contacts remain.
    page.goto(f"{live_server.url}/admin/contacts")
    assert len(page.locator("table.records tbody tr").all()) == 3
    tag_filter = page.get_by_role("group", name="Tag filter")
    tag_filter.get_by_role("combobox").fill("vip")
    expect(tag_filter.get_by_role("listbox")).not_to_have_attribute("aria-busy", "true")
    tag_filter.get_by_role("option", name="vip").click()
    page.wait_for_url(re.compile(r"[?&]tag=vip\b"))
    assert "q=" not in page.url  # what was typed in the picker is not a filter
    page.wait_for_function("document.querySelectorAll('table.records tbody tr').length === 2")
    names = page.locator("table.records tbody tr td:nth-child(2) a").all_inner_texts()
    assert sorted(names) == ["Ada Lovelace", "Charles Babbage"]
    assert tag_filter.locator(".tag-chip", has_text="vip").is_visible()
    shoot(page, "04-contacts-filtered-1280")

    # The filtered URL can be shared: opening it shows the same rows and the chip.
    page.goto(page.url)
    assert len(page.locator("table.records tbody tr").all()) == 2
    shared_filter = page.get_by_role("group", name="Tag filter")
    assert shared_filter.locator('input[name="tag"]').get_attribute("value") == "vip"


def test_pages_are_usable_on_a_phone(live_server, open_page, log_in, shoot, manager, people):
    page = open_page(PHONE)
    log_in(page, manager)

    page.goto(f"{live_server.url}/admin/contacts/{people['babbage'].pk}")
    section = tags_section(page)
    section.scroll_into_view_if_needed()
    combobox = section.get_by_role("combobox")
    combobox.fill("v")
    section.get_by_role("option").first.wait_for()
    box = section.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    remove = section.get_by_role("button", name="Remove tag vip").bounding_box()
    assert remove["width"] >= 24 and remove["height"] >= 24  # a finger can hit the ×
    shoot(page, "05-contact-phone-390")

    page.goto(f"{live_server.url}/admin/contacts?tag=vip")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "06-contacts-filtered-phone-390")

    page.goto(f"{live_server.url}/admin/crm/tags")
    shoot(page, "07-tags-phone-390")
    page.get_by_role("link", name="New Tag").click()
    page.get_by_label("Name").fill("phone-made")
    page.get_by_text("Custom").click()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server.url}/admin/crm/tags")
    assert page.locator(".tag-chip", has_text="phone-made").is_visible()
    shoot(page, "08-tags-after-save-phone-390")


def test_bulk_add_tags_to_ticked_rows(live_server, open_page, log_in, shoot, admin_user, people):
    page = open_page()
    log_in(page, admin_user)

    page.goto(f"{live_server.url}/admin/crm/tags")
    shoot(page, "09-tags-1280")
    page.get_by_role("link", name="New Tag").click()
    page.get_by_label("Name").fill("enterprise")
    page.locator(".swatch", has=page.locator('input[value="#16a34a"]')).click()
    shoot(page, "10-new-tag-1280")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server.url}/admin/crm/tags")
    assert Tag.objects.get(name="enterprise").color == "#16a34a"

    page.goto(f"{live_server.url}/admin/contacts?ordering=last_name")
    page.get_by_role("checkbox", name="Select Charles Babbage").check()
    page.get_by_role("checkbox", name="Select Grace Hopper").check()
    bar = page.locator("form.bulk-bar")
    assert bar.get_by_text("2 selected").is_visible()
    bar.get_by_role("combobox").fill("enter")
    expect(bar.get_by_role("listbox")).not_to_have_attribute("aria-busy", "true")
    bar.get_by_role("option", name="enterprise").click()
    assert bar.locator('input[name="tags"]').get_attribute("value") == str(
        Tag.objects.get(name="enterprise").pk
    )
    shoot(page, "11-bulk-bar-1280")
    bar.get_by_role("button", name="Add tags").click()

    page.get_by_text("Added 'enterprise' to 2 contacts.").wait_for()
    assert "ordering=last_name" in page.url
    tagged = Contact.objects.filter(tags__name="enterprise").values_list("last_name", flat=True)
    assert sorted(tagged) == ["Babbage", "Hopper"]
    shoot(page, "12-after-bulk-1280")


def test_picker_chips_by_keyboard(live_server, open_page, log_in, admin_user, people):
    services.create_tag("enterprise", color="#16a34a")
    page = open_page()
    log_in(page, admin_user)
    page.goto(f"{live_server.url}/admin/contacts")
    bar = page.locator("form.bulk-bar")
    combobox = bar.get_by_role("combobox")
    listbox = bar.get_by_role("listbox")
    for name in ["vip", "enterprise"]:
        combobox.fill(name)
        expect(listbox).not_to_have_attribute("aria-busy", "true")
        combobox.press("Enter")
        expect(bar.locator(".tag-chip", has_text=name)).to_be_visible()
    expect(bar.locator(".tag-chip")).to_have_text(["vip×", "enterprise×"])
    # The suggestions are not a Tab stop: Tab leaves the picker for the next control.
    assert (
        bar.locator('[role="listbox"], [role="option"]').evaluate_all(
            "nodes => nodes.filter(node => node.tabIndex >= 0).length"
        )
        == 0
    )

    # Backspace in the empty input removes the last chip; focus stays in the input.
    expect(combobox).to_have_value("")
    combobox.press("Backspace")
    expect(bar.locator(".tag-chip")).to_have_text(["vip×"])
    expect(combobox).to_be_focused()
    assert bar.locator('input[name="tags"]').all()[0].get_attribute("value") == str(
        people["vip"].pk
    )

    # Removing a chip with its × by keyboard keeps focus in the picker: on the × now in
    # its place, and on the input when no chip is left.
    combobox.fill("enterprise")
    expect(listbox).not_to_have_attribute("aria-busy", "true")
    combobox.press("Enter")
    bar.get_by_role("button", name="Remove vip").focus()
    page.keyboard.press("Enter")
    expect(bar.locator(".tag-chip")).to_have_text(["enterprise×"])
    expect(bar.get_by_role("button", name="Remove enterprise")).to_be_focused()
    page.keyboard.press("Space")
    expect(bar.locator(".tag-chip")).to_have_count(0)
    expect(combobox).to_be_focused()


def test_record_tags_keep_focus_after_a_chip_is_removed(
    live_server, open_page, log_in, admin_user, people
):
    enterprise = services.create_tag("enterprise", color="#16a34a")
    services.attach_tag(people["babbage"], enterprise)
    page = open_page()
    log_in(page, admin_user)
    page.goto(f"{live_server.url}/admin/contacts/{people['babbage'].pk}")
    section = tags_section(page)
    expect(section.locator(".tag-chip")).to_have_count(2)
    first, second = [
        button.get_attribute("aria-label") for button in section.locator(".tag-chip-remove").all()
    ]

    # The section is swapped after each ×; focus goes to the × now in the removed one's place.
    section.get_by_role("button", name=first).focus()
    page.keyboard.press("Enter")
    expect(tags_section(page).locator(".tag-chip")).to_have_count(1)
    expect(tags_section(page).get_by_role("button", name=second)).to_be_focused()
    page.keyboard.press("Enter")
    expect(tags_section(page).get_by_text("No tags yet.")).to_be_visible()
    expect(tags_section(page).get_by_role("combobox")).to_be_focused()
    assert not services.record_tags(people["babbage"]).exists()
