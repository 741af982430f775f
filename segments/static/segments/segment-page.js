/* The segment page: a sync can take a while on a big segment, so its button says so
 * and cannot be pressed twice. Forms marked data-busy-label get this treatment. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.matches || !form.matches("form[data-busy-label]")) return;
    const button = form.querySelector("button[type=submit]");
    if (!button) return;
    if (form.dataset.busy) {
      event.preventDefault();
      return;
    }
    form.dataset.busy = "1";
    // Disabled after this tick, so the browser still submits the form.
    setTimeout(function () {
      button.disabled = true;
      button.textContent = form.dataset.busyLabel;
      button.setAttribute("aria-busy", "true");
    });
  });
})();
