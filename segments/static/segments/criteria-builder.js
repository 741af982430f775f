/* The Filter Criteria builder of the New Segment and edit pages.
 *
 * Generated from the field registry the page embeds (#segment-fields: the same data as
 * GET /api/crm/segments/fields), so a field added to the registry appears here too.
 * Each condition is a row Field → Operator → Value; the value input follows the
 * operator's value shape. Groups match all / any / none of their conditions and nest
 * up to the registry's max_depth.
 *
 * The builder keeps a small tree of plain objects; every change is written back as
 * criteria JSON into the form's textarea (the only thing the form submits) and, after
 * a pause, posted to the preview endpoint, whose HTML answer fills the preview panel.
 * Without JavaScript the textarea simply stays visible and editable.
 */
(function () {
  "use strict";

  const form = document.getElementById("segment-form");
  if (!form) return;
  const registry = JSON.parse(document.getElementById("segment-fields").textContent);
  const serverErrors = JSON.parse(document.getElementById("segment-criteria-errors").textContent);
  const textarea = form.querySelector("textarea[name=criteria]");
  const mount = form.querySelector("[data-criteria-builder]");
  const source = form.querySelector("[data-criteria-source]");
  const jsonError = form.querySelector("[data-json-error]");
  const preview = document.querySelector("[data-preview]");
  const segmentId = form.dataset.segmentId ? Number(form.dataset.segmentId) : null;

  const FIELDS = new Map(registry.fields.map((field) => [field.name, field]));
  const PREVIEW_DELAY_MS = 400;
  const MAX_OPTIONS = 100;
  // A single value and the list form of the same thing: switching operators keeps the value.
  const LIST_OF = { text: "text_list", choice: "choice_list", user: "user_list", tag: "tag_list" };
  const RANGE_OF = { number: "number_range", date: "date_range" };

  let root = null;
  let uid = 0;

  // --- small DOM helper: text is always set as text, never parsed as HTML ---------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }

  function nextId(prefix) {
    uid += 1;
    return `${prefix}-${uid}`;
  }

  // --- the tree: JSON in, JSON out ------------------------------------------------------

  function isGroup(raw) {
    return raw && typeof raw === "object" && !("field" in raw) && ("conditions" in raw || "match" in raw);
  }

  function fromJSON(raw, depth) {
    const group = {
      kind: "group",
      depth,
      match: raw && typeof raw.match === "string" ? raw.match : "all",
      children: [],
    };
    const conditions = raw && Array.isArray(raw.conditions) ? raw.conditions : [];
    for (const child of conditions) {
      if (isGroup(child)) group.children.push(fromJSON(child, depth + 1));
      else {
        const item = child && typeof child === "object" ? child : {};
        group.children.push({
          kind: "condition",
          field: item.field ?? null,
          operator: item.operator ?? null,
          value: item.value,
        });
      }
    }
    return group;
  }

  function toJSON(node) {
    if (node.kind === "group") return { match: node.match, conditions: node.children.map(toJSON) };
    const out = { field: node.field, operator: node.operator };
    const operator = operatorOf(node);
    if (!operator || operator.value !== "none") out.value = node.value === undefined ? null : node.value;
    return out;
  }

  function operatorOf(node) {
    const field = FIELDS.get(node.field);
    return field ? field.operators.find((op) => op.name === node.operator) || null : null;
  }

  function countConditions(group) {
    return group.children.reduce(
      (sum, child) => sum + (child.kind === "group" ? countConditions(child) : 1),
      0,
    );
  }

  function emptyCondition() {
    return { kind: "condition", field: null, operator: null, value: undefined };
  }

  /** The value a new operator starts with: the old one when it still fits. */
  function carryValue(oldShape, newShape, value) {
    if (oldShape === newShape) return value;
    if (LIST_OF[oldShape] === newShape && value !== null && value !== undefined && value !== "") {
      return [value];
    }
    if (LIST_OF[newShape] === oldShape && Array.isArray(value) && value.length) return value[0];
    if (RANGE_OF[oldShape] === newShape && value !== null && value !== "") return [value, null];
    return blankValue(newShape);
  }

  function blankValue(shape) {
    if (shape === "none") return undefined;
    if (shape.endsWith("_list")) return [];
    if (shape.endsWith("_range")) return shape === "date_range" ? ["", ""] : [null, null];
    if (shape === "text" || shape === "date") return "";
    return null;
  }

  // --- change → textarea → preview ------------------------------------------------------

  let previewTimer = null;
  let previewRequest = null;

  function changed() {
    textarea.value = JSON.stringify(toJSON(root), null, 2);
    clearTimeout(previewTimer);
    previewTimer = setTimeout(refreshPreview, PREVIEW_DELAY_MS);
  }

  async function refreshPreview() {
    if (!preview) return;
    if (previewRequest) previewRequest.abort();
    previewRequest = new AbortController();
    const body = new URLSearchParams({
      criteria: textarea.value,
      csrfmiddlewaretoken: form.querySelector("[name=csrfmiddlewaretoken]").value,
    });
    if (segmentId) body.set("segment_id", String(segmentId));
    preview.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: "POST",
        body,
        credentials: "same-origin",
        signal: previewRequest.signal,
      });
      if (response.redirected || response.status === 403) {
        preview.textContent = "Your session has ended or you may no longer edit segments: reload the page.";
      } else {
        // The server's own escaped partial (segments/_preview.html).
        preview.innerHTML = await response.text();
      }
    } catch (error) {
      if (error.name !== "AbortError") preview.textContent = "The preview could not be loaded.";
    } finally {
      preview.removeAttribute("aria-busy");
    }
  }

  // --- rendering ------------------------------------------------------------------------

  function render(focusNode) {
    mount.replaceChildren(renderGroup(root, "", null));
    if (focusNode && focusNode.focusEl) focusNode.focusEl.focus();
    updateLimits();
  }

  function structureChanged(focusNode) {
    render(focusNode);
    changed();
  }

  function updateLimits() {
    const full = countConditions(root) >= registry.max_conditions;
    mount.querySelectorAll("[data-adds]").forEach((button) => {
      button.disabled = full;
      button.title = full ? `At most ${registry.max_conditions} conditions in all.` : "";
    });
  }

  function childPath(path, index) {
    return `${path ? path + "." : ""}conditions[${index}]`;
  }

  function renderGroup(group, path, parent) {
    const isRoot = parent === null;
    const matchSelect = el(
      "select",
      {
        class: "criteria-match",
        "aria-label": isRoot ? "Contacts must match" : "This group must match",
        onchange: (event) => {
          group.match = event.target.value;
          changed();
        },
      },
      registry.matches.map((match) =>
        el("option", { value: match.value, selected: match.value === group.match, text: match.label }),
      ),
    );
    const head = el(
      "div",
      { class: "criteria-group-head" },
      el("span", { text: isRoot ? "Contacts matching" : "Group matching" }),
      matchSelect,
      !isRoot &&
        el("button", {
          type: "button",
          class: "button subtle small danger criteria-remove",
          text: "Remove group",
          onclick: () => {
            parent.children.splice(parent.children.indexOf(group), 1);
            structureChanged();
          },
        }),
    );
    group.focusEl = matchSelect;

    const list = el("ol", { class: "criteria-list" });
    if (group.children.some((child) => child.kind === "condition")) {
      list.append(
        el(
          "li",
          { class: "criteria-captions", "aria-hidden": "true" },
          el("span", { text: "Field" }),
          el("span", { text: "Operator" }),
          el("span", { text: "Value" }),
        ),
      );
    }
    group.children.forEach((child, index) => {
      const here = childPath(path, index);
      const item = child.kind === "group" ? renderGroup(child, here, group) : renderCondition(child, here, group);
      list.append(el("li", { class: "criteria-item" }, item));
    });
    if (!group.children.length) {
      list.append(
        el("li", {
          class: "criteria-empty muted",
          text: "No conditions: the segment is a hand-made list. Add contacts with the picker on its page.",
        }),
      );
    }

    const addCondition = el("button", {
      type: "button",
      class: "button small",
      "data-adds": true,
      text: "+ Add condition",
      onclick: () => {
        const condition = emptyCondition();
        group.children.push(condition);
        structureChanged(condition);
      },
    });
    const canNest = group.depth < registry.max_depth;
    const addGroup =
      canNest &&
      el("button", {
        type: "button",
        class: "button small subtle",
        "data-adds": true,
        text: "+ Add group",
        title: "A group of conditions combined with all, any or none",
        onclick: () => {
          const condition = emptyCondition();
          const nested = { kind: "group", depth: group.depth + 1, match: "any", children: [condition] };
          group.children.push(nested);
          structureChanged(condition);
        },
      });
    const foot = el("div", { class: "criteria-group-actions" }, addCondition, addGroup);
    const box = el(
      "div",
      { class: `criteria-group${isRoot ? " is-root" : ""}`, role: "group", "data-path": path },
      head,
      list,
      foot,
    );
    box.setAttribute("aria-label", isRoot ? "Filter Criteria" : "Group of conditions");
    return box;
  }

  function renderCondition(node, path, parent) {
    const operatorSlot = el("div", { class: "criteria-operator" });
    const valueSlot = el("div", { class: "criteria-value" });
    const help = el("small", { class: "criteria-help muted" });

    function fillField() {
      const field = FIELDS.get(node.field);
      help.textContent = field && field.help ? field.help : "";
      help.hidden = !help.textContent;
      if (!field) {
        operatorSlot.replaceChildren();
        valueSlot.replaceChildren();
        return;
      }
      const operatorSelect = el(
        "select",
        {
          "aria-label": "Operator",
          onchange: (event) => {
            const before = operatorOf(node);
            node.operator = event.target.value;
            const after = operatorOf(node);
            if (!before || before.value !== after.value) {
              node.value = carryValue(before ? before.value : "none", after.value, node.value);
              fillValue();
            }
            changed();
          },
        },
        !operatorOf(node) &&
          el("option", { value: "", selected: true, disabled: true, text: `Unknown “${node.operator}”` }),
        field.operators.map((op) =>
          el("option", { value: op.name, selected: op.name === node.operator, text: op.label }),
        ),
      );
      operatorSlot.replaceChildren(operatorSelect);
      fillValue();
    }

    function fillValue() {
      const field = FIELDS.get(node.field);
      const operator = operatorOf(node);
      valueSlot.replaceChildren(field && operator ? valueEditor(node, field, operator.value) : "");
    }

    const known = FIELDS.has(node.field);
    const fieldSelect = el(
      "select",
      {
        "aria-label": "Field",
        onchange: (event) => {
          const before = operatorOf(node);
          node.field = event.target.value;
          const field = FIELDS.get(node.field);
          // Same type (e.g. text → text): keep the operator and the value.
          const same = before && field.operators.find((op) => op.name === before.name && op.value === before.value);
          if (!same || field.choices) {
            node.operator = field.operators[0].name;
            node.value = blankValue(field.operators[0].value);
          }
          fillField();
          changed();
        },
      },
      !known &&
        el("option", {
          value: "",
          selected: true,
          disabled: true,
          text: node.field ? `Unknown field “${node.field}”` : "Choose a field…",
        }),
      registry.fields.map((field) =>
        el("option", { value: field.name, selected: field.name === node.field, text: field.label }),
      ),
    );
    node.focusEl = fieldSelect;

    const remove = el("button", {
      type: "button",
      class: "button subtle small danger criteria-remove",
      text: "Remove",
      "aria-label": "Remove this condition",
      onclick: () => {
        parent.children.splice(parent.children.indexOf(node), 1);
        const neighbour = parent.children[0];
        structureChanged(neighbour || parent);
      },
    });

    fillField();
    return el(
      "div",
      { class: "criteria-row", "data-path": path },
      el("div", { class: "criteria-field" }, fieldSelect),
      operatorSlot,
      valueSlot,
      remove,
      help,
    );
  }

  // --- value editors, one per value shape ------------------------------------------------

  function valueEditor(node, field, shape) {
    const set = (value) => {
      node.value = value;
      changed();
    };
    switch (shape) {
      case "none":
        return el("span", { class: "muted criteria-no-value", text: "no value needed" });
      case "text":
        return textInput(node.value ?? "", "Value", (value) => set(value));
      case "number":
        return numberInput(node.value, "Value", (value) => set(value));
      case "date":
        return dateInput(node.value ?? "", "Value", (value) => set(value));
      case "number_range":
      case "date_range": {
        const pair = Array.isArray(node.value) ? [...node.value] : blankValue(shape);
        node.value = pair;
        const make = shape === "date_range" ? dateInput : numberInput;
        return el(
          "div",
          { class: "criteria-pair" },
          make(pair[0], "From", (value) => {
            pair[0] = value;
            set(pair);
          }),
          el("span", { class: "muted", text: "and" }),
          make(pair[1], "To", (value) => {
            pair[1] = value;
            set(pair);
          }),
        );
      }
      case "days":
        return el(
          "div",
          { class: "criteria-pair" },
          numberInput(node.value, "Number of days", (value) => set(value), { min: 1, step: 1, placeholder: "30" }),
          el("span", { class: "muted", text: "days" }),
        );
      case "choice":
      case "user":
      case "segment":
        return choiceSelect(node, field, shape);
      case "tag":
        return chipPicker(node, field, { multiple: false });
      case "text_list":
        return chipPicker(node, field, { multiple: true, free: true });
      case "choice_list":
      case "user_list":
      case "tag_list":
        return chipPicker(node, field, { multiple: true });
      default:
        return textInput(JSON.stringify(node.value ?? null), "Value (JSON)", (text) => {
          try {
            set(JSON.parse(text));
          } catch (error) {
            set(text);
          }
        });
    }
  }

  function textInput(value, label, onInput) {
    return el("input", {
      type: "text",
      value,
      "aria-label": label,
      maxlength: 200,
      oninput: (event) => onInput(event.target.value),
    });
  }

  function numberInput(value, label, onInput, extra) {
    return el("input", {
      type: "number",
      step: "any",
      inputmode: "decimal",
      ...(extra || {}),
      value: value === null || value === undefined ? "" : value,
      "aria-label": label,
      oninput: (event) => {
        const text = event.target.value;
        onInput(text === "" || Number.isNaN(Number(text)) ? null : Number(text));
      },
    });
  }

  function dateInput(value, label, onInput) {
    return el("input", {
      type: "date",
      value: value || "",
      "aria-label": label,
      oninput: (event) => onInput(event.target.value),
    });
  }

  function choicesOf(field) {
    let choices = field.choices || [];
    if (field.type === "segment" && segmentId) choices = choices.filter((c) => c.value !== segmentId);
    return choices;
  }

  /** One of the field's choices: country (by name), stage, owner, segment… */
  function choiceSelect(node, field, shape) {
    const choices = choicesOf(field);
    const known = choices.some((choice) => String(choice.value) === String(node.value));
    const label = { user: "Owner", segment: "Segment" }[shape] || "Value";
    const placeholder = `Choose ${field.label.toLowerCase()}…`;
    return el(
      "select",
      {
        "aria-label": label,
        onchange: (event) => {
          const choice = choices.find((c) => String(c.value) === event.target.value);
          node.value = choice ? choice.value : null;
          changed();
        },
      },
      el("option", { value: "", text: placeholder, selected: !known, disabled: true }),
      !known &&
        node.value !== null &&
        node.value !== undefined &&
        el("option", { value: String(node.value), selected: true, text: `Unknown (${node.value})` }),
      choices.map((choice) =>
        el("option", { value: String(choice.value), selected: known && String(choice.value) === String(node.value), text: choice.label }),
      ),
    );
  }

  /** Chips for picked values and a combobox to find more (core/combobox.js): tags (in their
   *  colours), several countries, stages or owners, or free text values (Enter adds one). */
  function chipPicker(node, field, { multiple, free = false }) {
    const choices = free ? [] : choicesOf(field);
    const byValue = new Map(choices.map((choice) => [String(choice.value), choice]));
    let picked = multiple
      ? (Array.isArray(node.value) ? node.value : [])
      : node.value === null || node.value === undefined ? [] : [node.value];
    const listId = nextId("criteria-options");
    const chips = el("span", { class: "combobox-picked criteria-picked", "data-combobox-picked": true });
    const input = el("input", {
      type: "text",
      role: "combobox",
      "aria-expanded": "false",
      "aria-controls": listId,
      "aria-autocomplete": "list",
      "aria-label": field.type === "tags" ? "Tags" : "Values",
      autocomplete: "off",
      class: "combobox-input",
    });
    const listbox = el("ul", { role: "listbox", id: listId, class: "combobox-listbox", hidden: true });
    const box = el("div", { class: "combobox-box criteria-picker" }, chips, input);
    const wrap = el("div", { class: "combobox criteria-picker-wrap", "data-combobox": true }, box, listbox);

    function save() {
      node.value = multiple ? [...picked] : picked.length ? picked[0] : null;
      changed();
    }

    function placeholder() {
      if (free) return picked.length ? "Add another…" : "Type a value, press Enter";
      if (field.type === "tags") return picked.length ? (multiple ? "Add a tag…" : "Change tag…") : "Find a tag…";
      return picked.length ? "Add another…" : `Find ${field.label.toLowerCase()}…`;
    }

    function drawChips() {
      chips.replaceChildren(
        ...picked.map((value) => {
          const choice = byValue.get(String(value));
          const name = choice ? choice.label : free ? String(value) : `Unknown (${value})`;
          const colored = choice && choice.color;
          const chip = el(
            "span",
            { class: colored ? "tag-chip" : "tag-chip criteria-chip", "data-value": String(value) },
            el("span", { class: "tag-chip-name", text: name }),
            el("button", {
              type: "button",
              class: "tag-chip-remove",
              "data-combobox-remove": true,
              text: "×",
              title: "Remove",
              "aria-label": `Remove ${name}`,
            }),
          );
          if (colored) {
            chip.style.backgroundColor = choice.color;
            chip.style.color = choice.text || "#111827";
          }
          return chip;
        }),
      );
      input.placeholder = placeholder();
    }

    Combobox.attach(wrap, {
      options(query) {
        const text = query.toLowerCase();
        if (free) return query ? [{ value: query, label: `Add “${query}”` }] : [];
        const taken = new Set(picked.map(String));
        return choices
          .filter((choice) => !(multiple && taken.has(String(choice.value))))
          .filter((choice) => !text || choice.label.toLowerCase().includes(text))
          .slice(0, MAX_OPTIONS);
      },
      renderOption: (choice) => {
        const swatch = choice.color && el("span", { class: "tag-swatch", "aria-hidden": "true" });
        if (swatch) swatch.style.backgroundColor = choice.color;
        return [swatch, el("span", { class: "combobox-option-name", text: choice.label })].filter(Boolean);
      },
      emptyText: free ? "" : "Nothing matches.",
      openOnFocus: !free,
      pickKeys: free ? [","] : [],
      onPick(choice) {
        const value = choice.value;
        if (!multiple) picked = [value];
        else if (!picked.some((other) => String(other) === String(value))) picked = [...picked, value];
        drawChips();
        save();
      },
      onRemove(chip, value) {
        picked = picked.filter((other) => String(other) !== String(value));
        drawChips();
        save();
      },
    });

    drawChips();
    return wrap;
  }

  // --- server errors next to the rows they name -------------------------------------------

  function markErrors(messages) {
    for (const message of messages) {
      // "conditions[1].operator: …" belongs to the row at conditions[1].
      let path = message.split(":", 1)[0];
      let target = null;
      while (path && !target) {
        target = mount.querySelector(`[data-path="${CSS.escape(path)}"]`);
        const shorter = path.replace(/(\.[a-z_]+|\[\d+\])$/, "");
        if (shorter === path) break;
        path = shorter;
      }
      if (!target) continue; // problems with the whole tree are listed above the builder
      target.classList.add("has-error");
      target.append(el("p", { class: "field-error criteria-error", text: message }));
    }
  }

  // --- start ------------------------------------------------------------------------------

  function load(text) {
    const raw = text.trim() ? JSON.parse(text) : { match: "all", conditions: [] };
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new Error("not an object");
    root = fromJSON(raw, 1);
  }

  textarea.addEventListener("change", () => {
    try {
      load(textarea.value);
      jsonError.hidden = true;
      render();
      changed();
    } catch (error) {
      jsonError.hidden = false;
      jsonError.textContent = "This JSON cannot be shown in the builder: " + error.message;
    }
  });

  try {
    load(textarea.value);
  } catch (error) {
    // Leave the JSON open for fixing; the builder starts from it once it parses.
    jsonError.hidden = false;
    jsonError.textContent = "This JSON cannot be shown in the builder: " + error.message;
    return;
  }
  mount.hidden = false;
  source.open = false;
  form.classList.add("has-builder");
  render();
  markErrors(serverErrors);
  textarea.value = JSON.stringify(toJSON(root), null, 2);
  refreshPreview();
})();
