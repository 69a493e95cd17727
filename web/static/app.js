// Progressive enhancements only; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // language selector submits on change
  document.querySelectorAll("[data-autosubmit]").forEach((el) =>
    el.addEventListener("change", () => el.form.submit()));
  // "tick all" checkbox of a queue
  document.querySelectorAll("[data-check-all]").forEach((box) =>
    box.addEventListener("change", () =>
      box.closest("form").querySelectorAll("input[name=ids]").forEach((c) => { c.checked = box.checked; })));
  // a resolution is required when resolving, and only then sent
  document.querySelectorAll("[data-resolution-toggle]").forEach((sel) => {
    const res = sel.form.querySelector("[data-resolution]");
    if (!res) return;
    const sync = () => {
      const resolving = sel.value === "resolved";
      res.required = resolving;
      res.disabled = !resolving;
      res.closest("label").classList.toggle("off", !resolving);
    };
    sel.addEventListener("change", sync);
    sync();
  });
  setupDatePickers();
  setupUpload();
});

// A small calendar for [data-datepicker] text fields; words come from the page (babel, per language).
function setupDatePickers() {
  const words = JSON.parse(document.body.dataset.calendar || "{}");
  if (!words.months) return;
  const pad = (n) => String(n).padStart(2, "0");
  const iso = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const parse = (text) => {
    const m = /^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})/.exec(text || "");
    return m ? new Date(+m[1], +m[2] - 1, +m[3]) : null;
  };
  document.querySelectorAll("input[data-datepicker]").forEach((input) => {
    const box = document.createElement("div");
    box.className = "calendar";
    box.hidden = true;
    input.insertAdjacentElement("afterend", box);
    let shown = parse(input.value) || new Date();
    const draw = () => {
      box.replaceChildren();
      const head = document.createElement("div");
      head.className = "cal-head";
      const prev = Object.assign(document.createElement("button"), { type: "button", textContent: "‹" });
      const next = Object.assign(document.createElement("button"), { type: "button", textContent: "›" });
      const title = document.createElement("span");
      title.textContent = words.title.replace("{year}", shown.getFullYear()).replace("{month}", words.months[shown.getMonth()]);
      prev.onclick = () => { shown = new Date(shown.getFullYear(), shown.getMonth() - 1, 1); draw(); };
      next.onclick = () => { shown = new Date(shown.getFullYear(), shown.getMonth() + 1, 1); draw(); };
      head.append(prev, title, next);
      const grid = document.createElement("div");
      grid.className = "cal-grid";
      words.weekdays.forEach((w) => { const s = document.createElement("b"); s.textContent = w; grid.append(s); });
      const first = new Date(shown.getFullYear(), shown.getMonth(), 1);
      for (let i = 0; i < (first.getDay() + 6) % 7; i++) grid.append(document.createElement("span"));
      const days = new Date(shown.getFullYear(), shown.getMonth() + 1, 0).getDate();
      for (let d = 1; d <= days; d++) {
        const b = Object.assign(document.createElement("button"), { type: "button", textContent: d });
        const date = new Date(shown.getFullYear(), shown.getMonth(), d);
        if (input.value && iso(date) === iso(parse(input.value) || new Date(0))) b.className = "on";
        b.onclick = () => { input.value = iso(date); box.hidden = true; input.dispatchEvent(new Event("change")); };
        grid.append(b);
      }
      const foot = document.createElement("div");
      foot.className = "cal-foot";
      const today = Object.assign(document.createElement("button"), { type: "button", textContent: words.today });
      today.onclick = () => { input.value = iso(new Date()); box.hidden = true; };
      const clear = Object.assign(document.createElement("button"), { type: "button", textContent: words.clear });
      clear.onclick = () => { input.value = ""; box.hidden = true; };
      foot.append(today, clear);
      box.append(head, grid, foot);
    };
    input.addEventListener("focus", () => { shown = parse(input.value) || new Date(); draw(); box.hidden = false; });
    document.addEventListener("click", (e) => { if (e.target !== input && !box.contains(e.target)) box.hidden = true; });
    input.addEventListener("keydown", (e) => { if (e.key === "Escape") box.hidden = true; });
  });
}

// upload: drag and drop, and a progress bar while the file travels
function setupUpload() {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = form.querySelector("input[name=file]");
  ["dragenter", "dragover"].forEach((ev) => form.addEventListener(ev, (e) => { e.preventDefault(); form.classList.add("over"); }));
  ["dragleave", "drop"].forEach((ev) => form.addEventListener(ev, (e) => { e.preventDefault(); form.classList.remove("over"); }));
  form.addEventListener("drop", (e) => { if (e.dataTransfer.files.length) input.files = e.dataTransfer.files; });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const bar = document.getElementById("upload-progress");
    const status = document.getElementById("upload-status");
    bar.hidden = false;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.upload.onprogress = (p) => { if (p.lengthComputable) bar.value = Math.round((p.loaded / p.total) * 100); };
    xhr.upload.onload = () => { bar.removeAttribute("value"); status.textContent = "…"; };
    xhr.onload = () => { document.open(); document.write(xhr.responseText); document.close(); };
    xhr.send(new FormData(form));
  });
}
