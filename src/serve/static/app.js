// firstseen web app: the only script. Everything works without it; it
// adds dropping files on the upload forms and a progress bar while a
// large upload is sent. No inline script anywhere (the CSP forbids it).
"use strict";

function enhance(form) {
  const input = form.querySelector('input[type=file]');
  const zone = form.querySelector('.drop');
  const bar = form.querySelector('progress');
  if (zone && input) {
    ['dragenter', 'dragover'].forEach((t) => zone.addEventListener(t, (e) => {
      e.preventDefault();
      zone.classList.add('over');
    }));
    ['dragleave', 'drop'].forEach((t) => zone.addEventListener(t, () => zone.classList.remove('over')));
    zone.addEventListener('drop', (e) => {
      e.preventDefault();
      if (!e.dataTransfer || e.dataTransfer.files.length === 0) return;
      input.files = e.dataTransfer.files;
      if (form.id === 'check-form') form.requestSubmit();
    });
  }
  if (!bar) return;
  form.addEventListener('submit', (e) => {
    if (!window.XMLHttpRequest || !window.FormData) return;
    e.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open('POST', form.action);
    bar.hidden = false;
    xhr.upload.addEventListener('progress', (p) => {
      if (p.lengthComputable) bar.value = Math.round((p.loaded / p.total) * 100);
    });
    xhr.upload.addEventListener('load', () => { bar.removeAttribute('value'); });
    xhr.addEventListener('load', () => {
      document.open();
      document.write(xhr.responseText);
      document.close();
      // The new page's heading takes the focus, so that a screen reader
      // says where the answer is.
      const h = document.querySelector('main h1');
      if (h) { h.tabIndex = -1; h.focus(); }
    });
    xhr.addEventListener('error', () => { form.submit(); });
    form.querySelectorAll('button').forEach((b) => { b.disabled = true; });
    xhr.send(new FormData(form));
  });
}

document.querySelectorAll('form.upload').forEach(enhance);
