/* pdp_portal: small behaviours on top of USWDS. No inline scripts, so a strict CSP stays possible. */
(function () {
  "use strict";

  // A button that opens a confirmation window for a form: the form must be valid first (a
  // rollback needs its reason, and must move something), and the window then names the move,
  // "Production: v1 → v0 (withdrawn)". One window can serve several forms (Deploy again on each
  // row of the history): its submit button and fields are pointed at the opener's form.
  function rollbackMove(form) {
    var environment = form.querySelector('select[name="environment"]');
    var target = form.querySelector('select[name="to"]');
    var place = environment && environment.options[environment.selectedIndex];
    if (!place || !target) return "";
    var current = place.getAttribute("data-current");
    var to = target.value === "previous" ? place.getAttribute("data-previous") : target.value;
    // The same words as portal.pages.move_text.
    var move = place.getAttribute("data-name") + ": " + current + " \u2192 " + to + (to === "v0" ? " (withdrawn)" : "");
    target.setCustomValidity(
      to === current ? place.getAttribute("data-name") + " already serves " + current + "; choose another version." : ""
    );
    return move;
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form");
    if (form && form.querySelector("[data-confirm-rollback]")) rollbackMove(form);
  });

  document.addEventListener(
    "click",
    function (event) {
      var opener = event.target.closest("[data-confirm-form]");
      if (!opener) return;
      var form = document.getElementById(opener.getAttribute("data-confirm-form"));
      if (!form) return;
      var move = opener.hasAttribute("data-confirm-rollback") ? rollbackMove(form) : opener.getAttribute("data-confirm-move");
      if (!form.reportValidity()) {
        event.preventDefault();
        event.stopImmediatePropagation();
        return;
      }
      var modal = document.getElementById(opener.getAttribute("aria-controls"));
      if (!modal) return;
      modal.querySelectorAll("[data-confirm-submit], [data-confirm-field]").forEach(function (element) {
        element.setAttribute("form", form.id);
      });
      var heading = opener.getAttribute("data-confirm-heading");
      var title = modal.querySelector(".usa-modal__heading");
      if (heading && title) title.textContent = heading;
      var text = modal.querySelector("[data-confirm-text]");
      if (!text || !move) return;
      var reason = form.querySelector('textarea[name="reason"]');
      text.textContent = move + "." + (reason ? " Reason: " + reason.value.trim() : "");
    },
    true
  );

  // The error summary of a form (templates/_error_summary.html) is read first: it takes the focus
  // when the page opens. Its links put the focus in their field, with the field's label in view
  // (following the fragment alone would scroll to the control and leave the focus where it was).
  var summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-error-summary] a[href^='#']");
    if (!link) return;
    var field = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!field) return;
    event.preventDefault();
    var label = document.querySelector('label[for="' + field.id + '"]');
    (label || field).scrollIntoView();
    field.focus({ preventScroll: true });
  });
})();
