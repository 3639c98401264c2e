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
