// "Print / save as PDF" on the posting instructions: the browser's print dialog, whose
// "Save as PDF" destination makes the PDF (the page's print styles hide the navigation).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
