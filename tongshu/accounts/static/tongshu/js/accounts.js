// Role assignment: when htmx loads an account's role panel, mark that account as the selected one in the list.
// Without JavaScript the link loads the whole page, which marks it on the server.
document.addEventListener("DOMContentLoaded", function () {
  document.body.addEventListener("click", function (event) {
    var link = event.target.closest(".pick-list a");
    if (!link) return;
    document.querySelectorAll(".pick-list li.selected").forEach(function (item) {
      item.classList.remove("selected");
    });
    link.parentElement.classList.add("selected");
  });
});
