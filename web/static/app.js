// Progressive enhancements only; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // language selector submits on change
  document.querySelectorAll("[data-autosubmit]").forEach((el) =>
    el.addEventListener("change", () => el.form.submit()));
  // "select all" checkbox of a queue
  document.querySelectorAll("[data-check-all]").forEach((box) =>
    box.addEventListener("change", () =>
      box.closest("form").querySelectorAll("input[name=ids]").forEach((c) => { c.checked = box.checked; })));
  // upload: drag and drop, and a progress bar while the file travels
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
});
