/* pingtree hosted form: <script src="…/f/FORM/embed.js" data-height="760"></script> shows
   the form in an iframe right after this tag, carrying the page's sub_id, click_id and
   utm_* and the page's own address (source_url). */
(function () {
  var script = document.currentScript;
  var url = new URL({{ url }});
  var page = new URLSearchParams(window.location.search);
  {{ carried }}.forEach(function (name) {
    if (page.get(name)) { url.searchParams.set(name, page.get(name)); }
  });
  url.searchParams.set("source_url", window.location.href);
  var frame = document.createElement("iframe");
  frame.src = url.toString();
  frame.title = {{ title }};
  frame.style.width = "100%";
  frame.style.border = "0";
  frame.style.height = ((script && script.getAttribute("data-height")) || "760") + "px";
  if (script && script.parentNode) {
    script.parentNode.insertBefore(frame, script.nextSibling);
  } else {
    document.body.appendChild(frame);
  }
})();
