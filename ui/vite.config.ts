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
    server: { deps: { inline: [/solid-js/, /@solidjs\/testing-library/] } },
  },
  resolve: { conditions: ["development", "browser"] },
});
