/* Tag pickers, the custom colour swatch and row selection for bulk tagging.
 *
 * A picker ([data-tag-picker]) holds a combobox input whose listbox htmx fills
 * from /admin/crm/tags/suggest. Arrow Down/Up move through the options, Enter
 * picks (the first option when none is highlighted), Escape closes the list or,
 * when it is closed, clears the text.
 *   data-tag-picker="attach"  (record page): the pick is posted to the record at once.
 *   data-tag-picker="collect" (Tag filter, bulk bar): the pick becomes a chip holding a
 *   hidden input; with data-submit-on-change the surrounding form is submitted.
 * Everything is delegated from `document`, so markup that htmx swaps in just works.
 */
(function () {
  "use strict";
  // htmx can run this file again when it restores a page from history.
  if (window.cohortTags) return;
  window.cohortTags = true;

  const OPTION = '[role="option"]:not([aria-disabled="true"])';

  function pickerOf(element) {
    return element && element.closest ? element.closest("[data-tag-picker]") : null;
  }
  function comboboxOf(picker) {
    return picker.querySelector('[role="combobox"]');
  }
  function listboxOf(picker) {
    return picker.querySelector('[role="listbox"]');
  }
  function optionsOf(picker) {
    return Array.from(listboxOf(picker).querySelectorAll(OPTION));
  }
  function activeOption(picker) {
    return listboxOf(picker).querySelector('[aria-selected="true"]');
  }

  function setActive(picker, option) {
    listboxOf(picker)
      .querySelectorAll('[aria-selected="true"]')
      .forEach((other) => other.setAttribute("aria-selected", "false"));
    const combobox = comboboxOf(picker);
    if (option) {
      option.setAttribute("aria-selected", "true");
      combobox.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      combobox.removeAttribute("aria-activedescendant");
    }
  }

  function setOpen(picker, open) {
    const listbox = listboxOf(picker);
    const isOpen = open && listbox.children.length > 0;
    listbox.hidden = !isOpen;
    comboboxOf(picker).setAttribute("aria-expanded", String(isOpen));
    if (!isOpen) setActive(picker, null);
  }

  function move(picker, step) {
    const options = optionsOf(picker);
    if (!options.length) return;
    setOpen(picker, true);
    const index = options.indexOf(activeOption(picker));
    let next;
    if (index < 0) next = step > 0 ? 0 : options.length - 1;
    else next = (index + step + options.length) % options.length;
    setActive(picker, options[next]);
  }

  function valueOf(picker, option) {
    return picker.dataset.value === "id" ? option.dataset.tagId : option.dataset.tagSlug;
  }

  // The text a suggestion request asked about (its `q`), to tell current answers from late ones.
  function askedText(detail) {
    const path = (detail.pathInfo && detail.pathInfo.finalRequestPath) || detail.xhr.responseURL;
    return (new URL(path, window.location.href).searchParams.get("q") || "").trim();
  }

  function pickedValues(picker) {
    return Array.from(picker.querySelectorAll("[data-picked] input")).map((input) => input.value);
  }

  function addChip(picker, option) {
    const value = valueOf(picker, option);
    if (!value || pickedValues(picker).includes(value)) return;
    const template = picker.querySelector("template[data-chip-template]");
    const chip = template.content.firstElementChild.cloneNode(true);
    chip.style.backgroundColor = option.dataset.tagColor;
    chip.style.color = option.dataset.tagText;
    chip.querySelector("[data-chip-name]").textContent = option.dataset.tagName;
    chip.querySelector("input").value = value;
    chip.querySelector("[data-unpick]").setAttribute("aria-label", "Remove " + option.dataset.tagName);
    picker.querySelector("[data-picked]").appendChild(chip);
  }

  function changed(picker) {
    if ("submitOnChange" in picker.dataset) picker.closest("form").requestSubmit();
  }

  function pick(picker, option) {
    const combobox = comboboxOf(picker);
    setOpen(picker, false);
    if (picker.dataset.tagPicker === "attach") {
      // The picker is the attach form itself; htmx posts it and swaps the section.
      picker.querySelector('input[name="tag_id"]').value = option.dataset.tagId || "";
      picker.querySelector('input[name="name"]').value = option.dataset.create || "";
      picker.requestSubmit();
      return;
    }
    addChip(picker, option);
    combobox.value = "";
    combobox.focus();
    changed(picker);
  }

  document.addEventListener("keydown", function (event) {
    const picker = pickerOf(event.target);
    if (!picker || event.target !== comboboxOf(picker)) return;
    const listbox = listboxOf(picker);
    switch (event.key) {
      case "ArrowDown":
      case "ArrowUp":
        event.preventDefault();
        move(picker, event.key === "ArrowDown" ? 1 : -1);
        break;
      case "Enter": {
        // Enter never submits the surrounding form: it picks.
        event.preventDefault();
        if (listbox.getAttribute("aria-busy") === "true") {
          picker.dataset.pickWhenLoaded = "1"; // suggestions for the latest text are on their way
          break;
        }
        const option = activeOption(picker) || (!listbox.hidden && optionsOf(picker)[0]);
        if (option) pick(picker, option);
        break;
      }
      case "Escape":
        if (!listbox.hidden) {
          event.preventDefault();
          setOpen(picker, false);
        } else if (event.target.value) {
          event.preventDefault();
          event.target.value = "";
        }
        break;
    }
  });

  document.addEventListener("input", function (event) {
    const picker = pickerOf(event.target);
    if (picker && event.target === comboboxOf(picker)) {
      listboxOf(picker).setAttribute("aria-busy", "true"); // until the options match the text
      delete picker.dataset.pickWhenLoaded;
      setActive(picker, null);
    }
    if (event.target.matches("[data-custom-color]")) {
      // Choosing a custom colour selects the "Custom" swatch.
      event.target.closest("label").querySelector('input[type="radio"]').checked = true;
    }
  });

  // Keep focus in the combobox while an option is clicked.
  document.addEventListener("mousedown", function (event) {
    if (event.target.closest && event.target.closest("[data-tag-picker] [role='listbox']")) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    const option = event.target.closest && event.target.closest("[data-tag-picker] " + OPTION);
    if (option) {
      pick(pickerOf(option), option);
      return;
    }
    const unpick = event.target.closest && event.target.closest("[data-unpick]");
    if (unpick) {
      const picker = pickerOf(unpick);
      unpick.closest(".tag-chip").remove();
      comboboxOf(picker).focus();
      changed(picker);
    }
  });

  document.addEventListener("focusout", function (event) {
    const picker = pickerOf(event.target);
    if (picker && !picker.contains(event.relatedTarget)) setOpen(picker, false);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    const listbox = event.detail.target;
    const picker = pickerOf(listbox);
    if (!picker || listbox !== listboxOf(picker)) return;
    const taken = pickedValues(picker);
    listbox.querySelectorAll('[role="option"]').forEach(function (option, index) {
      option.id = listbox.id + "-" + index;
      if (option.dataset.tagId && taken.includes(valueOf(picker, option))) option.remove();
    });
    // A slower answer to an earlier text (e.g. the one asked on focus) leaves the list busy.
    if (askedText(event.detail) === comboboxOf(picker).value.trim()) {
      listbox.removeAttribute("aria-busy");
    }
    setOpen(picker, document.activeElement === comboboxOf(picker));
    if (picker.dataset.pickWhenLoaded && !listbox.hasAttribute("aria-busy")) {
      delete picker.dataset.pickWhenLoaded;
      const first = optionsOf(picker)[0];
      if (first) pick(picker, first);
    }
  });

  // A failed request for the current text must not leave the list busy for ever.
  document.addEventListener("htmx:afterRequest", function (event) {
    const listbox = event.detail.target;
    const picker = pickerOf(listbox);
    if (!picker || listbox !== listboxOf(picker) || event.detail.successful) return;
    if (askedText(event.detail) === comboboxOf(picker).value.trim()) {
      listbox.removeAttribute("aria-busy");
      delete picker.dataset.pickWhenLoaded;
    }
  });

  // The Tags section answers 400 with its error message in it: show it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    if (event.detail.xhr.status === 400 && target && target.matches("[data-tags-section]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
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
