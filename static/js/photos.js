// Photos are made small on the phone before they are queued or sent, one way for every form (the
// citizen's report, the OPD's proof photos): longest side 1600 px, JPEG 0.8, orientation applied.
// Re-encoding through a canvas also leaves the camera's EXIF (GPS!) behind. Works on File/Blob
// objects only, never on the picker's markup, so any photo control can use it.
(function (root) {
  "use strict";

  var MAX_SIDE = 1600;
  var JPEG_QUALITY = 0.8;

  function encode(bitmap) {
    var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    var width = Math.round(bitmap.width * scale);
    var height = Math.round(bitmap.height * scale);
    var canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    canvas.getContext("2d").drawImage(bitmap, 0, 0, width, height);
    if (bitmap.close) bitmap.close();
    return new Promise(function (resolve) {
      canvas.toBlob(function (blob) { resolve(blob); }, "image/jpeg", JPEG_QUALITY);
    });
  }

  // The photo's size without decoding its pixels (an <img> reads only the header for that).
  function dimensions(file) {
    return new Promise(function (resolve) {
      if (!root.Image || !root.URL) { resolve(null); return; }
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () { URL.revokeObjectURL(url); resolve({ width: img.naturalWidth, height: img.naturalHeight }); };
      img.onerror = function () { URL.revokeObjectURL(url); resolve(null); };
      img.src = url;
    });
  }

  // One photo, downscaled; the original when the browser cannot decode it (e.g. HEIC): the server
  // converts those. A big photo (48 MP) is decoded straight at about twice the target size
  // (resizeWidth keeps the aspect), so the phone never holds 200 MB of pixels for it.
  function downscale(file) {
    if (!root.createImageBitmap) return Promise.resolve(file);
    return dimensions(file).then(function (size) {
      var options = { imageOrientation: "from-image" };
      var longest = size ? Math.max(size.width, size.height) : 0;
      if (longest > MAX_SIDE * 2) {
        options.resizeWidth = Math.round(size.width * (MAX_SIDE * 2) / longest);
        options.resizeQuality = "high";
      }
      return createImageBitmap(file, options);
    }).then(encode).then(function (blob) {
      return blob || file;
    }).catch(function () {
      return file;
    });
  }

  // Several photos, one after the other (a phone has little memory); onEach(done, total) reports.
  function downscaleAll(files, onEach) {
    var out = [];
    return files.reduce(function (chain, file, i) {
      return chain.then(function () { return downscale(file); }).then(function (blob) {
        out.push(blob);
        if (onEach) onEach(i + 1, files.length);
      });
    }, Promise.resolve()).then(function () { return out; });
  }

  function sizeText(bytes) {
    var lang = root.document ? document.documentElement.lang : undefined;
    if (bytes < 1024 * 1024) return Math.max(1, Math.round(bytes / 1024)).toLocaleString(lang) + " KB";
    return (bytes / (1024 * 1024)).toLocaleString(lang, { maximumFractionDigits: 1 }) + " MB";
  }

  root.AduanPhotos = { MAX_SIDE: MAX_SIDE, downscale: downscale, downscaleAll: downscaleAll, sizeText: sizeText };
})(self);
