// Catalog search: the sort list applies itself (without JavaScript, its "Apply" button does).
document.documentElement.classList.add("js");
document.addEventListener("change", function (event) {
  var select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) {
    if (select.form.requestSubmit) select.form.requestSubmit();
    else select.form.submit();
  }
});
