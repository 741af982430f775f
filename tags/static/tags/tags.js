/* The tag pages' own behaviour; the pickers themselves are core/combobox.js comboboxes.
 *
 * - A chip a picker adds takes the picked tag's colours.
 * - On the record page, the Tags section answers 400 with its error message: show it; and
 *   after a chip's × the section is swapped, so focus goes to the × now in its place (or the
 *   one before, or the picker) instead of being lost.
 * - The custom colour of the tag form selects its "Custom" swatch.
 * - Row selection for bulk tagging on list pages.
 * Everything is delegated from `document`, so markup that htmx swaps in just works.
 */
(function () {
  "use strict";
  // htmx can run this file again when it restores a page from history.
  if (window.cohortTags) return;
  window.cohortTags = true;

  document.addEventListener("combobox:chip", function (event) {
    const { chip, item } = event.detail;
    if (!item.data || !item.data.tagColor) return;
    chip.style.backgroundColor = item.data.tagColor;
    chip.style.color = item.data.tagText;
  });

  document.addEventListener("input", function (event) {
    if (event.target.matches("[data-custom-color]")) {
      // Choosing a custom colour selects the "Custom" swatch.
      event.target.closest("label").querySelector('input[type="radio"]').checked = true;
    }
  });

  // --- Focus after a chip's × on the record page ------------------------------------------

  let refocus = null;

  document.addEventListener("htmx:beforeRequest", function (event) {
    const form = event.detail.elt;
    const section = form && form.closest && form.closest("[data-tags-section]");
    if (!section || !form.closest(".tag-chip")) return;
    const forms = Array.from(section.querySelectorAll(".tag-chip form"));
    refocus = { id: section.id, index: forms.indexOf(form) };
  });

  document.addEventListener("htmx:afterSettle", function () {
    const section = refocus && document.getElementById(refocus.id);
    if (!section) return;
    const index = refocus.index;
    refocus = null;
    const buttons = section.querySelectorAll(".tag-chip .tag-chip-remove");
    const target = buttons[index] || buttons[index - 1] || section.querySelector('[role="combobox"]');
    if (target) target.focus();
  });

  // --- Bulk selection on list pages -------------------------------------------------------

  function rowBoxes(form) {
    return Array.from(document.querySelectorAll('input[name="ids"][form="' + form.id + '"]'));
  }

  function updateBulkBar(form) {
    const boxes = rowBoxes(form);
    const ticked = boxes.filter((box) => box.checked).length;
    const all = form.querySelector("[data-bulk-all]");
    const count = form.querySelector("[data-bulk-count]");
    if (all && all.checked) count.textContent = "All " + all.dataset.count + " matching selected";
    else if (ticked) count.textContent = ticked + " selected";
    else count.textContent = "No rows selected";
    const pageBox = document.querySelector("[data-bulk-page]");
    if (pageBox) {
      pageBox.checked = boxes.length > 0 && ticked === boxes.length;
      pageBox.indeterminate = ticked > 0 && ticked < boxes.length;
    }
  }

  document.addEventListener("change", function (event) {
    const target = event.target;
    const form = document.querySelector("[data-bulk-bar]");
    if (!form) return;
    if (target.matches("[data-bulk-page], [data-bulk-all]")) {
      rowBoxes(form).forEach((box) => (box.checked = target.checked));
    }
    const all = form.querySelector("[data-bulk-all]");
    const unticked = target.matches('input[name="ids"], [data-bulk-page]') && !target.checked;
    if (all && unticked) all.checked = false;
    if (target.matches('[data-bulk-page], [data-bulk-all], input[name="ids"]')) updateBulkBar(form);
  });
})();
