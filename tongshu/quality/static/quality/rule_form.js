/* The quality rule form shows only the parameter fields of the chosen kind (rows carry data-kinds="range …").
   Without JavaScript every field shows and the service ignores those the kind does not use. */
(function () {
  "use strict";

  function update(form) {
    var kind = form.querySelector("select[name=kind]");
    if (!kind) return;
    Array.prototype.forEach.call(form.querySelectorAll("[data-kinds]"), function (row) {
      var kinds = row.getAttribute("data-kinds").split(" ");
      row.hidden = kinds.indexOf(kind.value) < 0;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form.rule-form"), function (form) {
      update(form);
      form.addEventListener("change", function (event) {
        if (event.target.name === "kind") update(form);
      });
      // The referenced-field row is replaced by htmx when the referenced resource changes.
      form.addEventListener("htmx:afterSwap", function () { update(form); });
    });
  });
})();
