// The card upload page: while the check or the import runs, ask for the upload's state every
// second, move the bar, and reload the page when the state changes (to show the next step).
(function () {
  var main = document.getElementById("content-main");
  var status = main && main.dataset.status;
  if (status !== "uploaded" && status !== "importing") return;
  var bar = document.getElementById("upload-progress");
  var rows = document.getElementById("upload-rows");
  function poll() {
    fetch(main.dataset.stateUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (state) {
        if (!state) return;
        if (state.status !== status) { window.location.reload(); return; }
        if (status === "uploaded") {
          bar.value = state.percent;
          rows.textContent = rows.textContent.replace(/\d+/, state.rows).replace(/\d+%/, state.percent + "%");
        }
      })
      .catch(function () {})
      .then(function () { window.setTimeout(poll, 1000); });
  }
  window.setTimeout(poll, 1000);
})();
