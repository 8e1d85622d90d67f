/* pdp_portal: small behaviours on top of USWDS. No inline scripts, so a strict CSP stays possible. */
(function () {
  "use strict";

  // A button that opens a confirmation window for a form: the form must be valid first (a
  // rollback needs its reason), and the window then says exactly what will happen.
  document.addEventListener(
    "click",
    function (event) {
      var opener = event.target.closest("[data-confirm-form]");
      if (!opener) return;
      var form = document.getElementById(opener.getAttribute("data-confirm-form"));
      if (!form) return;
      if (!form.reportValidity()) {
        event.preventDefault();
        event.stopImmediatePropagation();
        return;
      }
      var modal = document.getElementById(opener.getAttribute("aria-controls"));
      var text = modal && modal.querySelector("[data-confirm-text]");
      if (!text) return;
      var parts = [];
      form.querySelectorAll("select").forEach(function (select) {
        var label = form.querySelector('label[for="' + select.id + '"]');
        var option = select.options[select.selectedIndex];
        if (label && option) parts.push(label.textContent.trim() + ": " + option.textContent.trim() + ".");
      });
      var reason = form.querySelector("textarea");
      if (reason) parts.push("Reason: " + reason.value.trim());
      text.textContent = parts.join(" ");
    },
    true
  );
})();
