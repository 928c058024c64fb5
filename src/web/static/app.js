// Tidings: progressive enhancement only. Every form works without this file; with it,
// forms marked .js-inplace (votes, reactions, follow) are sent in the background and the
// changed part of the page (the closest [data-fragment] element) is swapped in place.
(function () {
  "use strict";
  document.addEventListener("submit", async function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("js-inplace")) return;
    const fragment = form.closest("[data-fragment]");
    if (!fragment || !fragment.id || !window.fetch) return;
    event.preventDefault();
    const body = new URLSearchParams(new FormData(form, event.submitter));
    try {
      const res = await fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      });
      const html = await res.text();
      const doc = new DOMParser().parseFromString(html, "text/html");
      const fresh = doc.getElementById(fragment.id);
      if (res.ok && fresh) {
        fragment.replaceWith(document.importNode(fresh, true));
      } else {
        // Show the server's own page (an error explains itself there).
        document.open();
        document.write(html);
        document.close();
      }
    } catch (e) {
      form.submit();
    }
  });
})();
