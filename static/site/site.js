// Copy buttons: <button data-copy="#target">. Works without it too (the text is selectable).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var target = document.querySelector(button.getAttribute("data-copy"));
  if (!target) return;
  var text = target.textContent.trim();
  var done = function () {
    var label = button.textContent;
    button.textContent = button.getAttribute("data-copied") || "OK";
    setTimeout(function () { button.textContent = label; }, 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () { fallback(target); done(); });
  } else { fallback(target); done(); }
});
function fallback(target) {
  var range = document.createRange();
  range.selectNodeContents(target);
  var selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  try { document.execCommand("copy"); } catch (e) { /* the text stays selected */ }
}

// Share poster: draw the server's SVG poster onto a canvas and show it as a PNG, which phones
// save with a long press and chat apps accept (they do not show SVG). Without JS the SVG link
// still downloads.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-poster]");
  if (!button) return;
  event.preventDefault();
  var target = document.querySelector(button.getAttribute("data-target"));
  fetch(button.getAttribute("data-poster"), { credentials: "same-origin" })
    .then(function (response) { return response.blob(); })
    .then(function (blob) {
      var url = URL.createObjectURL(blob);
      var image = new Image();
      image.onload = function () {
        var canvas = document.createElement("canvas");
        canvas.width = 1200; canvas.height = 1800;
        canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        var png = target.querySelector("img");
        png.src = canvas.toDataURL("image/png");
        target.hidden = false;
        png.scrollIntoView({ behavior: "smooth", block: "nearest" });
      };
      image.src = url;
    });
});

// A resend button waits: <button data-wait="42" data-label="..." data-label-wait="... {s} ...">
// counts down and comes back when the wait is over. Without JS it is disabled until a reload.
document.querySelectorAll("[data-wait]").forEach(function (button) {
  var left = parseInt(button.getAttribute("data-wait"), 10) || 0;
  var tick = function () {
    if (left <= 0) {
      button.disabled = false;
      button.textContent = button.getAttribute("data-label");
      return;
    }
    button.disabled = true;
    button.textContent = button.getAttribute("data-label-wait").replace("{s}", left);
    left -= 1;
    setTimeout(tick, 1000);
  };
  tick();
});
