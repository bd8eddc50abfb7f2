// The upload step: a Chinese file picker that shows the chosen file, a size check before sending, and a progress
// bar while the file travels. htmx sends the form (hx-post, multipart); the bytes sent are read from the
// XMLHttpRequest's upload events. Without JavaScript the form posts as usual and the native picker shows.
(function () {
  "use strict";

  function sizeText(bytes) {
    if (bytes >= 1024 * 1024 * 1024) return (bytes / 1024 / 1024 / 1024).toFixed(1) + " GB";
    if (bytes >= 1024 * 1024) return (bytes / 1024 / 1024).toFixed(1) + " MB";
    return Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  function rulesOf(form) {
    var source = document.getElementById(form.getAttribute("data-upload-rules") || "");
    try {
      return source ? JSON.parse(source.textContent) : null;
    } catch (error) {
      return null;
    }
  }

  function extensionOf(name) {
    var dot = name.lastIndexOf(".");
    return dot < 0 ? "" : name.slice(dot).toLowerCase();
  }

  // The reason a file cannot be sent (unknown format, above the format's limit), or "".
  function problemWith(form, file) {
    var rules = rulesOf(form);
    if (!rules || !file) return "";
    var extension = extensionOf(file.name);
    if (rules.extensions.indexOf(extension) < 0) {
      return "不支持的文件格式：请上传 CSV、XLSX、XLS、ODS、JSON 或 NDJSON 文件";
    }
    var limit = rules.limits[extension];
    if (limit && file.size > limit) {
      return "文件超过上传限制（" + extension.slice(1).toUpperCase() + " 最大 " + Math.round(limit / 1024 / 1024) +
        " MB），本文件 " + sizeText(file.size);
    }
    return "";
  }

  function showProblem(form, message) {
    var box = form.querySelector("[data-testid=file-check]");
    if (!box) return;
    box.textContent = message;
    box.hidden = !message;
  }

  function setUp(root) {
    var forms = root.matches && root.matches("form.upload-form") ? [root] : root.querySelectorAll("form.upload-form");
    Array.prototype.forEach.call(forms, function (form) {
      if (form.dataset.uploadReady) return;
      form.dataset.uploadReady = "1";
      var picker = form.querySelector("[data-file-picker]");
      if (!picker) return;
      picker.classList.add("file-picker-ready");
      var input = picker.querySelector("input[type=file]");
      var name = picker.querySelector(".file-name");
      input.addEventListener("change", function () {
        var file = input.files && input.files[0];
        name.textContent = file ? file.name + "（" + sizeText(file.size) + "）" : name.getAttribute("data-empty");
        name.classList.toggle("muted", !file);
        showProblem(form, problemWith(form, file));
      });
    });
  }

  function progressOf(form) {
    var box = form.querySelector(".upload-progress");
    return box && { box: box, bar: box.querySelector("progress"), text: box.querySelector(".upload-progress-text") };
  }

  function say(progress, key, extra) {
    progress.text.textContent = progress.text.getAttribute("data-" + key) + (extra || "");
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUp(document);
    var body = document.body;

    body.addEventListener("htmx:load", function (event) {
      setUp(event.detail.elt);
    });

    // Refuse before sending what the server would refuse after receiving it.
    body.addEventListener("htmx:beforeRequest", function (event) {
      var form = event.detail.elt;
      if (!form.matches || !form.matches("form.upload-form")) return;
      var input = form.querySelector("input[type=file]");
      var problem = problemWith(form, input && input.files && input.files[0]);
      showProblem(form, problem);
      if (problem) event.preventDefault();
    });

    body.addEventListener("htmx:beforeSend", function (event) {
      var form = event.detail.elt;
      if (!form.matches || !form.matches("form.upload-form")) return;
      var progress = progressOf(form);
      var xhr = event.detail.xhr;
      if (!progress || !xhr || !xhr.upload) return;
      progress.box.hidden = false;
      progress.bar.value = 0;
      progress.bar.max = 100;
      say(progress, "uploading", "…");
      xhr.upload.addEventListener("progress", function (step) {
        if (!step.lengthComputable || !step.total) {
          progress.bar.removeAttribute("value");
          say(progress, "uploading", " " + sizeText(step.loaded));
          return;
        }
        var percent = Math.min(100, Math.floor((step.loaded * 100) / step.total));
        progress.bar.value = percent;
        say(progress, "uploading", " " + percent + "%（" + sizeText(step.loaded) + " / " + sizeText(step.total) + "）");
      });
      xhr.upload.addEventListener("load", function () {
        progress.bar.value = 100;
        say(progress, "uploaded");
      });
    });

    // A refused file comes back as the form with the reason beside the field (400, or 413 above the limit).
    body.addEventListener("htmx:beforeSwap", function (event) {
      var form = event.detail.elt;
      if (!form.matches || !form.matches("form.upload-form")) return;
      var xhr = event.detail.xhr;
      if (xhr.status >= 400 && xhr.responseText.indexOf('id="upload-form"') >= 0) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      } else if (xhr.status >= 400) {
        var progress = progressOf(form);
        if (progress) say(progress, xhr.status === 413 ? "too-large" : "failed");
      }
    });

    body.addEventListener("htmx:sendError", function (event) {
      var form = event.detail.elt;
      var progress = form.matches && form.matches("form.upload-form") && progressOf(form);
      if (progress) say(progress, "failed");
    });
  });
})();
