// Decodes the film's PNG off the page's main thread (the first frame and the page stay responsive
// while a 2,000-px 16-bit film is inflated and unfiltered); the values come back transferred, not copied.
"use strict";

import { decodeGrayPng } from "./png.js";

self.onmessage = async (event) => {
  try {
    const png = await decodeGrayPng(event.data);
    self.postMessage({ png }, [png.data.buffer]);
  } catch (err) {
    self.postMessage({ error: err.message || String(err) });
  }
};
