/* One ARIA combobox (the WAI-ARIA APG "list autocomplete" pattern) for every picker.
 *
 * Markup, configured by data attributes; handlers are delegated from `document`, so
 * markup that htmx swaps in (or a script builds) works without any set-up call:
 *
 *   <div data-combobox data-combobox-url="/suggest">     the root (a form may be the root)
 *     <span data-combobox-picked>…chips…</span>           optional: the input manages chips
 *     <input role="combobox" aria-controls="L" aria-expanded="false" aria-autocomplete="list">
 *     <ul role="listbox" id="L" hidden></ul>
 *     <template data-combobox-chip-template>…</template>  the chip a pick adds
 *     <input type="hidden" data-combobox-value>           optional: one value (record pickers)
 *     <input type="hidden" data-combobox-created>         optional: the text of a "create" pick
 *   </div>
 *
 * Options come from one of:
 *   data-combobox-url       GET url?q=<text> (plus data-combobox-params, a JSON object) answers
 *                           HTML <li role="option" data-value="…" data-label="…"> elements;
 *                           data-create="<text>" marks the "+ Create …" option.
 *   data-combobox-options   a selector of a <script type="application/json"> holding
 *                           [{"value": …, "label": …}], filtered here as the user types.
 *   Combobox.attach(root, {options(query) → [{value, label, …}]}) from a script.
 *
 * Other settings: data-combobox-value-key (the option's data-* holding its value, default
 * "value"), data-combobox-submit (submit the enclosing form whenever the value changes),
 * data-combobox-empty (the note shown when no given option matches).
 *
 * Keys: typing filters, ↓/↑ move (and open), Enter picks the highlighted option (the first
 * when none is; it never submits the form), Escape closes the list or else clears the text,
 * Backspace in the empty input removes the last chip. The listbox is never a Tab stop:
 * focus stays in the input (aria-activedescendant). After a chip is removed, focus stays in
 * the picker: on the input, or on the neighbouring chip's × when it was removed by keyboard.
 */
