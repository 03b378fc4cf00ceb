// JPEGs drawn by Chromium for the photo specs, so no binary test files are kept.

import type { Page } from '@playwright/test';

export interface JpegOptions {
  /** Every pixel random: the phone's re-encode cannot shrink it, so the file
   *  stays large (several upload chunks) even at 2048 px. */
  noise?: boolean;
}

/** A gradient with a red block in the top-left corner (orientation checks), or noise. */
export async function makeJpeg(
  page: Page,
  width: number,
  height: number,
  quality: number,
  options: JpegOptions = {},
): Promise<Buffer> {
  const b64 = await page.evaluate(
    async ({ width, height, quality, noise }) => {
      const canvas = new OffscreenCanvas(width, height);
      const ctx = canvas.getContext('2d')!;
      if (noise) {
        const image = ctx.createImageData(width, height);
        const random = new Uint32Array(image.data.buffer);
        // getRandomValues fills at most 64 KiB at a time.
        for (let i = 0; i < random.length; i += 16_384) crypto.getRandomValues(random.subarray(i, i + 16_384));
        for (let i = 3; i < image.data.length; i += 4) image.data[i] = 255;
        ctx.putImageData(image, 0, 0);
      } else {
        const g = ctx.createLinearGradient(0, 0, width, height);
        g.addColorStop(0, '#406080');
        g.addColorStop(1, '#c0c0a0');
        ctx.fillStyle = g;
        ctx.fillRect(0, 0, width, height);
        ctx.fillStyle = '#e01010';
        ctx.fillRect(0, 0, width / 4, height / 4);
        // Some detail, so the file is not trivially small.
        for (let i = 0; i < 400; i++) {
          ctx.fillStyle = `hsl(${(i * 37) % 360} 60% 50%)`;
          ctx.fillRect((i * 7919) % width, (i * 104729) % height, width / 40, height / 40);
        }
      }
      const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let binary = '';
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(binary);
    },
    { width, height, quality, noise: options.noise ?? false },
  );
  return Buffer.from(b64, 'base64');
}
