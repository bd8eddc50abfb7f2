// Pull source form: show only the settings of the chosen way in. Without JavaScript both sections show.
document.addEventListener("DOMContentLoaded", function () {
  var kind = document.querySelector("select[name=kind]");
  if (!kind) return;
  function sync() {
    document.querySelectorAll("[data-kind-section]").forEach(function (section) {
      section.hidden = section.getAttribute("data-kind-section") !== kind.value;
    });
  }
  kind.addEventListener("change", sync);
  sync();
});
