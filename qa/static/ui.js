// Citation links in the chat ([n]) open their passage in the sources panel.
// Each answer has its own section there; a click shows that answer's section and marks the card.
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest('a[href^="#src-"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const card = document.getElementById(link.getAttribute("href").slice(1));
  if (!card) return;
  const section = card.closest(".src-turn");
  document.querySelectorAll(".src-turn").forEach((s) => s.classList.toggle("current", s === section));
  document.querySelectorAll(".src-card.active").forEach((c) => c.classList.remove("active"));
  card.classList.add("active");
  card.scrollIntoView({ block: "nearest", behavior: "smooth" });
}, true);
