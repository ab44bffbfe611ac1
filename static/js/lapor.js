// "Salin" on the SP4N-LAPOR! list: copies the ready text; the words come from the page.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-lapor-copy]");
    if (!button) return;
    var item = button.closest(".lapor-item");
    var text = item.querySelector("[data-lapor-paste]");
    var status = item.querySelector("[data-lapor-copied]");
    function done() {
      status.textContent = button.dataset.copiedText;
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text.value).then(done, function () {
        text.select();
        status.textContent = button.dataset.failedText;
      });
    } else {
      text.select(); // no clipboard API (plain http): selected, ready for Ctrl+C
      status.textContent = button.dataset.failedText;
    }
  });
})();
