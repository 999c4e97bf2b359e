// Upload with a progress bar; without JavaScript the form posts as usual.
(function () {
  var form = document.getElementById("upload");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = form.elements.backup.files[0];
    var limit = Number(form.dataset.limit);
    if (file && file.size > limit) {
      status.textContent = "The file is larger than the limit of " + limit + " bytes.";
      return;
    }
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    bar.hidden = false;
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round((100 * e.loaded) / e.total);
        status.textContent = "Uploading: " + bar.value + " %";
      }
    });
    request.addEventListener("load", function () {
      if (request.status >= 200 && request.status < 400 && request.responseURL) {
        window.location = request.responseURL;
      } else {
        document.open();
        document.write(request.responseText);
        document.close();
      }
    });
    request.addEventListener("error", function () { status.textContent = "The upload failed."; });
    status.textContent = "Uploading…";
    request.send(new FormData(form));
  });
})();
