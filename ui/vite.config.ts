import { defineConfig } from "vitest/config";
import solid from "vite-plugin-solid";

export default defineConfig({
  plugins: [solid()],
  clearScreen: false,
  build: { target: "safari15", outDir: "dist", emptyOutDir: true, sourcemap: false },
  server: { fs: { allow: [".."] } },
  test: {
    environment: "happy-dom",
    globals: false,
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    // solid-virtual must share the one Solid instance (the browser build), or its grid never updates.
    server: { deps: { inline: [/solid-js/, /@solidjs\/testing-library/, /@tanstack\/solid-virtual/] } },
  },
  resolve: { conditions: ["development", "browser"] },
});
