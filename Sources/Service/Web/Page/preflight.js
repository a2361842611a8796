// Checks made before a photo is sent: what the service would refuse for sure, from the limits it
// reports in /api/health. Whether a file really decodes is left to the service, the authority on
// that: a photo the browser cannot preview is still sent, and the service's message is shown.

/** The format from the file's first bytes ('jpeg', 'png', 'webp'), or null. */
export async function sniffFormat(file) {
  const head = new Uint8Array(await file.slice(0, 12).arrayBuffer());
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => head[i] === b)) return 'png';
  const ascii = (from, to) => String.fromCharCode(...head.slice(from, to));
  if (head.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return null;
}

/** `{ width, height }` as the browser decodes the image (EXIF orientation applied), or null. */
export function readImageSize(url) {
  return new Promise((resolve) => {
    const image = new Image();
    image.onload = () => resolve(image.naturalWidth > 0 ? { width: image.naturalWidth, height: image.naturalHeight } : null);
    image.onerror = () => resolve(null);
    image.src = url;
  });
}

/** Bytes for people: 1.2 MB, 340 KB (decimal, as file managers show). */
export function formatBytes(bytes) {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} KB`;
  return `${bytes} bytes`;
}

/** A limit in bytes as the service states it (64 MiB, 20 MiB). */
export function formatLimitBytes(bytes) {
  if (bytes % (1 << 30) === 0) return `${bytes / (1 << 30)} GiB`;
  if (bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes % (1 << 10) === 0) return `${bytes / (1 << 10)} KiB`;
  return formatBytes(bytes);
}

export function formatMegapixels(pixels) {
  return `${(pixels / 1e6).toFixed(pixels >= 1e7 ? 0 : 1)} MP`;
}

/** Room a request needs beside the photo itself: the multipart headers and the form fields. */
const multipartOverhead = 2048;

/**
 * Why the service would refuse this photo, in words, or null.
 * `photo`: { file, format, size: {width, height} | null }; `limits`: /api/health's `limits`, or
 * null while unknown; `pendingCount`: photos already waiting to be restored.
 */
export function refusalReason(photo, limits, pendingCount) {
  if (!photo.format) return 'This is not a JPEG, PNG or WebP file, so the service cannot read it.';
  if (!limits) return null;
  const bytes = photo.file.size;
  if (bytes > limits.max_image_bytes) {
    return `It is ${formatBytes(bytes)}, over the service's limit of ${formatLimitBytes(limits.max_image_bytes)} per photo.`;
  }
  if (bytes + multipartOverhead > limits.max_body_bytes) {
    return `It is ${formatBytes(bytes)}, over the service's limit of ${formatLimitBytes(limits.max_body_bytes)} per request.`;
  }
  if (photo.size) {
    const pixels = photo.size.width * photo.size.height;
    if (pixels > limits.max_pixels) {
      return `It is ${photo.size.width} × ${photo.size.height} = ${formatMegapixels(pixels)}, over the service's limit of ${formatMegapixels(limits.max_pixels)} (${limits.max_pixels.toLocaleString('en')} pixels).`;
    }
  }
  if (pendingCount >= limits.max_batch) {
    return `The service takes at most ${limits.max_batch} photos at a time: restore or remove some of the waiting ones first, then add this one again.`;
  }
  return null;
}

/**
 * What the service's large-photo rules will do to the chosen upscale, in words, or null:
 * like the reference demo it lowers ×4 to ×2 above one size and turns upscaling off above another.
 */
export function largePhotoNote(size, upscale, limits) {
  if (!size || !limits) return null;
  const longer = Math.max(size.width, size.height);
  if (limits.no_upscale_above && longer > limits.no_upscale_above && upscale > 1) {
    return `Longer side ${longer} px is over ${limits.no_upscale_above} px: the service will not upscale it (×1, no Real-ESRGAN).`;
  }
  if (limits.reduce_upscale_above && longer > limits.reduce_upscale_above && upscale > 2) {
    return `Longer side ${longer} px is over ${limits.reduce_upscale_above} px: the service will upscale it ×2, not ×4.`;
  }
  return null;
}
