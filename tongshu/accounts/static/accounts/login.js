// "New picture" for the login captcha without reloading the page; without JavaScript the link reloads the page.
document.addEventListener("DOMContentLoaded", function () {
  document.body.addEventListener("click", function (event) {
    var link = event.target.closest("[data-captcha-refresh]");
    if (!link) return;
    event.preventDefault();
    var row = link.closest(".captcha-row");
    fetch(link.getAttribute("data-captcha-refresh"), {
      headers: { "X-Requested-With": "XMLHttpRequest" },
      credentials: "same-origin",
    })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        row.querySelector("img.captcha").src = data.image_url;
        row.querySelector("input[type=hidden]").value = data.key;
        var answer = row.querySelector("input.captcha-answer");
        answer.value = "";
        answer.focus();
      })
      .catch(function () { window.location.href = link.href; });
  });
});
