// Miaopu's few behaviours, kept out of the HTML so the pages can run under a strict CSP.
(function () {
  "use strict";
  // <select data-autosubmit> submits its form when changed (language switch, filters without htmx).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });
  // <form data-confirm="..."> asks before submitting (archive, remove).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  }, true);
  // A saved view keeps the filters the page shows now (htmx may have changed them since it loaded).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-saved-view]")) {
      form.querySelector("input[name=query]").value = window.location.search.replace(/^\?/, "");
    }
  }, true);
  // htmx swaps a refused form (422: it comes back with its errors) like a success.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
