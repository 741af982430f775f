/*
 * Colours and positions that come from data (a tag's colour, a chart dot's place), applied
 * from data attributes: the Content-Security-Policy refuses style="" attributes, but not
 * styles set through the DOM. Elements added later (htmx swaps, previews) are styled as
 * they arrive.
 *
 *   data-bg="#2563eb"  background colour     data-fg="#ffffff"  text colour
 *   data-left="12.5"   left, in percent      data-top="40"      top, in percent
 */
(function () {
  "use strict";
  const PROPERTIES = {
    bg: ["background-color", ""],
    fg: ["color", ""],
    left: ["left", "%"],
    top: ["top", "%"],
  };
  const SELECTOR = Object.keys(PROPERTIES)
    .map((name) => "[data-" + name + "]")
    .join(",");

  function styleOne(element) {
    for (const [name, [property, unit]] of Object.entries(PROPERTIES)) {
      const value = element.dataset[name];
      if (value !== undefined && value !== "") element.style.setProperty(property, value + unit);
    }
  }

  function styleWithin(root) {
    if (!(root instanceof Element)) return;
    if (root.matches(SELECTOR)) styleOne(root);
    root.querySelectorAll(SELECTOR).forEach(styleOne);
  }

  function start() {
    styleWithin(document.documentElement);
    new MutationObserver((mutations) => {
      for (const mutation of mutations) mutation.addedNodes.forEach(styleWithin);
    }).observe(document.documentElement, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
