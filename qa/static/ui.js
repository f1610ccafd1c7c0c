// Citation links in the chat ([n], and each number of [n, m]) open their passage in the sources panel.
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

// A chat message holds escaped markdown and our link markup (ui.py's chat_text), and Gradio copies and
// labels that raw message. Copy and label what the bubble shows instead.
const shownText = (bubble) => (bubble.querySelector(".message-content") || bubble).innerText.trim();

document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest('#chat button[aria-label="Copy message"]');
  const message = button && button.closest(".message");
  const bubble = message && message.querySelector('[data-testid="bot"], [data-testid="user"]');
  if (!bubble || !navigator.clipboard) return;  // without the Clipboard API, Gradio's own fallback copies
  event.preventDefault();
  event.stopPropagation();
  navigator.clipboard.writeText(shownText(bubble)).then(() => {
    button.classList.add("qa-copied");
    setTimeout(() => button.classList.remove("qa-copied"), 2000);
  });
}, true);

new MutationObserver(() => {
  document.querySelectorAll('#chat [data-testid="bot"], #chat [data-testid="user"]').forEach((bubble) => {
    const label = `${bubble.dataset.testid}'s message: ${shownText(bubble)}`;
    if (bubble.getAttribute("aria-label") !== label) bubble.setAttribute("aria-label", label);
  });
}).observe(document.body, { subtree: true, childList: true, characterData: true, attributeFilter: ["aria-label"] });

// Timeline points and [n] links mark their entry's citation card and scroll it into view.
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest('a[href^="#tl-"]');
  if (!link) return;
  event.preventDefault();
  const card = document.getElementById(link.getAttribute("href").slice(1));
  if (!card) return;
  document.querySelectorAll(".tl-result .src-card.active").forEach((c) => c.classList.remove("active"));
  card.classList.add("active");
  card.scrollIntoView({ block: "nearest", behavior: "smooth" });
}, true);