(function () {
  "use strict";
  // htmx can run this file again when it restores a page from history.
  if (window.Combobox) return;

  const ROOT = "[data-combobox]";
  const OPTION = '[role="option"]:not([aria-disabled="true"])';
  const CHIP = "[data-combobox-picked] > *";
  const REMOVE = "[data-combobox-remove]";
  const FETCH_DELAY_MS = 150;
  const controllers = new WeakMap();

  function json(text, fallback) {
    try {
      return text ? JSON.parse(text) : fallback;
    } catch (error) {
      return fallback;
    }
  }

  function settingsOf(root) {
    const data = root.dataset;
    const config = {
      url: data.comboboxUrl || "",
      params: json(data.comboboxParams, {}),
      valueKey: data.comboboxValueKey || "value",
      submit: "comboboxSubmit" in data,
      emptyText: data.comboboxEmpty || "Nothing matches.",
      openOnFocus: true,
      pickKeys: [],
      options: null,
      renderOption: null,
      onPick: null,
      onRemove: null,
    };
    if (data.comboboxOptions) {
      const source = document.querySelector(data.comboboxOptions);
      const given = source ? json(source.textContent, []) : [];
      config.options = (query) =>
        given.filter((item) => !query || String(item.label).toLowerCase().includes(query.toLowerCase()));
    }
    return config;
  }

  class Combobox {
    constructor(root, overrides) {
      this.root = root;
      this.config = Object.assign(settingsOf(root), overrides || {});
      this.timer = null;
      this.request = null;
      this.pickWhenLoaded = false;
    }

    get input() {
      return this.root.querySelector('[role="combobox"]');
    }
    get listbox() {
      return this.root.querySelector('[role="listbox"]');
    }
    get query() {
      return this.input.value.trim();
    }
    options() {
      return Array.from(this.listbox.querySelectorAll(OPTION));
    }
    active() {
      return this.listbox.querySelector('[aria-selected="true"]');
    }
    chips() {
      return Array.from(this.root.querySelectorAll(CHIP));
    }
    chipValue(chip) {
      const hidden = chip.querySelector('input[type="hidden"]');
      return hidden ? hidden.value : chip.dataset.value;
    }
    taken() {
      return this.chips().map((chip) => String(this.chipValue(chip)));
    }
    valueOf(option) {
      if (option.comboboxItem) return option.comboboxItem.value;
      return option.dataset[this.config.valueKey] || "";
    }

    // --- the list -----------------------------------------------------------------------

    setActive(option) {
      this.listbox
        .querySelectorAll('[aria-selected="true"]')
        .forEach((other) => other.setAttribute("aria-selected", "false"));
      if (option) {
        option.setAttribute("aria-selected", "true");
        this.input.setAttribute("aria-activedescendant", option.id);
        option.scrollIntoView({ block: "nearest" });
      } else {
        this.input.removeAttribute("aria-activedescendant");
      }
    }

    setOpen(open) {
      const isOpen = open && this.listbox.children.length > 0;
      this.listbox.hidden = !isOpen;
      this.input.setAttribute("aria-expanded", String(isOpen));
      if (!isOpen) this.setActive(null);
    }

    /** Fill the list for the current text: from the given options at once, else from the URL. */
    refresh(immediately) {
      if (this.config.options) {
        this.render(this.config.options(this.query));
        this.setOpen(true);
        this.setActive(this.options()[0] || null); // what Enter would pick
        return;
      }
      if (!this.config.url) return;
      clearTimeout(this.timer);
      this.listbox.setAttribute("aria-busy", "true"); // until the options match the text
      this.timer = setTimeout(() => this.fetch(), immediately ? 0 : FETCH_DELAY_MS);
    }

    render(items) {
      const listId = this.listbox.id;
      const nodes = items.map((item, index) => {
        const option = document.createElement("li");
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.id = `${listId}-${index}`;
        option.className = item.create ? "combobox-option combobox-option-create" : "combobox-option";
        option.comboboxItem = item;
        const content = this.config.renderOption && this.config.renderOption(item);
        if (content) option.append(...[].concat(content));
        else {
          const name = document.createElement("span");
          name.className = "combobox-option-name";
          name.textContent = item.label; // text, never parsed as HTML
          option.append(name);
        }
        return option;
      });
      if (!items.length && this.config.emptyText) {
        const note = document.createElement("li");
        note.setAttribute("role", "option");
        note.setAttribute("aria-disabled", "true");
        note.className = "combobox-option-note";
        note.textContent = this.config.emptyText;
        nodes.push(note);
      }
      this.listbox.replaceChildren(...nodes);
    }

    async fetch() {
      if (this.request) this.request.abort();
      const request = new AbortController();
      this.request = request;
      const asked = this.query;
      const url = new URL(this.config.url, window.location.href);
      url.searchParams.set("q", asked);
      for (const [key, value] of Object.entries(this.config.params)) url.searchParams.set(key, value);
      try {
        const response = await fetch(url, { credentials: "same-origin", signal: request.signal });
        if (response.redirected || !response.ok) throw new Error(response.status);
        const template = document.createElement("template");
        template.innerHTML = await response.text(); // the server's own escaped options
        if (this.request !== request) return;
        this.fill(template.content);
      } catch (error) {
        if (error.name === "AbortError" || this.request !== request) return;
        this.note("Suggestions could not be loaded: reload the page.");
      }
      this.request = null;
      // The answer is for the text typed now: the list is no longer busy.
      if (asked === this.query) this.listbox.removeAttribute("aria-busy");
      this.setOpen(document.activeElement === this.input);
      if (this.pickWhenLoaded && !this.listbox.hasAttribute("aria-busy")) {
        this.pickWhenLoaded = false;
        const first = this.options()[0];
        if (first) this.pick(first);
      }
    }

    fill(fragment) {
      const taken = this.taken();
      const listId = this.listbox.id;
      fragment.querySelectorAll('[role="option"]').forEach((option, index) => {
        option.id = `${listId}-${index}`;
        const value = this.valueOf(option);
        if (value && !("create" in option.dataset) && taken.includes(String(value))) option.remove();
      });
      this.listbox.replaceChildren(fragment);
    }

    note(text) {
      const note = document.createElement("li");
      note.setAttribute("role", "option");
      note.setAttribute("aria-disabled", "true");
      note.className = "combobox-option-note";
      note.textContent = text;
      this.listbox.replaceChildren(note);
    }

    move(step) {
      if (this.listbox.hidden && this.config.options) {
        this.refresh(); // opens with the first option highlighted
        return;
      }
      const options = this.options();
      if (!options.length) {
        if (this.config.url && this.listbox.hidden) this.refresh(true);
        return;
      }
      const index = this.listbox.hidden ? -1 : options.indexOf(this.active());
      this.setOpen(true);
      let next;
      if (index < 0) next = step > 0 ? 0 : options.length - 1;
      else next = (index + step + options.length) % options.length;
      this.setActive(options[next]);
    }

    // --- picking and removing -------------------------------------------------------------

    itemOf(option) {
      if (option.comboboxItem) return option.comboboxItem;
      const data = option.dataset;
      const create = "create" in data;
      return {
        value: create ? "" : this.valueOf(option),
        label: data.label || option.textContent.trim(),
        create: create ? data.create : "",
        data,
      };
    }

    pick(option) {
      const item = this.itemOf(option);
      this.setOpen(false);
      if (this.config.onPick) this.config.onPick(item);
      else this.defaultPick(item);
      // A chip (or the script's own display) now shows the pick: the text goes.
      if (this.config.onPick || this.root.querySelector("[data-combobox-picked]")) this.input.value = "";
      if (this.input.isConnected) this.input.focus();
      this.changed();
    }

    defaultPick(item) {
      const single = this.root.querySelector("[data-combobox-value]");
      if (single) {
        single.value = item.value;
        const created = this.root.querySelector("[data-combobox-created]");
        if (created) created.value = item.create || "";
        this.input.value = item.create || item.label;
        return;
      }
      const template = this.root.querySelector("template[data-combobox-chip-template]");
      const picked = this.root.querySelector("[data-combobox-picked]");
      if (!template || !picked || !item.value || this.taken().includes(String(item.value))) return;
      const chip = template.content.firstElementChild.cloneNode(true);
      chip.querySelector("[data-chip-name]").textContent = item.label;
      chip.querySelector('input[type="hidden"]').value = item.value;
      chip.querySelector(REMOVE).setAttribute("aria-label", "Remove " + item.label);
      picked.appendChild(chip);
      // The page may dress the chip from the option's data (tags.js gives it the tag's colours).
      this.root.dispatchEvent(new CustomEvent("combobox:chip", { bubbles: true, detail: { chip, item } }));
    }

    /** Remove a chip; `byKeyboard` moves focus to the chip now in its place, else the input. */
    remove(chip, byKeyboard) {
      const index = this.chips().indexOf(chip);
      if (this.config.onRemove) this.config.onRemove(chip, this.chipValue(chip));
      else chip.remove();
      const chips = this.chips();
      const neighbour = byKeyboard && (chips[index] || chips[index - 1]);
      const button = neighbour && neighbour.querySelector(REMOVE);
      (button || this.input).focus();
      this.changed();
    }

    changed() {
      this.root.dispatchEvent(new CustomEvent("combobox:change", { bubbles: true }));
      if (this.config.submit) {
        const form = this.root.closest("form");
        if (form) form.requestSubmit();
      }
    }

    // --- events (called by the delegated listeners below) ----------------------------------

    keydown(event) {
      const listbox = this.listbox;
      switch (event.key) {
        case "ArrowDown":
        case "ArrowUp":
          event.preventDefault();
          this.move(event.key === "ArrowDown" ? 1 : -1);
          return;
        case "Enter": {
          // Enter never submits the surrounding form: it picks.
          event.preventDefault();
          if (listbox.getAttribute("aria-busy") === "true") {
            this.pickWhenLoaded = true; // suggestions for the latest text are on their way
            return;
          }
          const option = this.active() || (!listbox.hidden && this.options()[0]);
          if (option) this.pick(option);
          return;
        }
        case "Escape":
          if (!listbox.hidden) {
            event.preventDefault();
            this.setOpen(false);
          } else if (this.input.value) {
            event.preventDefault();
            this.input.value = "";
          }
          return;
        case "Backspace": {
          const chips = this.chips();
          if (this.input.value === "" && chips.length) {
            event.preventDefault();
            this.remove(chips[chips.length - 1], false);
          }
          return;
        }
        default:
          if (this.config.pickKeys.includes(event.key)) {
            event.preventDefault();
            const option = this.active() || this.options()[0];
            if (option) this.pick(option);
          }
      }
    }

    typed() {
      this.pickWhenLoaded = false;
      this.setActive(null);
      this.refresh();
    }

    focused() {
      if (this.config.openOnFocus) this.refresh(true);
    }
  }

  function controllerOf(element) {
    const root = element && element.closest ? element.closest(ROOT) : null;
    if (!root) return null;
    let controller = controllers.get(root);
    if (!controller) {
      controller = new Combobox(root);
      controllers.set(root, controller);
    }
    return controller;
  }

  function inputEvent(event) {
    const controller = controllerOf(event.target);
    return controller && event.target === controller.input ? controller : null;
  }

  document.addEventListener("keydown", (event) => {
    const controller = inputEvent(event);
    if (controller) controller.keydown(event);
  });
  document.addEventListener("input", (event) => {
    const controller = inputEvent(event);
    if (controller) controller.typed();
  });
  document.addEventListener("focusin", (event) => {
    const controller = inputEvent(event);
    if (controller) controller.focused();
  });
  document.addEventListener("focusout", (event) => {
    const controller = controllerOf(event.target);
    if (controller && !controller.root.contains(event.relatedTarget)) controller.setOpen(false);
  });
  // Keep focus in the input while an option is clicked.
  document.addEventListener("mousedown", (event) => {
    if (event.target.closest && event.target.closest(`${ROOT} [role="listbox"]`)) event.preventDefault();
  });
  document.addEventListener("click", (event) => {
    const controller = controllerOf(event.target);
    if (!controller) return;
    const option = event.target.closest(`[role="listbox"] ${OPTION}`);
    if (option) {
      controller.pick(option);
      return;
    }
    const remove = event.target.closest(REMOVE);
    const chip = remove && remove.closest(CHIP);
    if (chip && controller.root.contains(chip)) {
      // A click with detail 0 came from Enter or Space on the focused ×.
      controller.remove(chip, event.detail === 0);
      return;
    }
    // A click on the box around the chips goes to the input.
    if (event.target === controller.root || event.target.matches("[data-combobox-picked], .combobox-box")) {
      controller.input.focus();
    }
  });

  window.Combobox = {
    /** Configure `root` from a script; `overrides` win over its data attributes. */
    attach(root, overrides) {
      const controller = new Combobox(root, overrides);
      controllers.set(root, controller);
      return controller;
    },
  };
})();
